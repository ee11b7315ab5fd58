"""Refunds of lesson hours (退费): a parent takes back hours not yet used — some of them, or all,
which takes the student out of the class.

**Never below zero.** A refund is a line of the enrolment's hour ledger with a negative quantity
and its reason, taken by the catalogue's ``refund`` — one conditional UPDATE (``balance =
balance - n WHERE balance >= n``) — so two parallel refunds of the last hours cannot both pass:
the second waits for the first's row lock, re-reads the balance and is refused; the CHECK
``balance >= 0`` is the last line of defence. Each refund is audit-logged (the ledger line and
an entry on the enrolment). A refund does not ask for a renewal, and an enrolment whose hours a
refund emptied is not counted as "finished" in the renewal rate (see ``resources.bi``).
"""

import uuid

from auditlog.models import LogEntry
from django.db import transaction
from django.utils.translation import gettext as _

from catalog.models import EntitlementUse
from catalog.services import entitlements
from crm.errors import DomainError

from ..models import Enrolment
from . import enrolments


def refund_hours(
    *, enrolment: Enrolment, hours: int | None, reason: str, actor=None, reference: str = ""
) -> EntitlementUse:
    """Refund ``hours`` of ``enrolment``'s unused lesson hours for ``reason`` (``None``: all that
    are left, and the student leaves the class — the seat goes to the next one waiting). Once per
    ``reference`` (a new one when none is given). Raises ``DomainError("no_hours")`` for an
    enrolment without hours, the catalogue's ``insufficient_balance``, or ``ValidationError`` on
    ``hours`` or ``reason``."""
    enrolment = Enrolment.objects.select_related("entitlement", "customer").get(pk=enrolment.pk)
    if enrolment.entitlement_id is None or enrolment.status == Enrolment.Status.LEFT:
        raise DomainError(
            "no_hours", _("%(student)s holds no lesson hours to refund.") % {"student": enrolment.customer.name}
        )
    whole = hours is None
    with transaction.atomic():
        if whole:
            hours = enrolment.entitlement.balance
            if hours < 1:
                raise DomainError(
                    "insufficient_balance", _("No lesson hours are left to refund."), fields={"hours": _("None left.")}
                )
        line = entitlements.refund(
            entitlement=enrolment.entitlement,
            quantity=hours,
            reason=reason,
            reference=reference or f"refund:{uuid.uuid4().hex}",
            actor=actor,
        )
        LogEntry.objects.log_create(
            enrolment,
            force_log=True,
            action=LogEntry.Action.UPDATE,
            actor=actor if getattr(actor, "is_authenticated", False) else None,
            changes={"refunded_hours": ["", str(line.quantity)], "refund_reason": ["", line.note]},
        )
        if whole:
            enrolments.withdraw(enrolment=enrolment, actor=actor)
    return line
