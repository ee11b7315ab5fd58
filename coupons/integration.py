"""What the coupons app adds to the apps below it: coupons claimed and used in the 360 timeline, the
coupons-held panel, the coupon of an order (redeemed with it, given back on cancel), and the
re-queuing of code production a broker outage lost."""

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm import permissions
from crm import tasks as crm_tasks
from customers import registry, timeline

from .models import Coupon
from .services import claims, production


def _coupons_panel(customer, user):
    return {
        "items": list(
            # held: claimed and still usable (one past its end is not, whatever the nightly job
            # has marked yet)
            Coupon.objects.filter(customer=customer, status=Coupon.Status.CLAIMED)
            .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=timezone.now()))
            .select_related("batch")
            .order_by("valid_until")[:10]
        ),
        "customer": customer,
        "can_compensate": permissions.can(user, "coupons.compensate"),
    }


def register():
    timeline.register(
        "coupon",
        _("Coupons"),
        lambda customer: timeline.entries(Coupon.objects.filter(customer=customer), "coupon", "claimed_at"),
        lambda ids: Coupon.objects.filter(pk__in=ids).select_related("batch"),
        "coupons/timeline/coupon.html",
        icon="bi-ticket-perforated",
    )
    timeline.register_panel("coupons", "coupons/panels/coupons.html", _coupons_panel)
    registry.register_order_coupons(redeem=claims.redeem_for_order, release=claims.release_for_cancelled_order)
    crm_tasks.register_requeue("coupon_production", production.requeue_unfinished)
