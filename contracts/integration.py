"""What contracts add to the lower layers: an active contract is a deal (成交) for the public
pool (``customers.deals``)."""

from django.db.models import OuterRef, Subquery

from customers import deals

from .models import Contract


def _latest_contract():

    return Subquery(
        Contract.objects.filter(customer=OuterRef("pk"), status=Contract.Status.ACTIVE, signed_at__isnull=False)
        .order_by("-signed_at")
        .values("signed_at")[:1]
    )


def register():
    deals.register("contract", _latest_contract)
