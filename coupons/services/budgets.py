"""预算管控: allocation, reservation and use of budget accounts — never below zero."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from ..models import BudgetAccount, BudgetAllocation


class BudgetExhausted(Exception):
    """The account's balance cannot cover the amount."""


@transaction.atomic
def allocate(*, actor, account, amount, note=""):
    """Add (or, negative, take back) budget. Taking back more than the balance is refused."""
    amount = Decimal(amount)
    updated = BudgetAccount.objects.filter(pk=account.pk, total__gte=F("reserved") + F("used") - amount).update(
        total=F("total") + amount
    )
    if not updated:
        raise ValidationError({"amount": _("The balance cannot cover taking back this much.")})
    account.refresh_from_db()
    BudgetAllocation.objects.create(account=account, amount=amount, total_after=account.total, note=note, by=actor)
    return account


def reserve(account_id, amount):
    """Reserve ``amount``: a conditional UPDATE that only succeeds while the balance covers it."""
    if amount <= 0:
        return
    if not BudgetAccount.objects.filter(pk=account_id, total__gte=F("reserved") + F("used") + amount).update(
        reserved=F("reserved") + amount
    ):
        raise BudgetExhausted


def release(account_id, amount):
    if amount > 0:
        BudgetAccount.objects.filter(pk=account_id).update(reserved=F("reserved") - amount)


def use(account_id, amount, *, reserved=Decimal(0), gmv=Decimal(0)):
    """Turn a reservation (if any) into use and charge the rest; refuses to go below zero."""
    extra = amount - reserved
    updated = BudgetAccount.objects.filter(pk=account_id, total__gte=F("reserved") + F("used") + max(extra, 0)).update(
        reserved=F("reserved") - reserved, used=F("used") + amount, gmv=F("gmv") + gmv
    )
    if not updated:
        raise BudgetExhausted


def give_back(account_id, amount, *, gmv=Decimal(0)):
    BudgetAccount.objects.filter(pk=account_id).update(used=F("used") - amount, gmv=F("gmv") - gmv)
