"""Attendance (考勤) and make-up lessons (补课).

Present and absent use one lesson hour of the enrolment's entitlement (through the catalogue's
``consume``, with the session as the reference, so a retry takes nothing twice); leave uses none
and may be made up in a session of another class of the same course — one that still has a free
seat (its class's enrolled students and make-ups so far below its capacity, counted under the
session's row lock). One attendance per student and session (a unique index). A member present earns the lesson's
points (through ``customers.registry``, once per attendance).
"""

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from catalog.services import entitlements
from crm.errors import DomainError
from customers import registry

from ..models import Attendance, Enrolment, Session
from . import renewals

USES_HOUR = {Attendance.Status.PRESENT, Attendance.Status.ABSENT}


def record(*, session: Session, enrolment: Enrolment, status: str, actor=None, is_makeup: bool = False) -> Attendance:
    """Record ``status`` for ``enrolment`` at ``session``. Raises ``DomainError`` with codes
    ``not_enrolled``, ``wrong_class``, ``cancelled``, ``already_recorded``, ``no_free_seat`` or the
    catalogue's ``insufficient_balance`` / ``expired``."""
    if status not in Attendance.Status.values:
        raise DomainError(
            "invalid_status",
            _("Choose present, absent or leave."),
            fields={"status": _("Choose present, absent or leave.")},
        )
    try:
        return _record(session=session, enrolment=enrolment, status=status, actor=actor, is_makeup=is_makeup)
    except IntegrityError as exc:
        if "resources_attendance_once" not in str(exc):
            raise
        raise DomainError("already_recorded", _("Attendance at this session is already recorded.")) from exc


@transaction.atomic
def _record(*, session, enrolment, status, actor, is_makeup):
    session = Session.objects.select_for_update().select_related("school_class__course").get(pk=session.pk)
    enrolment = Enrolment.objects.select_related("school_class__course", "customer__owner", "entitlement").get(
        pk=enrolment.pk
    )
    if enrolment.status != Enrolment.Status.ENROLLED:
        raise DomainError(
            "not_enrolled", _("%(student)s holds no seat in this class.") % {"student": enrolment.customer.name}
        )
    if session.status == Session.Status.CANCELLED:
        raise DomainError("cancelled", _("This session is cancelled."))
    if is_makeup:
        if (
            session.school_class.course_id != enrolment.school_class.course_id
            or session.school_class_id == enrolment.school_class_id
        ):
            raise DomainError("wrong_class", _("A make-up lesson is taken in another class of the same course."))
        if status == Attendance.Status.LEAVE:
            raise DomainError(
                "invalid_status",
                _("A make-up lesson is attended or missed, not taken as leave."),
                fields={"status": _("Choose present or absent.")},
            )
        makeups = Attendance.objects.filter(session=session, is_makeup=True).count()
        if session.school_class.enrolled + makeups >= session.school_class.capacity:
            raise DomainError("no_free_seat", _("This session has no free seat for a make-up lesson."))
    elif session.school_class_id != enrolment.school_class_id:
        raise DomainError("wrong_class", _("This session belongs to another class."))
    if Attendance.objects.filter(session=session, enrolment=enrolment).exists():
        raise DomainError("already_recorded", _("Attendance at this session is already recorded."))
    attendance = Attendance.objects.create(
        session=session,
        enrolment=enrolment,
        status=status,
        is_makeup=is_makeup,
        recorded_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    if status in USES_HOUR and enrolment.entitlement_id:
        use = entitlements.consume(
            entitlement=enrolment.entitlement,
            quantity=1,
            reference=f"session:{session.pk}",
            note=str(session)[:200],
            actor=actor,
        )
        renewals.check_balance(enrolment=enrolment, balance=use.balance_after)
    if status == Attendance.Status.PRESENT:
        registry.award_points(customer=enrolment.customer, kind="attendance", reference=f"attendance:{attendance.pk}")
    return attendance


def lessons_left(enrolment: Enrolment) -> int | None:
    return enrolment.entitlement.balance if enrolment.entitlement_id else None
