"""The codes of a batch as rows for an export (CSV or XLSX, through ``crm.ui.export_rows``)."""

from django.db.models import Case, F, When
from django.utils.translation import gettext as _

from crm import permissions
from crm.models import User
from customers.models import Customer

from ..models import Batch, Coupon


def rows_for(user: User, batch: Batch):
    """(rows, customer ids): header first, then each code of the batch in code order — its state,
    channel, amount and dates, and the customer's name only where ``user`` may see that customer
    (others show "—"); the ids are those of the customers named, for the access log."""
    visible = permissions.visible(user, Customer.objects.all()).values("pk")
    coupons = (
        Coupon.objects.filter(batch=batch)
        .order_by("id")
        .annotate(
            holder=Case(When(customer_id__in=visible, then=F("customer__name")), default=None),
            holder_id=Case(When(customer_id__in=visible, then=F("customer_id")), default=None),
        )
    )
    statuses = dict(Coupon.Status.choices)
    header = [_("code"), _("status"), _("customer"), _("channel"), _("face value"), _("claimed at"), _("valid until")]

    def rows():
        yield header
        for code, status, holder, channel, amount, claimed_at, valid_until in coupons.values_list(
            "code", "status", "holder", "channel", "amount", "claimed_at", "valid_until"
        ).iterator(2000):
            yield [
                code,
                str(statuses.get(status, status)),
                holder or "—",
                channel,
                amount if status != Coupon.Status.AVAILABLE else None,
                claimed_at,
                valid_until,
            ]

    return rows(), coupons.filter(holder_id__isnull=False).order_by().values_list("holder_id", flat=True)
