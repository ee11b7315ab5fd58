"""Demo sales data: rules, stages, leads, opportunities, follow-ups and reminders (bulk inserts)."""
import datetime
from decimal import Decimal

from crm.demo import REGIONS
from customers.models import Customer

from .models import (AssignmentRule, FollowUp, Lead, Opportunity, OpportunityStage, PoolRule, Reminder,
                     ScoringRule, StageHistory)
from .services.leads import grade_of
from .services.opportunities import ensure_default_stages

SIZES = {
    "small": {"leads": 150, "opportunities": 40, "followups": 500, "reminders": 80},
    "large": {"leads": 50_000, "opportunities": 30_000, "followups": 300_000, "reminders": 100_000},
}
BATCH = 5000
NEEDS = ["想给孩子报数学提高班", "咨询少儿英语外教课", "暑假托管", "编程兴趣课试听", "钢琴一对一", "", ""]
CONTENTS = ["电话沟通了课程安排，家长比较关心师资", "微信发送了课程介绍和价格", "约了周六来校区试听",
            "家长说再考虑一下，下周回访", "没接电话", "到店参观，孩子很喜欢老师", "发了暑期班优惠信息"]


def _rules(ctx):
    for criterion, value, points in [("source", "referral", 30), ("source", "event", 25), ("source", "website", 10),
                                     ("has_mobile", "", 10), ("has_need", "", 20), ("has_region", "", 5),
                                     ("visits", "2", 15), ("events", "1", 20)]:
        ScoringRule.objects.create(criterion=criterion, value=value, points=points)
    AssignmentRule.objects.create(position=1, grade="A", team=ctx.departments["sales1_team1"])
    AssignmentRule.objects.create(position=2, region_contains="上海", team=ctx.departments["sales1_team2"])
    AssignmentRule.objects.create(position=3, team=ctx.departments["sales2"])
    ensure_default_stages()
    stages = list(OpportunityStage.objects.order_by("position"))
    for key in ("sales1", "sales2"):
        PoolRule.objects.create(department=ctx.departments[key], days_without_followup=30, days_without_deal=180,
                                exempt_stage=stages[2], warn_days=3, cap=300 if ctx.size == "small" else 50_000,
                                reclaim_cooldown_days=7)
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
        score = (10 + (20 if need else 0) + {"referral": 30, "event": 25, "website": 10}.get(source, 0)
                 + rng.choice([0, 0, 15, 20]))
        created = ctx.moment(60 if ctx.size == "small" else 365)
        leads.append(Lead(
            name=ctx.name(), mobile=ctx.mobile(1_000_000 + index), source=source, region=rng.choice(REGIONS),
            need=need, score=score, grade=grade_of(score), owner=owner,
            department=owner.department if owner else ctx.departments[rng.choice(["sales1", "sales2"])],
            status=rng.choice([Lead.Status.ASSIGNED, Lead.Status.CONTACTED, Lead.Status.QUALIFIED]) if owner
            else Lead.Status.NEW,
            assigned_at=created if owner else None, created_at=created,
            last_followup_at=created + datetime.timedelta(days=rng.uniform(0, 10)) if owner and rng.random() < .6
            else None,
        ))
        if len(leads) >= BATCH:
            Lead.objects.bulk_create(leads)
            leads = []
    Lead.objects.bulk_create(leads)

    owned = list(Customer.objects.filter(owner__isnull=False).order_by("id").values_list("id", "owner_id",
                                                                                          "owner__department_id"))
    if not owned:
        return
    opportunities = []
    for index in range(size["opportunities"]):
        customer_id, owner_id, department_id = owned[(index * 7) % len(owned)]
        stage = rng.choice(open_stages + [won, lost]) if rng.random() < 0.9 else rng.choice(open_stages)
        created = ctx.moment(120 if ctx.size == "small" else 365)
        entered = created + datetime.timedelta(days=rng.uniform(0, 20))
        opportunities.append(Opportunity(
            name=rng.choice(["数学提高班", "英语外教课", "暑期托管", "编程启蒙", "钢琴一对一"]) + f" #{index + 1}",
            customer_id=customer_id, owner_id=owner_id, department_id=department_id, stage=stage,
            amount=Decimal(rng.choice([1980, 3600, 5800, 9800, 12800, 19800])),
            expected_close=(ctx.anchor + datetime.timedelta(days=rng.randint(-30, 90))).date(),
            lost_reason=rng.choice(["价格太高", "时间不合适", "选择了竞品"]) if stage.is_lost else "",
            created_at=created, stage_entered_at=entered, closed_at=entered if stage.is_closed else None,
        ))
        if len(opportunities) >= BATCH:
            _save_opportunities(opportunities)
            opportunities = []
    _save_opportunities(opportunities)

    followups = []
    for index in range(size["followups"]):
        customer_id, owner_id, department_id = owned[(index * 13) % len(owned)]
        followups.append(FollowUp(
            customer_id=customer_id, created_by_id=owner_id, department_id=department_id,
            channel=rng.choice([c for c, _ in FollowUp.Channel.choices]),
            direction=FollowUp.Direction.INBOUND if rng.random() < 0.2 else FollowUp.Direction.OUTBOUND,
            outcome=rng.choice([o for o, _ in FollowUp.Outcome.choices]), content=rng.choice(CONTENTS),
            at=ctx.moment(90 if ctx.size == "small" else 365),
        ))
        if len(followups) >= BATCH:
            FollowUp.objects.bulk_create(followups)
            followups = []
    FollowUp.objects.bulk_create(followups)

    reminders = []
    for index in range(size["reminders"]):
        customer_id, owner_id, _department_id = owned[(index * 11) % len(owned)]
        due = ctx.anchor + datetime.timedelta(hours=rng.uniform(-48, 24 * 14))
        reminders.append(Reminder(
            owner_id=owner_id, customer_id=customer_id, due_at=due, title="回访客户",
            next_notice_at=due - datetime.timedelta(days=1),
            created_at=ctx.anchor - datetime.timedelta(days=3),
        ))
        if len(reminders) >= BATCH:
            Reminder.objects.bulk_create(reminders)
            reminders = []
    Reminder.objects.bulk_create(reminders)
    _targets(ctx)
    ctx.log(f"  sales: {size['leads']} leads, {size['opportunities']} opportunities, {size['followups']} follow-ups, "
            f"{size['reminders']} reminders")


