"""The figures of the managers' sales dashboards (issue 7): the funnel, the pipeline, the forecast,
won and lost, activity against results and stuck opportunities; attainment against targets, the
leaderboard and the monthly trend.

Every figure starts from ``crm.permissions.visible`` (the viewer's data scope) and is narrowed by
the dashboard's filters (``Filters``). Each section is one or two grouped aggregate queries on
indexed columns, so the number of queries does not grow with the data.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import (
    Avg,
    Case,
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    Sum,
    Value,
    When,
)
from django.db.models.functions import TruncDate, TruncMonth
from django.utils import timezone

from crm import permissions
from crm.models import DataScope, Department, Role, User
from customers.models import Customer

from .. import metrics
from ..models import FollowUp, Lead, Opportunity, OpportunityStage, StageHistory, Target

CENT = Decimal("0.01")
ZERO = Decimal("0")
WIN_RATE_DAYS = 365  # the owner's historical win rate: won / closed over the last 12 months
FORECAST_MONTHS = 3
STUCK_DAYS = 30
STUCK_LIST = 20


def day_start(day):
    """00:00 local time of ``day`` (aware)."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def add_months(day, months):
    month = day.month - 1 + months
    return datetime.date(day.year + month // 12, month % 12 + 1, 1)


def rate(part, whole, places=1):
    """``part`` / ``whole`` in percent, or None when there is nothing to divide by."""
    if not whole:
        return None
    return round(float(part) * 100 / float(whole), places)


@dataclass
class Filters:
    """The dashboard's narrowing: a period [since, until] (dates, inclusive), a department (and the
    ones below it), an owner and a channel (the lead / customer source)."""

    since: datetime.date
    until: datetime.date
    department: Department | None = None
    owner: User | None = None
    source: str = ""
    stuck_days: int = STUCK_DAYS
    now: datetime.datetime = field(default_factory=timezone.now)

    @property
    def lo(self):
        return day_start(self.since)

    @property
    def hi(self):
        return day_start(self.until + datetime.timedelta(days=1))

    @property
    def days(self):
        """Days of the period up to today (at least one): the divisor of "per day"."""
        end = min(self.until, timezone.localdate(self.now))
        return max((end - self.since).days + 1, 1)


# --- scoped querysets -------------------------------------------------------------------------


def _scoped(user, model, filters, *, owner="owner_id", source=None):
    """The one narrowing of every dashboard figure: the viewer's scope (``permissions.visible``),
    then the department (and below), the owner (``owner``: the field naming the person) and the
    channel (``source``: a function of the channel code giving the ``Q``; None: not narrowed)."""
    qs = permissions.visible(user, model.objects.all())
    if filters.department is not None:
        qs = qs.filter(department__path__startswith=filters.department.path)
    if filters.owner is not None:
        qs = qs.filter(**{owner: filters.owner.pk})
    if source is not None and filters.source:
        qs = qs.filter(source(filters.source))
    return qs.order_by()


def opportunities(user, filters, *, channel=True):
    return _scoped(user, Opportunity, filters, source=(lambda code: Q(customer__source=code)) if channel else None)


def leads(user, filters):
    return _scoped(user, Lead, filters, source=lambda code: Q(source=code))


def followups(user, filters):
    return _scoped(
        user,
        FollowUp,
        filters,
        owner="created_by_id",
        source=lambda code: Q(customer__source=code) | Q(lead__source=code),
    )


def customers(user, filters):
    return _scoped(user, Customer, filters, source=lambda code: Q(source=code))


def _users(ids):
    return {u.pk: u for u in User.objects.filter(pk__in=sorted(ids)).select_related("department")} if ids else {}


# --- the sales dashboard ------------------------------------------------------------------------


def funnel(user, filters):
    """The leads created in the period, followed through: qualified (or further) → converted → of
    those converted, the ones with an opportunity → of those, the ones with a won opportunity. Each
    step is a subset of the one before, so its conversion (against the step before) is at most 100%.
    Opportunities opened in the period (also without a lead) are counted beside the funnel, as counts."""
    cohort = leads(user, filters).filter(created_at__gte=filters.lo, created_at__lt=filters.hi)
    with_opportunity = Opportunity.objects.filter(lead_id=OuterRef("pk"))
    lead_figures = cohort.annotate(
        has_opportunity=Exists(with_opportunity),
        has_won=Exists(with_opportunity.filter(stage__is_won=True)),
    ).aggregate(
        total=Count("id"),
        qualified=Count("id", filter=Q(status__in=[Lead.Status.QUALIFIED, Lead.Status.CONVERTED])),
        converted=Count("id", filter=Q(status=Lead.Status.CONVERTED)),
        opportunities=Count("id", filter=Q(status=Lead.Status.CONVERTED, has_opportunity=True)),
        won=Count("id", filter=Q(status=Lead.Status.CONVERTED, has_won=True)),
    )
    opp_figures = (
        opportunities(user, filters)
        .filter(created_at__gte=filters.lo, created_at__lt=filters.hi)
        .aggregate(
            opened=Count("id"),
            won=Count("id", filter=Q(stage__is_won=True)),
            won_amount=Sum("amount", filter=Q(stage__is_won=True)),
        )
    )
    steps = [(key, lead_figures[key]) for key in ("total", "qualified", "converted", "opportunities", "won")]
    rows, previous = [], None
    for key, count in steps:
        rows.append(
            {
                "key": "leads" if key == "total" else key,
                "count": count,
                "rate": rate(count, previous) if previous is not None else None,
            }
        )
        previous = count
    return {
        "steps": rows,
        "won_amount": opp_figures["won_amount"] or ZERO,
        "opened": opp_figures["opened"],
        "opened_won": opp_figures["won"],
        "overall": rate(lead_figures["won"], lead_figures["total"]),
    }


def stage_times(user, filters, stages):
    """Average time spent in each stage, over the stays that ended in the period (from the stage
    history of the opportunities in scope)."""
    duration = ExpressionWrapper(F("left_at") - F("entered_at"), output_field=DurationField())
    # a stay cannot last less than nothing: rows whose end was written before their start (a
    # back-dated move, clocks of two servers) count as a stay of 0 days, never as negative time
    duration = Case(
        When(left_at__lt=F("entered_at"), then=Value(datetime.timedelta(0))),
        default=duration,
        output_field=DurationField(),
    )
    rows = (
        StageHistory.objects.filter(
            opportunity__in=opportunities(user, filters).values("pk"), left_at__gte=filters.lo, left_at__lt=filters.hi
        )
        .order_by()
        .values("stage_id")
        .annotate(n=Count("id"), avg=Avg(duration))
    )
    by_stage = {row["stage_id"]: row for row in rows}
    result = []
    for stage in stages:
        if stage.is_closed:
            continue
        row = by_stage.get(stage.pk, {})
        avg = row.get("avg")
        result.append(
            {
                "stage": stage,
                "stays": row.get("n", 0),
                "avg_days": round(avg.total_seconds() / 86400, 1) if avg is not None else None,
            }
        )
    return result


def _weighted(amount_with_prob, amount_default, stage_probability):
    """amount × probability / 100 summed: the opportunities with their own probability give
    Σ amount × probability; the others take the stage's."""
    total = (amount_with_prob or ZERO) + (amount_default or ZERO) * stage_probability
    return (total / 100).quantize(CENT)


def pipeline(user, filters, stages):
    """The open opportunities (now) by stage and by owner: count, amount, stage-weighted amount."""
    open_ids = [s.pk for s in stages if not s.is_closed]
    probability = {s.pk: s.probability for s in stages}
    rows = list(
        opportunities(user, filters)
        .filter(stage_id__in=open_ids)
        .values("stage_id", "owner_id")
        .annotate(
            n=Count("id"),
            total=Sum("amount"),
            with_prob=Sum(F("amount") * F("probability")),
            default=Sum("amount", filter=Q(probability__isnull=True)),
        )
    )
    by_stage, by_owner = {}, {}
    for row in rows:
        weighted = _weighted(row["with_prob"], row["default"], probability[row["stage_id"]])
        for key, bucket in ((row["stage_id"], by_stage), (row["owner_id"], by_owner)):
            entry = bucket.setdefault(key, {"count": 0, "amount": ZERO, "weighted": ZERO})
            entry["count"] += row["n"]
            entry["amount"] += row["total"] or ZERO
            entry["weighted"] += weighted
    users = _users(by_owner)
    stage_rows = [
        {"stage": s, **by_stage.get(s.pk, {"count": 0, "amount": ZERO, "weighted": ZERO})}
        for s in stages
        if not s.is_closed
    ]
    owner_rows = sorted(
        ({"owner": users[pk], **figures} for pk, figures in by_owner.items() if pk in users),
        key=lambda r: (-r["amount"], r["owner"].username),
    )
    total = {
        "count": sum(r["count"] for r in stage_rows),
        "amount": sum((r["amount"] for r in stage_rows), ZERO),
        "weighted": sum((r["weighted"] for r in stage_rows), ZERO),
    }
    return {"stages": stage_rows, "owners": owner_rows, "total": total}


def win_rates(user, filters, stages):
    """Per owner: won / closed over the last 12 months (and the whole scope's rate, used for
    owners without a closed deal)."""
    won_ids = [s.pk for s in stages if s.is_won]
    closed_ids = [s.pk for s in stages if s.is_closed]
    rows = (
        opportunities(user, filters)
        .filter(
            stage_id__in=closed_ids,
            closed_at__gte=filters.now - datetime.timedelta(days=WIN_RATE_DAYS),
            closed_at__lt=filters.now,
        )
        .values("owner_id")
        .annotate(closed=Count("id"), won=Count("id", filter=Q(stage_id__in=won_ids)))
    )
    per_owner = {row["owner_id"]: (row["won"], row["closed"]) for row in rows}
    won = sum(w for w, _c in per_owner.values())
    closed = sum(c for _w, c in per_owner.values())
    overall = Decimal(won) / Decimal(closed) if closed else ZERO
    return {pk: Decimal(w) / Decimal(c) for pk, (w, c) in per_owner.items()}, overall, per_owner


def forecast(user, filters, stages):
    """The open opportunities expected to close in each of the coming months (this month first),
    weighted two ways: by the stage's (or the opportunity's own) probability, and by the owner's
    historical win rate."""
    first = timezone.localdate(filters.now).replace(day=1)
    months = [add_months(first, i) for i in range(FORECAST_MONTHS)]
    end = add_months(first, FORECAST_MONTHS)
    open_ids = [s.pk for s in stages if not s.is_closed]
    probability = {s.pk: s.probability for s in stages}
    rates, overall, history = win_rates(user, filters, stages)
    rows = (
        opportunities(user, filters)
        .filter(stage_id__in=open_ids, expected_close__gte=first, expected_close__lt=end)
        .annotate(month=TruncMonth("expected_close"))
        .values("month", "owner_id", "stage_id")
        .annotate(
            n=Count("id"),
            total=Sum("amount"),
            with_prob=Sum(F("amount") * F("probability")),
            default=Sum("amount", filter=Q(probability__isnull=True)),
        )
    )
    by_month = {m: {"month": m, "count": 0, "amount": ZERO, "by_stage": ZERO, "by_win_rate": ZERO} for m in months}
    owners = {}
    for row in rows:
        month = row["month"]
        if isinstance(month, datetime.datetime):
            month = month.date()
        entry = by_month[month]
        amount = row["total"] or ZERO
        entry["count"] += row["n"]
        entry["amount"] += amount
        entry["by_stage"] += _weighted(row["with_prob"], row["default"], probability[row["stage_id"]])
        entry["by_win_rate"] += (amount * rates.get(row["owner_id"], overall)).quantize(CENT)
        owners.setdefault(row["owner_id"], None)
    result = []
    for month in months:
        entry = by_month[month]
        entry["end"] = add_months(month, 1) - datetime.timedelta(days=1)
        result.append(entry)
    users = _users(set(history) | set(owners))
    rate_rows = sorted(
        (
            {"owner": users[pk], "won": w, "closed": c, "rate": rate(w, c)}
            for pk, (w, c) in history.items()
            if pk in users
        ),
        key=lambda r: r["owner"].username,
    )
    total = {key: sum((m[key] for m in result), ZERO) for key in ("amount", "by_stage", "by_win_rate")}
    total["count"] = sum(m["count"] for m in result)
    return {"months": result, "total": total, "rates": rate_rows, "overall_rate": round(float(overall) * 100, 1)}


def closed_in_period(user, filters, stages):
    """Won and lost in the period (by close time), the lost reasons, and won per owner — one
    grouped query."""
    won_ids = {s.pk for s in stages if s.is_won}
    closed_ids = [s.pk for s in stages if s.is_closed]
    rows = list(
        opportunities(user, filters)
        .filter(stage_id__in=closed_ids, closed_at__gte=filters.lo, closed_at__lt=filters.hi)
        .values("owner_id", "stage_id", "lost_reason")
        .annotate(n=Count("id"), amount=Sum("amount"))
    )
    won = {"count": 0, "amount": ZERO}
    lost = {"count": 0, "amount": ZERO}
    reasons, won_by_owner = {}, {}
    for row in rows:
        amount = row["amount"] or ZERO
        if row["stage_id"] in won_ids:
            won["count"] += row["n"]
            won["amount"] += amount
            entry = won_by_owner.setdefault(row["owner_id"], {"count": 0, "amount": ZERO})
        else:
            lost["count"] += row["n"]
            lost["amount"] += amount
            entry = reasons.setdefault(row["lost_reason"], {"reason": row["lost_reason"], "count": 0, "amount": ZERO})
        entry["count"] += row["n"]
        entry["amount"] += amount
    reason_rows = sorted(reasons.values(), key=lambda r: (-r["count"], r["reason"]))
    for row in reason_rows:
        row["share"] = rate(row["count"], lost["count"])
    return {
        "won": won,
        "lost": lost,
        "win_rate": rate(won["count"], won["count"] + lost["count"]),
        "reasons": reason_rows,
        "won_by_owner": won_by_owner,
    }


def activity(user, filters, won_by_owner):
    """Follow-ups per rep (and per day of the period) against what was won in the period; and the
    follow-ups of each day."""
    base = followups(user, filters).filter(at__gte=filters.lo, at__lt=filters.hi)
    per_user, daily = {}, {}
    # one pass: per rep and local day
    for row in base.annotate(day=TruncDate("at")).values("created_by_id", "day").annotate(n=Count("id")):
        per_user[row["created_by_id"]] = per_user.get(row["created_by_id"], 0) + row["n"]
        daily[row["day"]] = daily.get(row["day"], 0) + row["n"]
    users = _users(set(per_user) | set(won_by_owner))
    rows = []
    for pk, user_ in users.items():
        touches = per_user.get(pk, 0)
        won = won_by_owner.get(pk, {"count": 0, "amount": ZERO})
        rows.append(
            {
                "user": user_,
                "followups": touches,
                "per_day": round(touches / filters.days, 1),
                "won_count": won["count"],
                "won_amount": won["amount"],
                "amount_per_followup": (won["amount"] / touches).quantize(CENT) if touches else None,
            }
        )
    rows.sort(key=lambda r: (-r["followups"], r["user"].username))
    days = []
    day = filters.since
    last = min(filters.until, timezone.localdate(filters.now))
    while day <= last:
        days.append({"day": day, "followups": daily.get(day, 0)})
        day += datetime.timedelta(days=1)
    return {
        "rows": rows,
        "days": days,
        "total": sum(per_user.values()),
        "per_day": round(sum(per_user.values()) / filters.days, 1),
    }


def stuck(user, filters, stages):
    """Open opportunities whose stage has not changed for ``filters.stuck_days`` days: the count
    and the oldest ones."""
    open_ids = [s.pk for s in stages if not s.is_closed]
    qs = opportunities(user, filters).filter(
        stage_id__in=open_ids, stage_entered_at__lt=filters.now - datetime.timedelta(days=filters.stuck_days)
    )
    figures = qs.aggregate(n=Count("id"), amount=Sum("amount"))
    # the oldest ids first (from the stage/age indexes), then their rows with customer and owner
    ids = list(qs.order_by("stage_entered_at", "id").values_list("pk", flat=True)[:STUCK_LIST])
    items = (
        list(
            Opportunity.objects.filter(pk__in=ids)
            .select_related("customer", "owner", "stage")
            .order_by("stage_entered_at", "id")
        )
        if ids
        else []
    )
    for item in items:
        item.days_in_stage = max((filters.now - item.stage_entered_at).days, 0)
    return {"count": figures["n"], "amount": figures["amount"] or ZERO, "items": items, "days": filters.stuck_days}


def sales_dashboard(user, filters):
    stages = list(OpportunityStage.objects.order_by("position", "id"))
    closed = closed_in_period(user, filters, stages)
    return {
        "stages": stages,
        "funnel": funnel(user, filters),
        "stage_times": stage_times(user, filters, stages),
        "pipeline": pipeline(user, filters, stages),
        "forecast": forecast(user, filters, stages),
        "closed": closed,
        "activity": activity(user, filters, closed["won_by_owner"]),
        "stuck": stuck(user, filters, stages),
    }


# --- performance against targets ---------------------------------------------------------------

MONTH, QUARTER, YEAR = "month", "quarter", "year"


def span(granularity, day):
    """[first day, first day after) of the month, quarter or year containing ``day``."""
    if granularity == YEAR:
        return datetime.date(day.year, 1, 1), datetime.date(day.year + 1, 1, 1)
    if granularity == QUARTER:
        start = datetime.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
        return start, add_months(start, 3)
    start = day.replace(day=1)
    return start, add_months(start, 1)


def _year_back(day):
    return day.replace(year=day.year - 1)


def monthly_actuals(user, filters, metric, start, end):
    """{(owner id, first day of month): value} of ``metric`` in [start, end) — one grouped query."""
    lo, hi = day_start(start), day_start(end)
    source = metrics.current_source() if metric == Target.Metric.AMOUNT_WON else None
    if source is not None and source.fn is not None:  # signed or collected amounts (目标口径)
        owner_ids = [rep.pk for rep in scope_reps(user, filters)]
        found = source.fn(owner_ids, start, end, by_month=True, channel=filters.source)
        return {key: value or 0 for key, value in found.items()}
    if metric in (Target.Metric.AMOUNT_WON, Target.Metric.DEALS_WON):
        won_ids = list(OpportunityStage.objects.filter(is_won=True).values_list("pk", flat=True))
        qs = (
            opportunities(user, filters)
            .filter(stage_id__in=won_ids, closed_at__gte=lo, closed_at__lt=hi)
            .annotate(month=TruncMonth("closed_at"))
            .values("owner_id", "month")
        )
        value = Sum("amount") if metric == Target.Metric.AMOUNT_WON else Count("id")
        owner = "owner_id"
    elif metric == Target.Metric.NEW_CUSTOMERS:
        qs = (
            customers(user, filters)
            .filter(created_at__gte=lo, created_at__lt=hi)
            .annotate(month=TruncMonth("created_at"))
            .values("owner_id", "month")
        )
        value, owner = Count("id"), "owner_id"
    else:
        qs = (
            followups(user, filters)
            .filter(at__gte=lo, at__lt=hi)
            .annotate(month=TruncMonth("at"))
            .values("created_by_id", "month")
        )
        value, owner = Count("id"), "created_by_id"
    result = {}
    for row in qs.annotate(value=value):
        month = row["month"]
        if isinstance(month, datetime.datetime):
            month = timezone.localtime(month).date() if timezone.is_aware(month) else month.date()
        result[(row[owner], month)] = row["value"] or 0
    return result


def _sum_span(actuals, owner_ids, start, end):
    total = 0
    for (owner_id, month), value in actuals.items():
        if owner_id in owner_ids and start <= month < end:
            total += value
    return total


def _target_in(targets, holder, start, end, granularity):
    """The holder's target for [start, end): the month's target; for a quarter its quarterly
    target, or else the sum of its monthly ones; for a year the same per quarter, summed."""
    months, quarters = targets.get(("month", holder), {}), targets.get(("quarter", holder), {})
    if granularity == MONTH:
        return months.get(start)
    total, found = ZERO, False
    quarter = start
    while quarter < end:
        if quarter in quarters:
            total += quarters[quarter]
            found = True
        else:
            parts = [months[m] for m in (quarter, add_months(quarter, 1), add_months(quarter, 2)) if m in months]
            if parts:
                total += sum(parts, ZERO)
                found = True
        quarter = add_months(quarter, 3)
    return total if found else None


def scope_reps(user, filters):
    """The active reps whose figures the viewer may see (narrowed by department / rep)."""
    reps = User.objects.filter(is_active=True, is_service=False, role=Role.REP).select_related("department")
    scope = permissions.effective_scope(user)
    if scope == DataScope.SELF:
        reps = reps.filter(pk=user.pk)
    elif scope != DataScope.ALL:
        reps = reps.filter(department_id__in=sorted(permissions.scope_department_ids(user)))
    if filters.department is not None:
        reps = reps.filter(department__path__startswith=filters.department.path)
    if filters.owner is not None:
        reps = reps.filter(pk=filters.owner.pk)
    return list(reps.order_by("username"))


def scope_departments(user, filters):
    """Departments and teams of the viewer's scope (none for a rep), narrowed by the department filter."""
    scope = permissions.effective_scope(user)
    if scope == DataScope.SELF or filters.owner is not None:
        return []
    departments = Department.objects.filter(kind__in=[Department.Kind.DEPARTMENT, Department.Kind.TEAM])
    if scope != DataScope.ALL:
        departments = departments.filter(pk__in=sorted(permissions.scope_department_ids(user)))
    if filters.department is not None:
        departments = departments.filter(path__startswith=filters.department.path)
    return list(departments.order_by("path"))


def performance(user, filters, *, granularity, anchor, metric):
    """Attainment per rep (the leaderboard), per team and department; the same period last year;
    the monthly trend of the anchor's year against last year and the targets."""
    start, end = span(granularity, anchor)
    ly_start, ly_end = _year_back(start), _year_back(end)
    year_start = datetime.date(anchor.year, 1, 1)
    year_end = datetime.date(anchor.year + 1, 1, 1)
    reps = scope_reps(user, filters)
    departments = scope_departments(user, filters)
    # one query: every month of this year and last year, per owner
    actuals = monthly_actuals(user, filters, metric, _year_back(year_start), year_end)
    owner_ids = {owner_id for owner_id, _m in actuals if owner_id is not None}
    owner_paths = (
        {
            u.pk: (u.department.path if u.department_id else "")
            for u in User.objects.filter(pk__in=sorted(owner_ids)).select_related("department")
        }
        if departments
        else {}
    )
    targets = {}
    for target in Target.objects.filter(
        Q(user__in=[r.pk for r in reps]) | Q(department__in=[d.pk for d in departments]),
        metric=metric,
        start__gte=year_start,
        start__lt=year_end,
    ):
        holder = ("user", target.user_id) if target.user_id else ("department", target.department_id)
        targets.setdefault((target.period, holder), {})[target.start] = target.value

    def row(holder, ids, **extra):
        value = _sum_span(actuals, ids, start, end)
        last_year = _sum_span(actuals, ids, ly_start, ly_end)
        target = _target_in(targets, holder, start, end, granularity)
        return {
            **extra,
            "value": value,
            "target": target,
            "attainment": rate(value, target),
            "last_year": last_year,
            "change": rate(value - last_year, last_year) if last_year else None,
        }

    rep_rows = [row(("user", rep.pk), {rep.pk}, user=rep) for rep in reps]
    rep_rows.sort(
        key=lambda r: (r["attainment"] is None, -(r["attainment"] or 0), -float(r["value"]), r["user"].username)
    )
    for rank, item in enumerate(rep_rows, 1):
        item["rank"] = rank
    dept_rows = []
    for department in departments:
        ids = {pk for pk, path in owner_paths.items() if path.startswith(department.path)}
        dept_rows.append(row(("department", department.pk), ids, department=department))
    # the trend: every month of the year, all owners in scope (or the reps chosen)
    if filters.owner is not None:
        trend_ids = {filters.owner.pk}
    else:
        trend_ids = owner_ids
    trend = []
    rep_ids = [r.pk for r in reps]
    for i in range(12):
        month = add_months(year_start, i)
        month_targets = [targets.get(("month", ("user", pk)), {}).get(month) for pk in rep_ids]
        month_targets = [t for t in month_targets if t is not None]
        trend.append(
            {
                "month": month,
                "end": add_months(month, 1) - datetime.timedelta(days=1),
                "value": _sum_span(actuals, trend_ids, month, add_months(month, 1)),
                "last_year": _sum_span(actuals, trend_ids, _year_back(month), _year_back(add_months(month, 1))),
                "target": sum(month_targets, ZERO) if month_targets else None,
            }
        )
    total_value = sum((r["value"] for r in rep_rows), 0)
    total_target = [r["target"] for r in rep_rows if r["target"] is not None]
    total_last = sum((r["last_year"] for r in rep_rows), 0)
    totals = {
        "value": total_value,
        "target": sum(total_target, ZERO) if total_target else None,
        "last_year": total_last,
    }
    totals["attainment"] = rate(total_value, totals["target"])
    totals["change"] = rate(total_value - total_last, total_last) if total_last else None
    return {
        "start": start,
        "end": end,
        "last": end - datetime.timedelta(days=1),
        "ly_start": ly_start,
        "ly_end": ly_end,
        "reps": rep_rows,
        "departments": dept_rows,
        "trend": trend,
        "totals": totals,
    }
