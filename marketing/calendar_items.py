"""Marketing events on the calendar (crm.calendar): the events of the campaigns a user owns."""

from django.utils.translation import gettext_lazy as _

from crm import calendar

from .models import Event


def _events(users, start, end):
    rows = (
        Event.objects.filter(campaign__owner__in=users, starts_at__gte=start, starts_at__lt=end)
        .order_by()
        .values_list("pk", "name", "starts_at", "ends_at", "campaign__owner_id")
    )
    owners, link = calendar.names(users), calendar.links("marketing:event")
    return [
        calendar.Item("event", pk, name, starts_at, ends_at, link(pk), owner_id, owners.get(owner_id, ""))
        for pk, name, starts_at, ends_at, owner_id in rows
    ]


def register():
    calendar.register("event", label=_("Events"), items=_events, icon="bi-megaphone")
