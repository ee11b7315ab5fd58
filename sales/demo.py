"""Demo sales data: rules, stages, leads, opportunities, follow-ups and reminders (bulk inserts)."""

import datetime
from decimal import Decimal

from django.utils import timezone

from crm.demo import REGIONS
from crm.name_keys import keys_for
from customers import deals, regions
from customers.models import Customer

from . import selectors
from .models import (
    AssignmentRule,
    FollowUp,
    Lead,
    Opportunity,
    OpportunityStage,
    PoolMove,
    PoolRule,
    PoolWarning,
    Reminder,
    ReminderNotice,
    Report,
    SalesSettings,
    ScoringRule,
    StageHistory,
    Target,
)
from .services import performance
from .services.leads import grade_of
from .services.opportunities import ensure_default_stages, request_approval
from .services.reminders import _schedule, parse_offsets

SIZES = {
    "small": {"leads": 150, "opportunities": 40, "followups": 500, "reminders": 80},
    "large": {"leads": 50_000, "opportunities": 30_000, "followups": 300_000, "reminders": 100_000},
}
BATCH = 5000
#: every owned record was touched within this many days (the pool's rule allows 30)
RECENT_TOUCH_DAYS = 21
#: records the demo leaves at the pool's door: returned by the first recycle run (owners warned
#: days ago) and warned by it (back in two days); the same handful in both sizes
STALE = {"customers": 3, "leads": 2}
DUE_SOON = {"customers": 2, "leads": 3}
REMINDERS_DUE_TODAY = 4
NEEDS = ["想给孩子报数学提高班", "咨询少儿英语外教课", "暑假托管", "编程兴趣课试听", "钢琴一对一", "", ""]
CONTENTS = [
    "电话沟通了课程安排，家长比较关心师资",
    "微信发送了课程介绍和价格",
    "约了周六来校区试听",
    "家长说再考虑一下，下周回访",
    "没接电话",
    "到店参观，孩子很喜欢老师",
    "发了暑期班优惠信息",
]


def _rules(ctx):
    for criterion, value, points in [
        ("source", "referral", 30),
        ("source", "event", 25),
        ("source", "website", 10),
        ("has_mobile", "", 10),
        ("has_need", "", 20),
        ("has_region", "", 5),
        ("visits", "2", 15),
        ("events", "1", 20),
    ]:
        ScoringRule.objects.create(criterion=criterion, value=value, points=points)
    AssignmentRule.objects.create(position=1, grade="A", team=ctx.departments["sales1_team1"])
    AssignmentRule.objects.create(position=2, region="310000", team=ctx.departments["sales1_team2"])
    AssignmentRule.objects.create(position=3, team=ctx.departments["sales2"])
    ensure_default_stages()
    stages = list(OpportunityStage.objects.order_by("position"))
    for key in ("sales1", "sales2"):
        PoolRule.objects.create(
            department=ctx.departments[key],
            days_without_followup=30,
            days_without_deal=180,
            exempt_stage=stages[2],
            warn_days=3,
            cap=300 if ctx.size == "small" else 50_000,
            reclaim_cooldown_days=7,
        )
    return stages


