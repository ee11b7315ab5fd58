"""What the catalogue adds to the customers layer: the 360 view's entitlements panel, the grant of
entitlements when an order is placed, the pricing of order lines and the choices of a coupon
batch's scope (``customers.registry``)."""

import uuid

from django.db.models import Q
from django.utils import timezone

from crm import permissions
from customers import registry, timeline

from .models import Entitlement
from .services.entitlements import grant_for_order, grant_for_orders
from .services.pricing import catalogue_choices, price_orders


def _entitlements_panel(customer, user):

    today = timezone.localdate()
    items = list(
        Entitlement.objects.filter(customer=customer)
        .filter(Q(expires_on__isnull=True) | Q(expires_on__gte=today))
        .select_related("sku")
        .order_by("expires_on", "id")[:10]
    )
    for item in items:  # a one-time reference per button: a double tap uses one unit, not two
        item.use_reference = uuid.uuid4().hex
    return {
        "items": items,
        "customer": customer,
        "can_consume": permissions.can(user, "catalog.consume"),
    }


def _grant(order):

    grant_for_order(order)


def register():
    timeline.register_panel("entitlements", "catalog/panels/entitlements.html", _entitlements_panel)
    registry.register_order_placed("catalog.entitlements", _grant, batch=grant_for_orders)
    registry.register_line_pricer(price_orders, choices=catalogue_choices)
