"""合同: signing a contract from a won opportunity, its payment plan, attachments and invoices.

A contract above ``settings.CONTRACT_APPROVAL_OVER`` waits for approval (the approval engine, kind
``contract``) and becomes a deal only once approved; below it, it is active at once."""

import datetime
import mimetypes
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.approvals import services as approvals
from crm.errors import DomainError
from crm.uploads import UploadRefused, read_upload
from sales.models import Opportunity

from ..models import Contract, ContractAttachment, ContractLine, Instalment, Invoice

APPROVAL_KIND = "contract"
CENTS = Decimal("0.01")
#: what an attachment may be: a scanned or signed contract, an office document or an image
ATTACHMENT_TYPES = {
    ".pdf": "application/pdf",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".doc": "application/msword",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def approval_threshold() -> Decimal:
    return Decimal(str(getattr(settings, "CONTRACT_APPROVAL_OVER", "500000")))


def _money(value) -> Decimal:
    return Decimal(value).quantize(CENTS)


def check_plan(*, amount: Decimal, instalments: list[tuple[datetime.date, Decimal]]) -> None:
    """A plan's instalments are positive and add up to the contract amount."""
    if not instalments:
        raise DomainError(
            "no_instalments",
            _("Add at least one instalment."),
            fields={"instalments": _("Add at least one instalment.")},
        )
    if any(_money(part) <= 0 for _due, part in instalments):
        raise DomainError(
            "instalment_amount",
            _("Each instalment is more than zero."),
            fields={"instalments": _("Each instalment is more than zero.")},
        )
    total = sum((_money(part) for _due, part in instalments), Decimal("0"))
    if total != _money(amount):
        message = _("The instalments add up to %(total)s, not the contract amount %(amount)s.") % {
            "total": f"{total:,.2f}",
            "amount": f"{_money(amount):,.2f}",
        }
        raise DomainError("plan_total", message, fields={"instalments": message})


@transaction.atomic
def create_contract(
    *,
    opportunity,
    number: str,
    title: str,
    amount: Decimal,
    signed_on: datetime.date,
    starts_on: datetime.date,
    ends_on: datetime.date,
    lines: list[tuple],
    instalments: list[tuple[datetime.date, Decimal]],
    actor,
) -> Contract:
    """Sign a contract from a won opportunity (one contract per opportunity). ``lines`` are
    (sku, quantity, unit price); ``instalments`` are (due date, amount) adding up to ``amount``.
    Raises ``DomainError`` naming the field: ``not_won``, ``contract_exists``, ``number_taken``,
    ``period``, ``plan_total``."""

    opportunity = Opportunity.objects.select_for_update().select_related("stage").get(pk=opportunity.pk)
    if not opportunity.stage.is_won:
        raise DomainError(
            "not_won",
            _("Only a won opportunity becomes a contract."),
            fields={"opportunity": _("Only a won opportunity becomes a contract.")},
        )
    if Contract.objects.filter(opportunity=opportunity).exists():
        raise DomainError(
            "contract_exists",
            _("This opportunity already has a contract."),
            fields={"opportunity": _("This opportunity already has a contract.")},
        )
    amount = _money(amount)
    if amount <= 0:
        raise DomainError(
            "amount", _("Enter an amount above zero."), fields={"amount": _("Enter an amount above zero.")}
        )
    if ends_on < starts_on:
        raise DomainError(
            "period",
            _("The contract ends before it starts."),
            fields={"ends_on": _("The contract ends before it starts.")},
        )
    check_plan(amount=amount, instalments=instalments)
    pending = amount > approval_threshold()
    now = timezone.now()
    contract = Contract(
        number=number.strip(),
        title=title.strip() or opportunity.name,
        opportunity=opportunity,
        customer_id=opportunity.customer_id,
        owner_id=opportunity.owner_id,
        department_id=opportunity.department_id,
        amount=amount,
        signed_on=signed_on,
        starts_on=starts_on,
        ends_on=ends_on,
        status=Contract.Status.PENDING if pending else Contract.Status.ACTIVE,
        signed_at=None if pending else now,
        created_by=actor,
    )
    try:
        with transaction.atomic():
            contract.save()
    except IntegrityError as exc:
        raise DomainError(
            "number_taken",
            _("Another contract has this number."),
            fields={"number": _("Another contract has this number.")},
        ) from exc
    for sku, quantity, unit_price in lines:
        ContractLine.objects.create(contract=contract, sku=sku, quantity=quantity, unit_price=_money(unit_price))
    for sequence, (due_on, part) in enumerate(sorted(instalments, key=lambda i: i[0]), 1):
        Instalment.objects.create(contract=contract, sequence=sequence, due_on=due_on, amount=_money(part))
    if pending:
        approvals.request_approval(kind=APPROVAL_KIND, obj=contract, requester=actor)
    return contract


@transaction.atomic
def on_approved(*, contract: Contract) -> None:
    Contract.objects.filter(pk=contract.pk, status=Contract.Status.PENDING).update(
        status=Contract.Status.ACTIVE, signed_at=timezone.now()
    )


@transaction.atomic
def on_rejected(*, contract: Contract) -> None:
    Contract.objects.filter(pk=contract.pk, status=Contract.Status.PENDING).update(status=Contract.Status.REJECTED)


def max_attachment_bytes() -> int:
    return int(getattr(settings, "CONTRACT_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024))


@transaction.atomic
def add_attachment(*, contract: Contract, upload, actor) -> ContractAttachment:
    """Attach a file: PDF, image or office document, at most ``CONTRACT_ATTACHMENT_MAX_BYTES``
    (the size is checked before the file is read, by ``crm.uploads``)."""
    name = (upload.name or "").rsplit("/", 1)[-1][:200]
    extension = ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""
    if extension not in ATTACHMENT_TYPES:
        message = _("Attach a PDF, an image (JPG, PNG) or an office document (DOC, DOCX, XLSX).")
        raise DomainError("attachment_type", message, fields={"file": message})
    try:
        read_upload(upload, max_bytes=max_attachment_bytes())
    except UploadRefused as exc:
        raise DomainError("attachment_size", str(exc), fields={"file": str(exc)}) from exc
    upload.seek(0)
    attachment = ContractAttachment(
        contract=contract,
        name=name,
        size=upload.size,
        content_type=ATTACHMENT_TYPES[extension] or mimetypes.guess_type(name)[0] or "",
        uploaded_by=actor,
    )
    attachment.file.save(name, upload, save=False)
    attachment.save()
    return attachment


@transaction.atomic
def add_invoice(
    *, contract: Contract, number: str, amount: Decimal, issued_on: datetime.date, actor, instalment=None
) -> Invoice:
    """发票: invoices of a contract never add up to more than its amount; an invoice may bill one
    instalment of the contract's plan (``instalment``: another contract's is refused)."""
    contract = Contract.objects.select_for_update().get(pk=contract.pk)
    if instalment is not None and instalment.contract_id != contract.pk:
        message = _("Pick an instalment of this contract.")
        raise DomainError("instalment", message, fields={"instalment": message})
    amount = _money(amount)
    if amount <= 0:
        raise DomainError(
            "amount", _("Enter an amount above zero."), fields={"amount": _("Enter an amount above zero.")}
        )
    invoiced = contract.invoices.aggregate(total=Sum("amount"))["total"] or Decimal("0")
    if invoiced + amount > contract.amount:
        message = _("Invoices would add up to more than the contract amount (%(amount)s).") % {
            "amount": f"{contract.amount:,.2f}"
        }
        raise DomainError("over_invoiced", message, fields={"amount": message})
    try:
        with transaction.atomic():
            return Invoice.objects.create(
                contract=contract, instalment=instalment, number=number.strip(), amount=amount, issued_on=issued_on
            )
    except IntegrityError as exc:
        raise DomainError(
            "number_taken",
            _("Another invoice has this number."),
            fields={"number": _("Another invoice has this number.")},
        ) from exc