def seed(ctx):
    size = SIZES[ctx.size]
    rng = ctx.rng
    stages = _rules(ctx)
    open_stages = [s for s in stages if not s.is_closed]
    won = next(s for s in stages if s.is_won)
    lost = next(s for s in stages if s.is_lost)
    reps = ctx.reps
    sources = [v for v, _ in Customer.Source.choices]

    leads = []
    for index in range(size["leads"]):
        owner = reps[index % len(reps)] if rng.random() > 0.25 else None
        source = rng.choice(sources)
        need = rng.choice(NEEDS)
        score = (
            10
            + (20 if need else 0)
            + {"referral": 30, "event": 25, "website": 10}.get(source, 0)
            + rng.choice([0, 0, 15, 20])
        )
        created = ctx.moment(60 if ctx.size == "small" else 365)
        leads.append(
            Lead(
                name=(name := ctx.name()),
                name_keys=keys_for(name),
                mobile=ctx.mobile(1_000_000 + index),
                source=source,
                region=(region := rng.choice(REGIONS)),
                region_code=regions.match(region),
                need=need,
                score=score,
                grade=grade_of(score),
                owner=owner,
                department=owner.department if owner else ctx.departments[rng.choice(["sales1", "sales2"])],
                status=rng.choice([Lead.Status.ASSIGNED, Lead.Status.CONTACTED, Lead.Status.QUALIFIED])
                if owner
                else Lead.Status.NEW,
                assigned_at=created if owner else None,
                created_at=created,
                last_followup_at=created + datetime.timedelta(days=rng.uniform(0, 10))
                if owner and rng.random() < 0.6
                else None,
            )
        )
        if len(leads) >= BATCH:
            Lead.objects.bulk_create(leads)
            leads = []
    Lead.objects.bulk_create(leads)

    owned = list(
        Customer.objects.filter(owner__isnull=False)
        .order_by("id")
        .values_list("id", "owner_id", "owner__department_id")
    )
    if not owned:
        return
    opportunities = []
    for index in range(size["opportunities"]):
        customer_id, owner_id, department_id = owned[(index * 7) % len(owned)]
        stage = rng.choice(open_stages + [won, lost]) if rng.random() < 0.9 else rng.choice(open_stages)
        created = ctx.moment(120 if ctx.size == "small" else 365)
        # entered its stage after it was created, never after today (no stay may have a negative length)
        entered = min(created + datetime.timedelta(days=rng.uniform(0, 20)), ctx.anchor)
        if stage.is_closed and index % 4 == 0:
            # some deals closed in the last days, so this month's dashboards have figures from day one
            entered = max(created, ctx.anchor - datetime.timedelta(days=index % 5, hours=2))
        opportunities.append(
            Opportunity(
                name=rng.choice(["数学提高班", "英语外教课", "暑期托管", "编程启蒙", "钢琴一对一"]) + f" #{index + 1}",
                customer_id=customer_id,
                owner_id=owner_id,
                department_id=department_id,
                stage=stage,
                amount=Decimal(rng.choice([1980, 3600, 5800, 9800, 12800, 19800])),
                expected_close=(ctx.anchor + datetime.timedelta(days=rng.randint(-30, 90))).date(),
                lost_reason=rng.choice(["价格太高", "时间不合适", "选择了竞品"]) if stage.is_lost else "",
                created_at=created,
                stage_entered_at=entered,
                closed_at=entered if stage.is_closed else None,
            )
        )
        if len(opportunities) >= BATCH:
            _save_opportunities(opportunities)
            opportunities = []
    _save_opportunities(opportunities)

    followups = []
    for index in range(size["followups"]):
        customer_id, owner_id, department_id = owned[index if index < len(owned) else (index * 13) % len(owned)]
        # a working team: every owned customer was touched in the last three weeks, older
        # touches go back months
        at = (
            ctx.anchor - datetime.timedelta(days=rng.uniform(0.2, RECENT_TOUCH_DAYS))
            if index < len(owned)
            else ctx.moment(90 if ctx.size == "small" else 365)
        )
        followups.append(
            FollowUp(
                customer_id=customer_id,
                created_by_id=owner_id,
                department_id=department_id,
                channel=rng.choice([c for c, _ in FollowUp.Channel.choices]),
                direction=FollowUp.Direction.INBOUND if rng.random() < 0.2 else FollowUp.Direction.OUTBOUND,
                outcome=rng.choice([o for o, _ in FollowUp.Outcome.choices]),
                content=rng.choice(CONTENTS),
                at=at,
            )
        )
        if len(followups) >= BATCH:
            FollowUp.objects.bulk_create(followups)
            followups = []
    FollowUp.objects.bulk_create(followups)

    _reminders(ctx, owned, size["reminders"])
    _living_pool(ctx)
    _targets(ctx)
    _monthly_reports(ctx)
    _waiting_control_point(ctx)
    ctx.log(
        f"  sales: {size['leads']} leads, {size['opportunities']} opportunities, {size['followups']} follow-ups, "
        f"{size['reminders']} reminders"
    )


def _reminders(ctx, owned, count):
    """Reminders set over the last days: some overdue (up to two days), a few due today (one per
    rep, ``REMINDERS_DUE_TODAY`` in all), the rest over the next two weeks. The notices whose time has come
    were sent when it came (their rows are written), so nothing old goes out at start-up."""
    rng = ctx.rng
    now = timezone.now()
    today = timezone.localtime(ctx.anchor).replace(hour=0, minute=0, second=0, microsecond=0)
    tomorrow = today + datetime.timedelta(days=1)
    rows = []
    for index in range(count):
        customer_id, owner_id, _department_id = owned[(index * 11) % len(owned)]
        if rng.random() < 0.15:  # overdue: due in the two days before today
            due = today - datetime.timedelta(hours=rng.uniform(1, 47))
        else:
            due = tomorrow + datetime.timedelta(hours=rng.uniform(8, 24 * 13))
        rows.append((owner_id, customer_id, due, "回访客户"))
    by_owner = {}
    for customer_id, owner_id, _department_id in owned:
        by_owner.setdefault(owner_id, customer_id)
    for hour, rep in zip((14, 15, 16, 17)[:REMINDERS_DUE_TODAY], ctx.reps):
        if rep.pk in by_owner:
            rows.append(
                (rep.pk, by_owner[rep.pk], today + datetime.timedelta(hours=hour, minutes=30), "今天回访：确认试听时间")
            )
    offsets = parse_offsets(SalesSettings.current().reminder_offsets)
    escalate = SalesSettings.current().escalate_after_minutes
    reminders, notices = [], []
    for owner_id, customer_id, due, title in rows:
        set_at = min(due - datetime.timedelta(days=rng.uniform(2, 6)), now - datetime.timedelta(hours=1))
        reminder = Reminder(
            owner_id=owner_id, customer_id=customer_id, due_at=due, title=title, created_at=set_at, scheduled_at=set_at
        )
        schedule = _schedule(reminder, offsets, escalate)
        upcoming = [at for _o, at in schedule if at > now]
        reminder.next_notice_at = min(upcoming) if upcoming else None
        reminders.append(reminder)
        notices.append([(offset, at) for offset, at in schedule if at <= now])
        if len(reminders) >= BATCH:
            _save_reminders(reminders, notices)
            reminders, notices = [], []
    _save_reminders(reminders, notices)


