"""Nurture plans (培育计划): a sequence of messages over days for a segment, run by beat.

Every run (``run``) does two things:

1. **Enrol** — a running plan takes in the segment's members not yet enrolled (``INSERT … SELECT``
   with ``ON CONFLICT DO NOTHING``; at most once a day per plan, and at once when the plan starts).
2. **Step** — enrolments that are due are claimed with ``SKIP LOCKED``; each is first checked
   against the stop rules (the person replied, ordered, or opted out of the channel), then against
   contact protection (resting, frequency caps): a held-back step waits a day and is tried again.
   Otherwise the step's message is created — unique per (enrolment, step), so it exists once — and
   sent; the enrolment moves to the next step, or completes.
"""

import datetime
import logging

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import DateTimeField, IntegerField, Value
from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import Enrollment, Message, NurturePlan, NurtureStep, OptOut, Segment
from . import segments, sending

log = logging.getLogger(__name__)
ENROL_EVERY = datetime.timedelta(days=1)
RETRY_AFTER = datetime.timedelta(days=1)
MAX_DEFERRALS = 14


def validate_plan(plan, steps):
    if plan.segment_id and plan.segment.subject != Segment.Subject.CUSTOMERS:
        raise ValidationError({"segment": _("Nurture plans run on customer segments.")})
    if not steps:
        raise ValidationError(_("Add at least one step."))


def start(*, plan):
    if not plan.steps.exists():
        raise ValidationError(_("Add at least one step before starting the plan."))
    NurturePlan.objects.filter(pk=plan.pk).update(active=True, enrolled_at=None)
    plan.refresh_from_db()
    enrol(plan)


@transaction.atomic
def stop(*, plan):
    NurturePlan.objects.filter(pk=plan.pk).update(active=False)
    Enrollment.objects.filter(plan=plan, status=Enrollment.Status.ACTIVE).update(
        status=Enrollment.Status.STOPPED, stop_reason=Enrollment.StopReason.PLAN_STOPPED, finished_at=timezone.now()
    )


def enrol(plan, *, now=None):
    """Take in the segment's members who are not enrolled yet. Returns how many joined."""
    now = now or timezone.now()
    first = plan.steps.order_by("day", "id").first()
    if first is None:
        return 0
    members = (
        segments.segment_members(plan.segment)
        .order_by()
        .annotate(
            _plan=Value(plan.pk, output_field=IntegerField()),
            _status=Value(Enrollment.Status.ACTIVE),
            _reason=Value(""),
            _step=Value(0, output_field=IntegerField()),
            _due=Value(now + datetime.timedelta(days=first.day), output_field=DateTimeField()),
            _def=Value(0, output_field=IntegerField()),
            _at=Value(now, output_field=DateTimeField()),
        )
        .values_list("_plan", "pk", "_status", "_reason", "_step", "_due", "_def", "_at")
    )
    sql, params = members.query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Enrollment._meta.db_table} (plan_id, customer_id, status, stop_reason, step_index, "
            f"next_due_at, deferrals, enrolled_at) SELECT * FROM ({sql}) AS src WHERE 1=1 ON CONFLICT DO NOTHING",
            params,
        )
        joined = cursor.rowcount
        NurturePlan.objects.filter(pk=plan.pk).update(enrolled_at=now)
    return joined


def _stop_reason(enrollment, plan):
    customer = enrollment.customer
    if plan.stop_on_reply and customer.last_inbound_at and customer.last_inbound_at > enrollment.enrolled_at:
        return Enrollment.StopReason.REPLIED
    if plan.stop_on_order and customer.last_order_at and customer.last_order_at > enrollment.enrolled_at:
        return Enrollment.StopReason.ORDERED
    if OptOut.objects.filter(customer=customer, channel__in=[plan.channel, OptOut.ALL]).exists():
        return Enrollment.StopReason.OPTED_OUT
    return None


def _finish(enrollment, status, reason="", now=None):
    Enrollment.objects.filter(pk=enrollment.pk).update(
        status=status, stop_reason=reason, next_due_at=None, finished_at=now or timezone.now()
    )


def step_due(*, now=None, limit=500):
    """Advance due enrolments (one step each). Returns counts by outcome."""
    now = now or timezone.now()
    outcome = {"sent": 0, "stopped": 0, "deferred": 0, "completed": 0}
    with transaction.atomic():
        due = list(
            Enrollment.objects.filter(status=Enrollment.Status.ACTIVE, next_due_at__lte=now, plan__active=True)
            .select_related("customer", "plan")
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("next_due_at")[:limit]
        )
        steps_by_plan = {}
        for enrollment in due:
            plan = enrollment.plan
            steps = steps_by_plan.setdefault(plan.pk, list(plan.steps.select_related("content").order_by("day", "id")))
            reason = _stop_reason(enrollment, plan)
            if reason:
                _finish(enrollment, Enrollment.Status.STOPPED, reason, now)
                outcome["stopped"] += 1
                continue
            if enrollment.step_index >= len(steps):
                _finish(enrollment, Enrollment.Status.COMPLETED, now=now)
                outcome["completed"] += 1
                continue
            held = sending.hold_reason(enrollment.customer, plan.channel, now=now)
            if held in ("resting", "capped") and enrollment.deferrals < MAX_DEFERRALS:
                Enrollment.objects.filter(pk=enrollment.pk).update(
                    next_due_at=now + RETRY_AFTER, deferrals=enrollment.deferrals + 1
                )
                outcome["deferred"] += 1
                continue
            if held is None:
                Message.objects.get_or_create(
                    enrollment=enrollment,
                    step_index=enrollment.step_index,
                    defaults={
                        "customer": enrollment.customer,
                        "campaign_id": plan.campaign_id,
                        "channel": plan.channel,
                        "created_at": now,
                    },
                )
            nxt = enrollment.step_index + 1
            if nxt >= len(steps):
                _finish(enrollment, Enrollment.Status.COMPLETED, now=now)
                outcome["completed"] += 1
            else:
                due_at = max(now, enrollment.enrolled_at + datetime.timedelta(days=steps[nxt].day))
                Enrollment.objects.filter(pk=enrollment.pk).update(step_index=nxt, next_due_at=due_at, deferrals=0)
            outcome["sent"] += held is None

    def body_for(message):
        plan_id = message.enrollment.plan_id
        if plan_id not in steps_by_plan:
            steps_by_plan[plan_id] = list(
                NurtureStep.objects.filter(plan_id=plan_id).select_related("content").order_by("day", "id")
            )
        step = steps_by_plan[plan_id][message.step_index]
        return step.subject or (step.content.title if step.content else ""), step.body

    queued = Message.objects.filter(enrollment__isnull=False)
    while sending.deliver_chunk(queued, body_for=body_for, now=now):
        pass
    return outcome


def run(*, now=None):
    """The beat job: enrol where due, then advance due steps."""
    now = now or timezone.now()
    for plan in NurturePlan.objects.filter(active=True).select_related("segment", "segment__owner"):
        if plan.enrolled_at is None or plan.enrolled_at <= now - ENROL_EVERY:
            enrol(plan, now=now)
    return step_due(now=now)


def stop_for_opt_out(*, customer, channel):
    plans = NurturePlan.objects.all() if channel == OptOut.ALL else NurturePlan.objects.filter(channel=channel)
    Enrollment.objects.filter(customer=customer, plan__in=plans, status=Enrollment.Status.ACTIVE).update(
        status=Enrollment.Status.STOPPED,
        stop_reason=Enrollment.StopReason.OPTED_OUT,
        finished_at=timezone.now(),
        next_due_at=None,
    )
