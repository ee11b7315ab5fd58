"""Enrolment (报名): a class's seats are inventory.

**Never over capacity.** A seat is taken by one conditional UPDATE — ``enrolled = enrolled + 1
WHERE enrolled < capacity`` — so of two requests for the last seat the second waits for the
first's row lock, re-reads ``enrolled`` and matches no row: it joins the waiting list instead. The
CHECK ``enrolled <= capacity`` is the last line of defence. A student is in a class once (a
partial unique index on class and student while not left).

**The waiting list moves up.** When a student leaves, the seat is freed and the earliest waiting
student takes it in the same transaction (and gets the course's lesson hours then).
"""

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from catalog.services import entitlements
from crm.errors import DomainError

from ..models import Enrolment, SchoolClass


def _take_seat(school_class_id: int) -> bool:
    return bool(
        SchoolClass.objects.filter(pk=school_class_id, enrolled__lt=F("capacity")).update(enrolled=F("enrolled") + 1)
    )


def _grant_hours(enrolment: Enrolment, actor=None) -> None:
    course = enrolment.school_class.course
    enrolment.entitlement = entitlements.grant(
        customer=enrolment.customer,
        name=(_("Lesson hours: %(course)s") % {"course": course.name})[:50],
        quantity=course.lesson_count,
        sku=course.sku,
        renewal_threshold=0,  # the class's renewal opportunity is asked for by services.renewals
        actor=actor,
    )


def enrol(*, school_class: SchoolClass, customer, actor=None) -> Enrolment:
    """Enrol ``customer`` in ``school_class``: a seat and the course's lesson hours when one is
    free, else a place on the waiting list. Raises ``DomainError("already_enrolled")``."""
    if (
        Enrolment.objects.filter(school_class=school_class, customer=customer)
        .exclude(status=Enrolment.Status.LEFT)
        .exists()
    ):
        raise DomainError(
            "already_enrolled",
            _("%(student)s is already in %(class)s.") % {"student": customer.name, "class": school_class.name},
            fields={"customer": _("Already in this class.")},
        )
    try:
        return _enrol(school_class=school_class, customer=customer, actor=actor)
    except IntegrityError as exc:
        if "resources_enrolment_once" not in str(exc):
            raise
        raise DomainError(
            "already_enrolled",
            _("%(student)s is already in %(class)s.") % {"student": customer.name, "class": school_class.name},
            fields={"customer": _("Already in this class.")},
        ) from exc


@transaction.atomic
def _enrol(*, school_class, customer, actor):
    seated = _take_seat(school_class.pk)
    enrolment = Enrolment(
        school_class=school_class,
        customer=customer,
        status=Enrolment.Status.ENROLLED if seated else Enrolment.Status.WAITING,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    if seated:
        _grant_hours(enrolment, actor)
    enrolment.save()
    return enrolment


@transaction.atomic
def withdraw(*, enrolment: Enrolment, actor=None) -> Enrolment | None:
    """The student leaves the class; a freed seat goes to the earliest waiting student, who is
    returned (None when nobody moved up)."""
    enrolment = Enrolment.objects.select_for_update().select_related("school_class__course").get(pk=enrolment.pk)
    if enrolment.status == Enrolment.Status.LEFT:
        return None
    held_seat = enrolment.status == Enrolment.Status.ENROLLED
    enrolment.status = Enrolment.Status.LEFT
    enrolment.save(update_fields=["status"])
    if not held_seat:
        return None
    SchoolClass.objects.filter(pk=enrolment.school_class_id, enrolled__gt=0).update(enrolled=F("enrolled") - 1)
    return promote_waiting(school_class=enrolment.school_class, actor=actor)


@transaction.atomic
def promote_waiting(*, school_class: SchoolClass, actor=None) -> Enrolment | None:
    """Give a free seat to the earliest waiting student (skipping rows another request holds)."""
    waiting = (
        Enrolment.objects.select_for_update(skip_locked=True)
        .filter(school_class=school_class, status=Enrolment.Status.WAITING)
        .select_related("customer", "school_class__course")
        .order_by("created_at", "id")
        .first()
    )
    if waiting is None or not _take_seat(school_class.pk):
        return None
    waiting.status = Enrolment.Status.ENROLLED
    _grant_hours(waiting, actor)
    waiting.save(update_fields=["status", "entitlement"])
    return waiting
