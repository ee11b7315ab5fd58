"""Writes on partners: create and edit, contacts, follow-ups, moves through the pipeline.

Every change is one transaction and leaves its trace in the audit log (the models are registered
with django-auditlog) and, for moves, a ``PartnerStatusChange`` row."""

import secrets
import string

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from crm.errors import Conflict, Invalid
from sales.services.reminders import create_reminder

from ..models import TRANSITIONS, Partner, PartnerContact, PartnerFollowUp, PartnerStatus, PartnerStatusChange

CODE_ALPHABET = string.ascii_uppercase.replace("O", "").replace("I", "") + "23456789"
CODE_LENGTH = 8


def new_code() -> str:
    """A referral code people can read aloud (no O/0, I/1)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def _check_period(partner: Partner) -> None:
    if partner.contract_start and partner.contract_end and partner.contract_end < partner.contract_start:
        raise Invalid(
            gettext_noop("The contract ends before it starts."),
            code="contract_period",
            fields={"contract_end": gettext_noop("The contract ends before it starts.")},
        )


def save_partner(*, partner: Partner, actor) -> Partner:
    """Create or update a partner. A new partner gets a unique referral code (drawn again on the
    rare clash, the unique index deciding) and starts as a prospect; the status changes only
    through :func:`move_partner`.

    Raises ``Invalid("contract_period")`` when the contract ends before it starts."""
    _check_period(partner)
    if partner.pk:
        partner.full_clean(exclude=["code", "status"])
        with transaction.atomic():
            partner.save()
        return partner
    partner.status = PartnerStatus.PROSPECT
    for _attempt in range(5):
        partner.code = partner.code or new_code()
        partner.full_clean(exclude=["code"])
        try:
            with transaction.atomic():
                partner.save()
            return partner
        except IntegrityError:
            if Partner.objects.filter(code=partner.code).exists():
                partner.code = ""
                continue
            raise
    raise Conflict("code_exhausted", gettext_noop("No free referral code was found; try again."))


@transaction.atomic
def move_partner(*, partner: Partner, to_status: str, actor, note: str = "") -> Partner:
    """Move a partner to ``to_status`` along the pipeline (``models.TRANSITIONS``).

    The move is a conditional UPDATE on the status the actor saw, so two managers moving the same
    card at once cannot both succeed. Signing needs the contract period.
    Raises ``Invalid("status_transition")``, ``Invalid("contract_period")`` or
    ``Conflict("status_changed")`` (someone moved it first)."""
    from_status = partner.status
    if to_status not in TRANSITIONS.get(from_status, ()):
        raise Invalid(
            code="status_transition",
            message=gettext_noop("A partner cannot move to that stage from here."),
            fields={"status": gettext_noop("Choose one of the next stages.")},
        )
    if to_status in (PartnerStatus.SIGNED, PartnerStatus.ACTIVE) and not (
        partner.contract_start and partner.contract_end
    ):
        raise Invalid(
            gettext_noop("Enter the contract period before signing."),
            code="contract_period",
            fields={"contract_start": gettext_noop("Enter the contract period before signing.")},
        )
    updated = Partner.objects.filter(pk=partner.pk, status=from_status).update(
        status=to_status, updated_at=timezone.now()
    )
    if updated != 1:
        raise Conflict("status_changed", gettext_noop("Someone moved this partner meanwhile; reload the page."))
    PartnerStatusChange.objects.create(
        partner=partner, from_status=from_status, to_status=to_status, actor=actor, note=note[:200]
    )
    partner.status = to_status
    from auditlog.models import LogEntry

    LogEntry.objects.log_create(
        partner, action=LogEntry.Action.UPDATE, changes={"status": [from_status, to_status]}, actor=actor
    )
    return partner


@transaction.atomic
def set_grade(*, partner: Partner, grade: str, actor) -> Partner:
    partner.grade = grade
    partner.full_clean(exclude=["code"])
    partner.save(update_fields=["grade", "updated_at"])
    return partner


@transaction.atomic
def save_contact(*, contact: PartnerContact, actor) -> PartnerContact:
    """Add or edit a contact; making one primary makes the partner's other contacts not primary
    (a partial unique index keeps one primary per partner)."""
    contact.full_clean(validate_constraints=False)
    if contact.is_primary:
        # the partner's row locked: two "make primary" at once queue here instead of tripping the index
        Partner.objects.select_for_update().filter(pk=contact.partner_id).first()
        PartnerContact.objects.filter(partner=contact.partner, is_primary=True).exclude(pk=contact.pk).update(
            is_primary=False
        )
    contact.save()
    return contact


@transaction.atomic
def add_follow_up(*, partner: Partner, actor, kind: str, content: str, next_at=None) -> PartnerFollowUp:
    """Record a follow-up; a next time in the future becomes the channel manager's reminder and
    the partner's next follow-up. Raises ``Invalid("next_at")`` for a time in the past."""
    now = timezone.now()
    if next_at is not None and next_at <= now:
        raise Invalid(
            gettext_noop("Choose a time in the future."),
            code="next_at",
            fields={"next_at": gettext_noop("Choose a time in the future.")},
        )
    follow_up = PartnerFollowUp(
        partner=partner, author=actor, kind=kind, content=content, next_at=next_at, created_at=now
    )
    follow_up.full_clean()
    follow_up.save()
    if next_at is not None:
        Partner.objects.filter(pk=partner.pk).update(next_follow_up_at=next_at, updated_at=now)
        partner.next_follow_up_at = next_at
        create_reminder(
            owner=partner.owner, title=_("Follow up partner %(name)s") % {"name": partner.name}, due_at=next_at
        )
    return follow_up
