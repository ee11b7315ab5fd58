"""Field visits on the calendar (crm.calendar), and WeChat identities for the customer data
platform: ``cdp`` reads the bindings kept here instead of storing them twice."""

import datetime

from django.utils.translation import gettext_lazy as _

from cdp import registry as cdp_registry
from crm import calendar

from .models import Visit, WeChatIdentity


def _visits(users, start, end):
    rows = (
        Visit.objects.filter(user__in=users, started_at__gte=start, started_at__lt=end)
        .order_by()
        .values_list("pk", "customer_id", "customer__name", "started_at", "ended_at", "user_id")
    )
    owners, link = calendar.names(users), calendar.links("field:visit")
    return [
        calendar.Item(
            "visit",
            pk,
            customer_name if customer_id else str(_("Visit")),
            started_at,
            ended_at or started_at + datetime.timedelta(minutes=30),
            link(pk),
            user_id,
            owners.get(user_id, ""),
        )
        for pk, customer_id, customer_name, started_at, ended_at, user_id in rows
    ]


def _lookup(kind, values):
    """{value: customer id} of WeChat identities of ``kind`` (any corp or account)."""
    return dict(WeChatIdentity.objects.filter(kind=kind, value__in=values).values_list("value", "customer_id"))


def _list(customer_ids):
    return list(
        WeChatIdentity.objects.filter(customer_id__in=customer_ids).values_list(
            "customer_id", "kind", "issuer", "value"
        )
    )


def register():
    calendar.register("visit", label=_("Visits"), items=_visits, icon="bi-geo-alt")
    cdp_registry.register_identity_kinds(
        [k.value for k in WeChatIdentity.Kind], lookup=_lookup, lister=_list, name="field.wechat"
    )
