"""Marketing events on the calendar (crm.calendar): the events of the campaigns a user owns."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from crm import calendar

from .models import Event


def _events(users, start, end):
    rows = Event.objects.filter(campaign__owner__in=users, starts_at__gte=start, starts_at__lt=end).select_related(
        "campaign", "campaign__owner"
    )
    return [
        calendar.Item(
            "event",
            e.pk,
            e.name,
            e.starts_at,
            e.ends_at,
            reverse("marketing:event", args=[e.pk]),
            e.campaign.owner_id,
            str(e.campaign.owner),
        )
        for e in rows
    ]


def register():
    calendar.register("event", label=_("Events"), items=_events, icon="bi-megaphone")
