"""经销商 → 门店: organization customers put under a dealer as its stores; dealers nest through
``Partner.parent`` (a sub-dealer's stores roll up to every dealer above it)."""

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_noop

from crm.errors import Conflict, Invalid
from customers.models import Customer

from ..models import DealerStore, Partner, PartnerKind


@transaction.atomic
def add_store(*, dealer: Partner, customer: Customer, actor=None) -> DealerStore:
    """Put ``customer`` (an organization) under ``dealer``. Raises ``Invalid`` when the partner is
    no dealer or the customer no organization, ``Conflict("store_taken")`` when the store already
    belongs to a dealer (one dealer per store: the store is the row's primary key)."""
    if dealer.kind != PartnerKind.DEALER:
        raise Invalid(
            gettext_noop("Only a dealer has stores."), fields={"customer": gettext_noop("Only a dealer has stores.")}
        )
    if customer.kind != Customer.Kind.ORGANIZATION:
        raise Invalid(
            gettext_noop("A store is an organization customer."),
            fields={"customer": gettext_noop("A store is an organization customer.")},
        )
    try:
        with transaction.atomic():
            return DealerStore.objects.create(customer=customer, dealer=dealer)
    except IntegrityError as exc:
        raise Conflict("store_taken", gettext_noop("This store already belongs to a dealer.")) from exc
