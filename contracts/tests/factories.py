import datetime
from decimal import Decimal

from django.utils import timezone

from customers.tests.factories import CustomerFactory
from sales.models import Opportunity

from ..services import contracts


def won_opportunity(owner, stage, *, amount=Decimal("30000"), name="年度服务"):
    customer = CustomerFactory(owner=owner)
    return Opportunity.objects.create(
        name=name,
        customer=customer,
        owner=owner,
        department=owner.department,
        stage=stage,
        amount=amount,
        closed_at=timezone.now(),
    )


def make_contract(
    owner, stage, *, amount="30000", parts=("10000", "10000", "10000"), first_due=None, number=None, lines=()
):
    """A contract of ``amount`` with one instalment per part, a month apart from ``first_due``."""
    opportunity = won_opportunity(owner, stage, amount=Decimal(amount))
    first_due = first_due or timezone.localdate()
    today = timezone.localdate()
    return contracts.create_contract(
        opportunity=opportunity,
        number=number or f"HT-{opportunity.pk}",
        title="",
        amount=Decimal(amount),
        signed_on=today,
        starts_on=today,
        ends_on=today + datetime.timedelta(days=365),
        lines=list(lines),
        instalments=[(first_due + datetime.timedelta(days=30 * i), Decimal(part)) for i, part in enumerate(parts)],
        actor=owner,
    )
