"""Trial lessons (试听): a rep books a prospect from an opportunity into a session with a free
seat; attending moves the opportunity to the next stage and lifts the customer's "resting";
a no-show gives the rep a task to call and a notification.

**The trial stage** is the open stage whose name says 试听 (``TRIAL_STAGE_MARK``; the default
stages' "方案/试听课"): the opportunity page offers "预约试听" there.

**A control point on the way.** When the stage the trial moves past needs an approval (the
default "方案/试听课" does), attending asks for it at once (the manager is notified) instead of
moving; the rep moves the opportunity on when it is approved.

**Seats.** A trial takes a seat of the session: the class's enrolled students plus the session's
live trials stay within its capacity, counted under the session's row lock (``select_for_update``),
so two bookings of the last seat cannot both pass.
"""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm import notifications
from crm.errors import DomainError
from customers import registry
from sales.models import Opportunity, OpportunityStage
from sales.services.opportunities import approval_requests, blocking_approval, move_stage, request_approval

from ..models import SchoolClass, Session, TrialLesson

LIVE = [TrialLesson.Status.BOOKED, TrialLesson.Status.ATTENDED]
TRIAL_STAGE_MARK = "试听"


def is_trial_stage(stage: OpportunityStage) -> bool:
    return not stage.is_closed and TRIAL_STAGE_MARK in stage.name


def free_seats(session: Session) -> int:
    """The session's seats not taken by the class's students or live trials (read fresh)."""
    capacity, enrolled = (
        SchoolClass.objects.filter(pk=session.school_class_id).values_list("capacity", "enrolled").get()
    )
    trials = TrialLesson.objects.filter(session_id=session.pk, status__in=LIVE).count()
    return max(0, capacity - enrolled - trials)


@transaction.atomic
def book_trial(*, opportunity: Opportunity, session: Session, actor=None) -> TrialLesson:
    """Raises ``DomainError`` ``closed``, ``past``, ``no_free_seat`` or ``already_booked``."""
    session = Session.objects.select_for_update().select_related("school_class").get(pk=session.pk)
    if opportunity.closed_at is not None:
        raise DomainError("closed", _("This opportunity is closed."))
    if session.status != Session.Status.SCHEDULED or session.starts_at <= timezone.now():
        raise DomainError(
            "past",
            _("Choose a session that has not started."),
            fields={"session": _("Choose a session that has not started.")},
        )
    if TrialLesson.objects.filter(opportunity=opportunity, session=session, status__in=LIVE).exists():
        raise DomainError(
            "already_booked", _("This trial is already booked."), fields={"session": _("This trial is already booked.")}
        )
    if free_seats(session) < 1:
        raise DomainError(
            "no_free_seat", _("This session has no free seat."), fields={"session": _("This session has no free seat.")}
        )
    return TrialLesson.objects.create(
        opportunity=opportunity,
        session=session,
        booked_by=actor if getattr(actor, "is_authenticated", False) else None,
    )


def _next_stage(opportunity: Opportunity):
    return (
        OpportunityStage.objects.filter(position__gt=opportunity.stage.position, is_won=False, is_lost=False)
        .order_by("position")
        .first()
    )


@transaction.atomic
def mark_trial(*, trial: TrialLesson, attended: bool, actor=None) -> TrialLesson:
    """Attended: the opportunity moves to its next open stage (unless a control point needs an
    approval first: then it stays) and the customer is no longer resting. No-show: a task for
    the opportunity's owner to call."""
    trial = (
        TrialLesson.objects.select_for_update()
        .select_related("opportunity__stage", "opportunity__customer", "session__school_class")
        .get(pk=trial.pk)
    )
    if trial.status != TrialLesson.Status.BOOKED:
        raise DomainError("already_recorded", _("This trial is already recorded."))
    opportunity = trial.opportunity
    if attended:
        trial.status = TrialLesson.Status.ATTENDED
        trial.save(update_fields=["status"])
        stage = _next_stage(opportunity)
        if stage is not None and opportunity.closed_at is None:
            _move_on(opportunity, stage, actor or opportunity.owner)
        customer = opportunity.customer
        if customer.resting_since is not None:
            customer.resting_since = None
            customer.save(update_fields=["resting_since", "updated_at"])
        return trial
    trial.status = TrialLesson.Status.NO_SHOW
    trial.save(update_fields=["status"])
    notifications.notify(
        recipient=opportunity.owner,
        title=_("No-show at the trial lesson: %(customer)s") % {"customer": opportunity.customer.name},
        body=str(trial.session),
        url=opportunity.get_absolute_url(),
        kind="trial_no_show",
    )
    registry.create_task(
        assignee=opportunity.owner,
        title=(_("No-show at the trial lesson: call %(customer)s") % {"customer": opportunity.customer.name})[:200],
        description=str(trial.session),
        customer=opportunity.customer,
        due_at=timezone.now() + datetime.timedelta(hours=4),
        by_rule="trial_no_show",
    )
    return trial


def _move_on(opportunity: Opportunity, stage: OpportunityStage, actor) -> None:
    blocker = blocking_approval(opportunity, stage)
    if blocker is None:
        move_stage(actor=actor, opportunity=opportunity, stage=stage)
        return
    if approval_requests(opportunity).filter(key=f"stage:{blocker.pk}", status="pending").exists():
        return
    try:
        request_approval(actor=actor, opportunity=opportunity, stage=blocker)
    except ValidationError:
        pass  # no approver configured: the rep asks as usual