def _save_reminders(reminders, notices):
    created = Reminder.objects.bulk_create(reminders)
    if created and created[0].pk is None:
        created = list(Reminder.objects.order_by("-id")[: len(reminders)])[::-1]
    ReminderNotice.objects.bulk_create(
        [
            ReminderNotice(reminder_id=reminder.pk, offset=offset, due_at=reminder.due_at, sent_at=at)
            for reminder, sent in zip(created, notices)
            for offset, at in sent
        ]
    )


def _living_pool(ctx):
    """A business that has been running: the last touch of every record is where its follow-ups
    say, prospects were taken over within the last months, and only a handful of records are at
    the pool's door on day one — ``STALE`` owned records whose owners were warned days ago (the
    first recycle run returns them), and ``DUE_SOON`` whose return date is two days away (the
    first run warns their owners). Everything else is protected for a week or more."""
    from django.db.models import Max, OuterRef, Subquery

    rng = ctx.rng
    anchor = ctx.anchor
    last_touch = FollowUp.objects.filter(customer=OuterRef("pk")).order_by().values("customer")
    Customer.objects.filter(followups__isnull=False).update(
        last_followup_at=Subquery(last_touch.annotate(last=Max("at")).values("last")[:1])
    )
    # prospects (never bought) were taken over within the last five months (before "no deal" is due)
    prospects = list(
        Customer.objects.filter(owner__isnull=False)
        .annotate(latest_deal=deals.latest_deal_at())
        .filter(latest_deal__isnull=True)
        .order_by("id")
        .values_list("pk", "created_at")
    )
    for pk, created in prospects:
        owned_since = max(created, anchor - datetime.timedelta(days=rng.uniform(25, 150)))
        Customer.objects.filter(pk=pk).update(owned_since=owned_since)
    # owned open leads: each touched lately (a follow-up row behind each touch)
    leads = list(
        Lead.objects.filter(owner__isnull=False, status__in=Lead.OPEN_STATUSES)
        .order_by("id")
        .values_list("pk", "owner_id", "department_id", "assigned_at")
    )
    touches = []
    for pk, owner_id, department_id, assigned in leads:
        at = max(assigned, anchor - datetime.timedelta(days=rng.uniform(0.2, RECENT_TOUCH_DAYS)))
        touches.append(
            FollowUp(
                lead_id=pk,
                created_by_id=owner_id,
                department_id=department_id,
                channel=FollowUp.Channel.PHONE,
                content=rng.choice(CONTENTS),
                at=at,
            )
        )
    for start in range(0, len(touches), BATCH):
        FollowUp.objects.bulk_create(touches[start : start + BATCH])
    lead_touch = FollowUp.objects.filter(lead=OuterRef("pk")).order_by().values("lead")
    Lead.objects.filter(followups__isnull=False).update(
        last_followup_at=Subquery(lead_touch.annotate(last=Max("at")).values("last")[:1])
    )

    rule = PoolRule.objects.first()
    stale_at = anchor - datetime.timedelta(days=rule.days_without_followup + 5)
    soon_at = anchor - datetime.timedelta(days=rule.days_without_followup - 2)
    with_opportunity = set(Opportunity.objects.values_list("customer_id", flat=True))
    candidates = [pk for pk, _created in prospects if pk not in with_opportunity]
    customer_picks = [("customer", pk) for pk in candidates[: STALE["customers"] + DUE_SOON["customers"]]]
    lead_picks = [("lead", pk) for pk, *_rest in leads[: STALE["leads"] + DUE_SOON["leads"]]]
    stale = set(customer_picks[: STALE["customers"]] + lead_picks[: STALE["leads"]])
    picks = customer_picks + lead_picks
    for kind, pk in picks:
        touched = stale_at if (kind, pk) in stale else soon_at
        model = Customer if kind == "customer" else Lead
        FollowUp.objects.filter(**{kind: pk}).filter(at__gt=touched).delete()
        FollowUp.objects.filter(**{kind: pk}).update(at=touched)
        record = model.objects.get(pk=pk)
        if not FollowUp.objects.filter(**{kind: pk}).exists():
            FollowUp.objects.create(
                **{kind: record},
                created_by_id=record.owner_id,
                department_id=record.department_id,
                content=rng.choice(CONTENTS),
                at=touched,
            )
        since = anchor - datetime.timedelta(days=rule.days_without_followup + 20)
        if kind == "customer":
            model.objects.filter(pk=pk).update(last_followup_at=touched, owned_since=since)
        else:
            model.objects.filter(pk=pk).update(
                last_followup_at=touched, assigned_at=since, created_at=min(record.created_at, since)
            )
        if (kind, pk) in stale:  # warned four days ago, as the job did then
            warned = anchor - datetime.timedelta(days=rule.warn_days + 1)
            PoolWarning.objects.create(
                owner_id=record.owner_id,
                deadline=timezone.localdate(warned + datetime.timedelta(days=rule.warn_days)),
                sent_at=warned,
                **{kind: record},
            )
    # a history behind the pool: some records came back earlier and were claimed again
    ctx.log(
        f"  pool: {len(stale)} records due back today (owners warned), "
        f"{len(picks) - len(stale)} due within days; {PoolMove.objects.count()} moves so far"
    )


