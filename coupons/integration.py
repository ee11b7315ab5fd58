"""What the coupons app adds to the customer 360 view: coupons claimed and used in the timeline,
and the coupons-held panel."""
from django.utils.translation import gettext_lazy as _

from customers import timeline

from .models import Coupon


def _coupons_panel(customer, user):
    from crm import permissions

    return {
        "items": list(Coupon.objects.filter(customer=customer, status=Coupon.Status.CLAIMED)
                      .select_related("batch").order_by("valid_until")[:10]),
        "customer": customer,
        "can_compensate": permissions.can(user, "coupons.compensate"),
    }


def register():
    timeline.register(
        "coupon", _("Coupons"),
        lambda customer: timeline.entries(Coupon.objects.filter(customer=customer), "coupon", "claimed_at"),
        lambda ids: Coupon.objects.filter(pk__in=ids).select_related("batch"),
        "coupons/timeline/coupon.html", icon="bi-ticket-perforated",
    )
    timeline.register_panel("coupons", "coupons/panels/coupons.html", _coupons_panel)