def _save_opportunities(batch):
    created = Opportunity.objects.bulk_create(batch)
    if created and created[0].pk is None:  # SQLite before returning ids: fetch them back
        created = list(Opportunity.objects.order_by("-id")[:len(batch)])[::-1]
    StageHistory.objects.bulk_create([StageHistory(opportunity_id=o.pk, stage_id=o.stage_id, entered_at=o.stage_entered_at)
                                      for o in created])


def _targets(ctx):
    """Monthly targets for every rep over the last 12 months and the next 2, so the performance
    dashboard has attainment to show."""
    from .models import Target

    scale = 1 if ctx.size == "small" else 40
    month = ctx.anchor.date().replace(day=1)
    starts = []
    for offset in range(-12, 3):
        year, index = divmod(month.month - 1 + offset, 12)
        starts.append(month.replace(year=month.year + year, month=index + 1))
    rows = []
    for rep in ctx.reps:
        for start in starts:
            rows.append(Target(user=rep, metric=Target.Metric.AMOUNT_WON, start=start,
                               value=Decimal(ctx.rng.choice([20_000, 30_000, 40_000]) * scale)))
            rows.append(Target(user=rep, metric=Target.Metric.FOLLOWUPS, start=start,
                               value=Decimal(ctx.rng.choice([30, 40, 60]) * scale)))
    Target.objects.bulk_create(rows, ignore_conflicts=True)