def _waiting_control_point(ctx):
    """rep1 has asked for one control point, so his manager finds it waiting on day one."""
    rep = ctx.users.get("rep1")
    opportunity = (
        (
            Opportunity.objects.filter(owner=rep, closed_at__isnull=True)
            .exclude(stage__approval_role="")
            .order_by("id")
            .first()
        )
        if rep
        else None
    )
    if opportunity is not None:
        request_approval(actor=rep, opportunity=opportunity)


def _save_opportunities(batch):
    created = Opportunity.objects.bulk_create(batch)
    if created and created[0].pk is None:  # SQLite before returning ids: fetch them back
        created = list(Opportunity.objects.order_by("-id")[: len(batch)])[::-1]
    StageHistory.objects.bulk_create(
        [StageHistory(opportunity_id=o.pk, stage_id=o.stage_id, entered_at=o.stage_entered_at) for o in created]
    )


def _targets(ctx):
    """Monthly targets for every rep over the last 12 months and the next 2, so the performance
    dashboard has attainment to show."""
    scale = 1 if ctx.size == "small" else 40
    month = ctx.anchor.date().replace(day=1)
    starts = []
    for offset in range(-12, 3):
        year, index = divmod(month.month - 1 + offset, 12)
        starts.append(month.replace(year=month.year + year, month=index + 1))
    rows = []
    for rep in ctx.reps:
        for start in starts:
            rows.append(
                Target(
                    user=rep,
                    metric=Target.Metric.AMOUNT_WON,
                    start=start,
                    value=Decimal(ctx.rng.choice([20_000, 30_000, 40_000]) * scale),
                )
            )
            rows.append(
                Target(
                    user=rep,
                    metric=Target.Metric.FOLLOWUPS,
                    start=start,
                    value=Decimal(ctx.rng.choice([30, 40, 60]) * scale),
                )
            )
    Target.objects.bulk_create(rows, ignore_conflicts=True)


def _monthly_reports(ctx):
    """Last month's reports (月报) of the reps and the teams, as the beat made them on the 1st; two
    reps wrote their notes, and manager1 has read rep1's (the comment is left to the demo's user)."""
    last_month = ctx.anchor.date().replace(day=1) - datetime.timedelta(days=1)
    performance.generate_reports(kind=Report.Kind.MONTHLY, day=last_month)
    notes = {"rep1": "本月转化率提升，下月重点跟进试听课学员。", "rep2": "老客户转介绍 3 单，新线索跟进偏慢。"}
    for username, note in notes.items():
        report = Report.objects.filter(user=ctx.users[username], kind=Report.Kind.MONTHLY).first()
        if report is not None:
            performance.annotate_report(report=report, actor=ctx.users[username], note=note)
    report = Report.objects.filter(user=ctx.users["rep1"], kind=Report.Kind.MONTHLY).first()
    if report is not None and selectors.may_review(ctx.users["manager1"], report):
        performance.mark_report_read(report=report, actor=ctx.users["manager1"])
