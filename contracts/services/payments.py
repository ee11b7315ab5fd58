"""回款: recording a payment and matching it to instalments.

The rule: a payment settles the instalments it is matched to, oldest due first (or the ones the
recorder picked), an instalment never receives more than its amount, and the payments of a
contract never add up to more than the contract amount unless the recorder confirms it (the rest
stays on the payment as not matched, a credit). Concurrency: the contract row is locked
(``select_for_update``) before anything is read, so two payments of one contract are matched one
after the other; the check constraint ``instalment_never_over_settled`` is the last line of
defence. Settling an instalment stops its dunning at once (the dispatcher reads only unsettled
instalments, under the same row lock)."""

import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.errors import DomainError

from ..models import Contract, Instalment, Invoice, Payment, PaymentMatch

CENTS = Decimal("0.01")


@transaction.atomic
def record_payment(
    *,
    contract: Contract,
    amount: Decimal,
    received_on: datetime.date,
    actor,
    reference: str = "",
    instalment_ids: list[int] | None = None,
    confirm_over: bool = False,
    invoice: Invoice | None = None,
    prepayment: bool = False,
) -> Payment:
    """Record a payment and match it. A payment naming an invoice offsets the invoice's instalment
    first; a prepayment (预收款, ``prepayment``) is kept unmatched, as a credit that
    ``apply_credit`` later offsets against an instalment. Raises ``DomainError``: ``amount`` (not
    above zero), ``contract_inactive``, ``over_contract`` (beyond the contract amount without
    ``confirm_over``), ``instalment`` (an instalment of another contract), ``invoice`` (an invoice
    of another contract)."""
    amount = Decimal(amount).quantize(CENTS)
    if amount <= 0:
        raise DomainError(
            "amount", _("Enter an amount above zero."), fields={"amount": _("Enter an amount above zero.")}
        )
    contract = Contract.objects.select_for_update().get(pk=contract.pk)
    if contract.status != Contract.Status.ACTIVE:
        message = _("Payments are recorded on active contracts only.")
        raise DomainError("contract_inactive", message, fields={"amount": message})
    if contract.received + amount > contract.amount and not confirm_over:
        message = _(
            "This payment brings the received total to %(total)s, above the contract amount "
            "%(amount)s. Confirm to record it anyway."
        ) % {"total": f"{contract.received + amount:,.2f}", "amount": f"{contract.amount:,.2f}"}
        raise DomainError("over_contract", message, fields={"amount": message})
    if invoice is not None and invoice.contract_id != contract.pk:
        message = _("Pick an invoice of this contract.")
        raise DomainError("invoice", message, fields={"invoice": message})
    open_instalments = Instalment.objects.select_for_update().filter(contract=contract, settled_at__isnull=True)
    if prepayment:
        chosen = []
    elif instalment_ids:
        chosen = list(open_instalments.filter(pk__in=instalment_ids).order_by("due_on", "sequence"))
        if len(chosen) != len(set(instalment_ids)):
            message = _("Pick open instalments of this contract.")
            raise DomainError("instalment", message, fields={"instalments": message})
    else:
        chosen = list(open_instalments.order_by("due_on", "sequence"))
    if invoice is not None and invoice.instalment_id and not prepayment:
        # the invoiced instalment first, then the rest as before
        chosen.sort(key=lambda i: i.pk != invoice.instalment_id)
    payment = Payment.objects.create(
        contract=contract,
        invoice=invoice,
        amount=amount,
        received_on=received_on,
        reference=reference.strip()[:100],
        over_confirmed=contract.received + amount > contract.amount,
        recorded_by=actor,
    )
    remaining = _offset(payment, chosen, amount)
    if remaining:
        payment.unmatched = remaining
        payment.save(update_fields=["unmatched"])
    contract.received += amount
    contract.save(update_fields=["received", "updated_at"])
    return payment


def _offset(payment: Payment, instalments: list[Instalment], amount: Decimal) -> Decimal:
    """核销: match up to ``amount`` of ``payment`` to ``instalments`` in order (rows locked by the
    caller); returns what is left. An instalment that reaches its amount is settled, which stops
    its dunning at once."""
    remaining = amount
    now = timezone.now()
    for instalment in instalments:
        if remaining <= 0:
            break
        part = min(instalment.outstanding, remaining)
        if part <= 0:
            continue
        instalment.received += part
        if instalment.received == instalment.amount:
            instalment.settled_at = now
        instalment.save(update_fields=["received", "settled_at"])
        match, created = PaymentMatch.objects.get_or_create(
            payment=payment, instalment=instalment, defaults={"amount": part}
        )
        if not created:
            PaymentMatch.objects.filter(pk=match.pk).update(amount=F("amount") + part)
        remaining -= part
    return remaining


@transaction.atomic
def apply_credit(*, contract: Contract, actor, instalment_ids: list[int] | None = None) -> Decimal:
    """Settle instalments from the contract's credit: what prepayments and over-payments left
    unmatched, oldest payment first, offset against the named open instalments (or the oldest due
    first). Returns the amount offset. The contract row is locked first, as ``record_payment``
    does, so a credit is never spent twice. Raises ``DomainError`` ``instalment`` (not an open
    instalment of this contract) or ``no_credit``."""
    contract = Contract.objects.select_for_update().get(pk=contract.pk)
    open_instalments = Instalment.objects.select_for_update().filter(contract=contract, settled_at__isnull=True)
    if instalment_ids:
        chosen = list(open_instalments.filter(pk__in=instalment_ids).order_by("due_on", "sequence"))
        if len(chosen) != len(set(instalment_ids)):
            message = _("Pick open instalments of this contract.")
            raise DomainError("instalment", message, fields={"instalments": message})
    else:
        chosen = list(open_instalments.order_by("due_on", "sequence"))
    credits = list(
        Payment.objects.select_for_update().filter(contract=contract, unmatched__gt=0).order_by("received_on", "id")
    )
    if not credits:
        message = _("This contract has no prepayment or credit to offset.")
        raise DomainError("no_credit", message, fields={"instalments": message})
    applied = Decimal("0")
    for payment in credits:
        left = _offset(payment, chosen, payment.unmatched)
        applied += payment.unmatched - left
        payment.unmatched = left
        payment.save(update_fields=["unmatched"])
        if all(i.settled_at for i in chosen):
            break
    return applied
