"""Dashboards as managers see them, against a recount from the raw rows.

For each viewer the dashboards are built the way their pages build them (the page's filter form
with nothing chosen, then the dashboard service or selector). The same figures are then recounted
here from plain ``.values()`` reads of the tables, narrowed to the viewer's data scope by this
module's own reading of the scope rule (README: a rep sees what they own; "own department" adds
the department's records; "department and below" the departments under it; "everything" all).

Recounted: the sales dashboard (funnel, days per stage, pipeline, forecast counts and amounts,
owners' win rates, won and lost, follow-ups, stuck deals), performance (each rep's value for
amount won and follow-ups), the customer overview (stages, revenue, every month of the period:
new customers, buyers, orders, revenue, first buyers, repeaters, active / at risk / churned, the
cohort cells, the 80/20 totals, lifecycle flows) and the coupons dashboard (each budget account's
used, reserved, GMV and balance; claimed, redeemed, redemptions, subsidy and GMV per batch and in
total; each campaign's reach and cost). Every percentage shown (rates and shares, not attainment
or growth, which may pass 100) is checked to be within 0–100, and every duration to be ≥ 0.
"""

import datetime
from collections import defaultdict
from decimal import Decimal

from django.utils import timezone

from .invariants import Violation

ZERO = Decimal("0")
CENT = Decimal("0.01")
#: keys whose numbers are percentages of a whole (≤ 100)
PERCENT_KEYS = {
    "rate",
    "overall",
    "win_rate",
    "share",
    "overall_rate",
    "customer_share",
    "revenue_share",
    "repurchase_rate",
    "top_share",
    "claim_rate",
    "redemption_rate",
    "used_share",
}
#: keys whose numbers are durations (≥ 0)
DURATION_KEYS = {"avg_days", "days_in_stage", "median_interval_days"}


class Scope:
    """Which owner/department pairs ``username`` may see (this module's own reading of the rule)."""

    def __init__(self, org, user):
        self.user_id = user["id"]
        scope = "all" if user["is_superuser"] else user["data_scope"]
        self.all = scope == "all"
        departments = set()
        home = org.departments.get(user["department_id"])
        if scope == "department" and home:
            departments = {home["id"]}
        elif scope == "tree" and home:
            departments = {d["id"] for d in org.departments.values() if d["path"].startswith(home["path"])}
        self.departments = departments

    def sees(self, owner_id, department_id):
        return self.all or owner_id == self.user_id or department_id in self.departments


def local_day(moment):
    return timezone.localtime(moment).date()


def day_start(day):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def add_months(day, months):
    index = day.year * 12 + day.month - 1 + months
    return datetime.date(index // 12, index % 12 + 1, 1)


def pct(part, whole, places=1):
    if not whole:
        return None
    return round(float(part) * 100 / float(whole), places)


class Report:
    """Collects the mismatches of one dashboard of one viewer."""

    def __init__(self, page, viewer, period):
        self.where = f"{page} of {viewer} ({period})"
        self.found = []

    def same(self, label, shown, counted, tolerance=None):
        if shown is None and counted is None:
            return
        if tolerance is not None and shown is not None and counted is not None:
            if abs(Decimal(str(shown)) - Decimal(str(counted))) <= Decimal(str(tolerance)):
                return
        elif _normal(shown) == _normal(counted):
            return
        self.found.append(
            Violation(
                "dashboard_recount",
                f"{self.where}: {label}",
                f"shows {_show(shown)}, the raw rows give {_show(counted)}",
            )
        )

    def walk(self, data, path="", depth=0):
        """Every percentage within 0–100 and every duration ≥ 0, wherever it sits in the data."""
        if depth > 6:
            return
        if isinstance(data, dict):
            for key, value in data.items():
                label = f"{path}.{key}" if path else str(key)
                if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
                    if key in PERCENT_KEYS and not 0 <= value <= 100:
                        self.found.append(
                            Violation("percent_at_most_100", f"{self.where}: {_label(data, label)}", f"shows {value}%")
                        )
                    if key in DURATION_KEYS and value < 0:
                        self.found.append(
                            Violation(
                                "no_negative_duration", f"{self.where}: {_label(data, label)}", f"shows {value} days"
                            )
                        )
                else:
                    self.walk(value, label, depth + 1)
        elif isinstance(data, (list, tuple)):
            for index, item in enumerate(data):
                self.walk(item, f"{path}[{index}]", depth + 1)
        elif hasattr(data, "days_in_stage") and data.days_in_stage is not None and data.days_in_stage < 0:
            self.found.append(
                Violation(
                    "no_negative_duration",
                    f"{self.where}: {path} (opportunity {data.pk})",
                    f"shows {data.days_in_stage} days in stage",
                )
            )


def _label(row, label):
    for key in ("key", "stage", "label", "code", "department", "reason", "month", "cohort", "owner", "user"):
        if key in row and row[key] not in (None, ""):
            return f"{label} [{key} {row[key]}]"
    return label


def _normal(value):
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    if isinstance(value, Decimal):
        return value.normalize() if value == value.to_integral() else value
    return value


def _show(value):
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    return str(value)


def _users(org, viewers):
    by_name = {u["username"]: u for u in org.users.values()}
    return [by_name[name] for name in viewers if name in by_name]


# --- sales ------------------------------------------------------------------------------------------


def _sales_rows(scope):
    from sales.models import FollowUp, Lead, Opportunity, OpportunityStage, StageHistory

    stages = {
        s["id"]: s
        for s in OpportunityStage.objects.values("id", "name", "position", "probability", "is_won", "is_lost")
    }
    opps = [
        o
        for o in Opportunity.objects.values(
            "id",
            "owner_id",
            "department_id",
            "stage_id",
            "amount",
            "probability",
            "created_at",
            "closed_at",
            "stage_entered_at",
            "expected_close",
            "lost_reason",
        )
        if scope.sees(o["owner_id"], o["department_id"])
    ]
    leads = [
        lead
        for lead in Lead.objects.values("id", "owner_id", "department_id", "status", "created_at")
        if scope.sees(lead["owner_id"], lead["department_id"])
    ]
    followups = [
        f
        for f in FollowUp.objects.values("id", "created_by_id", "department_id", "at")
        if scope.sees(f["created_by_id"], f["department_id"])
    ]
    ids = {o["id"] for o in opps}
    stays = [
        s
        for s in StageHistory.objects.values("opportunity_id", "stage_id", "entered_at", "left_at")
        if s["opportunity_id"] in ids
    ]
    return stages, opps, leads, followups, stays


def check_sales(org, user, now):
    from crm.models import User
    from sales.forms.dashboard import DashboardFilterForm, PerformanceFilterForm
    from sales.services import dashboard as service

    viewer = User.objects.get(pk=user["id"])
    f = DashboardFilterForm(None, user=viewer).filters()
    data = service.sales_dashboard(viewer, f)
    report = Report("sales dashboard", user["username"], f"{f.since} … {f.until}")
    report.walk({key: value for key, value in data.items() if key != "stages"})
    scope = Scope(org, user)
    stages, opps, leads, followups, stays = _sales_rows(scope)
    lo, hi = f.lo, f.hi

    # funnel: the leads created in the period followed through (each step a part of the one before);
    # the opportunities opened in the period are counted beside it
    from sales.models import Opportunity

    period_leads = [x for x in leads if lo <= x["created_at"] < hi]
    period_opps = [o for o in opps if lo <= o["created_at"] < hi]
    won_opps = [o for o in period_opps if stages[o["stage_id"]]["is_won"]]
    lead_opps = defaultdict(list)
    for lead_id, stage_id in Opportunity.objects.filter(lead_id__isnull=False).values_list("lead_id", "stage_id"):
        lead_opps[lead_id].append(stage_id)
    converted = [x for x in period_leads if x["status"] == "converted"]
    counts = {
        "leads": len(period_leads),
        "qualified": sum(x["status"] in ("qualified", "converted") for x in period_leads),
        "converted": len(converted),
        "opportunities": sum(bool(lead_opps[x["id"]]) for x in converted),
        "won": sum(any(stages[s]["is_won"] for s in lead_opps[x["id"]]) for x in converted),
    }
    report.same("opportunities opened", data["funnel"]["opened"], len(period_opps))
    report.same("opportunities opened and won", data["funnel"]["opened_won"], len(won_opps))
    previous = None
    for step in data["funnel"]["steps"]:
        if step["key"] in counts:
            report.same(f"funnel step {step['key']}", step["count"], counts[step["key"]])
        if previous is not None:
            report.same(f"funnel step {step['key']} rate", step["rate"], pct(step["count"], previous))
        previous = step["count"]
    report.same("funnel won amount", data["funnel"]["won_amount"], sum((o["amount"] for o in won_opps), ZERO))

    # days per stage: stays that ended in the period
    ended = defaultdict(list)
    for s in stays:
        if s["left_at"] is not None and lo <= s["left_at"] < hi:
            ended[s["stage_id"]].append((s["left_at"] - s["entered_at"]).total_seconds())
    for row in data["stage_times"]:
        seconds = ended.get(row["stage"].pk, [])
        report.same(f"stays in {row['stage'].name}", row["stays"], len(seconds))
        average = round(sum(seconds) / len(seconds) / 86400, 1) if seconds else None
        report.same(f"average days in {row['stage'].name}", row["avg_days"], average, tolerance="0.1")

    # pipeline: open opportunities now
    open_opps = [o for o in opps if not (stages[o["stage_id"]]["is_won"] or stages[o["stage_id"]]["is_lost"])]
    for row in data["pipeline"]["stages"]:
        here = [o for o in open_opps if o["stage_id"] == row["stage"].pk]
        report.same(f"pipeline {row['stage'].name} count", row["count"], len(here))
        report.same(f"pipeline {row['stage'].name} amount", row["amount"], sum((o["amount"] for o in here), ZERO))
        weighted = sum(
            (
                o["amount"]
                * (o["probability"] if o["probability"] is not None else stages[o["stage_id"]]["probability"])
                / 100
                for o in here
            ),
            ZERO,
        )
        owners = len({o["owner_id"] for o in here}) or 1
        report.same(
            f"pipeline {row['stage'].name} weighted", row["weighted"], weighted.quantize(CENT), tolerance=CENT * owners
        )  # each owner's part is rounded to cents on its own

    # forecast: open opportunities expected to close in each of the coming months
    for month in data["forecast"]["months"]:
        start, end = month["month"], add_months(month["month"], 1)
        here = [o for o in open_opps if o["expected_close"] and start <= o["expected_close"] < end]
        report.same(f"forecast {start:%Y-%m} count", month["count"], len(here))
        report.same(f"forecast {start:%Y-%m} amount", month["amount"], sum((o["amount"] for o in here), ZERO))
    year_ago = f.now - datetime.timedelta(days=service.WIN_RATE_DAYS)
    history = defaultdict(lambda: [0, 0])
    for o in opps:
        stage = stages[o["stage_id"]]
        if (stage["is_won"] or stage["is_lost"]) and o["closed_at"] and year_ago <= o["closed_at"] < f.now:
            history[o["owner_id"]][1] += 1
            history[o["owner_id"]][0] += stage["is_won"]
    for row in data["forecast"]["rates"]:
        won, closed = history.get(row["owner"].pk, [0, 0])
        report.same(f"win rate of {row['owner'].username}", (row["won"], row["closed"]), (won, closed))

    # won and lost in the period, by close time
    closed = [
        o
        for o in opps
        if o["closed_at"]
        and lo <= o["closed_at"] < hi
        and (stages[o["stage_id"]]["is_won"] or stages[o["stage_id"]]["is_lost"])
    ]
    won = [o for o in closed if stages[o["stage_id"]]["is_won"]]
    lost = [o for o in closed if stages[o["stage_id"]]["is_lost"]]
    report.same("won count", data["closed"]["won"]["count"], len(won))
    report.same("won amount", data["closed"]["won"]["amount"], sum((o["amount"] for o in won), ZERO))
    report.same("lost count", data["closed"]["lost"]["count"], len(lost))
    report.same("lost amount", data["closed"]["lost"]["amount"], sum((o["amount"] for o in lost), ZERO))
    report.same("win rate", data["closed"]["win_rate"], pct(len(won), len(won) + len(lost)))

    # follow-ups in the period
    period_followups = [x for x in followups if lo <= x["at"] < hi]
    report.same("follow-ups", data["activity"]["total"], len(period_followups))
    per_user = defaultdict(int)
    for x in period_followups:
        per_user[x["created_by_id"]] += 1
    for row in data["activity"]["rows"]:
        report.same(f"follow-ups of {row['user'].username}", row["followups"], per_user.get(row["user"].pk, 0))

    # stuck: open, stage unchanged for stuck_days
    limit = f.now - datetime.timedelta(days=f.stuck_days)
    stuck = [o for o in open_opps if o["stage_entered_at"] < limit]
    report.same("stuck count", data["stuck"]["count"], len(stuck))
    report.same("stuck amount", data["stuck"]["amount"], sum((o["amount"] for o in stuck), ZERO))

    # performance: each rep's value this month
    for metric in ("amount_won", "followups"):
        form = PerformanceFilterForm({"metric": metric}, user=viewer)
        options = form.options()
        perf = service.performance(viewer, form.filters(), **options)
        preport = Report(f"performance ({metric})", user["username"], f"{perf['start']} … {perf['last']}")
        preport.walk(
            {"reps": [{k: v for k, v in r.items() if k not in ("attainment", "change")} for r in perf["reps"]]}
        )
        plo, phi = day_start(perf["start"]), day_start(perf["end"])
        for row in perf["reps"]:
            rep = row["user"].pk
            if metric == "amount_won":
                value = sum(
                    (
                        o["amount"]
                        for o in won_all(opps, stages)
                        if o["owner_id"] == rep and plo <= o["closed_at"] < phi
                    ),
                    ZERO,
                )
            else:
                value = sum(1 for x in followups if x["created_by_id"] == rep and plo <= x["at"] < phi)
            preport.same(f"{row['user'].username}", row["value"], value)
        report.found += preport.found
    return report.found


def won_all(opps, stages):
    return [o for o in opps if stages[o["stage_id"]]["is_won"] and o["closed_at"]]


# --- the customer overview --------------------------------------------------------------------------------


def check_customers(org, user, now):
    from crm.models import User
    from customers.forms.dashboard import DashboardFilterForm
    from customers.models import Customer, LifecycleChange, Order, SegmentationSettings
    from customers.selectors_dashboard import dashboard

    viewer = User.objects.get(pk=user["id"])
    form = DashboardFilterForm(None, user=viewer)
    since, until = form.period_range()
    today = form.today
    data = dashboard(viewer, form.filters(), since=since, until=until, today=today)
    report = Report("customer overview", user["username"], f"{since} … {until}")
    report.walk({key: value for key, value in data.items() if key != "run"})
    scope = Scope(org, user)
    customers = {
        c["id"]: c
        for c in Customer.objects.values(
            "id", "owner_id", "department_id", "lifecycle_stage", "total_amount", "created_at"
        )
        if scope.sees(c["owner_id"], c["department_id"])
    }
    state = data["state"]
    report.same("customers", state["total"], len(customers))
    report.same("revenue", state["revenue"], sum((c["total_amount"] for c in customers.values()), ZERO))
    for row in state["stages"]:
        report.same(
            f"stage {row['value']}",
            row["count"],
            sum(1 for c in customers.values() if c["lifecycle_stage"] == row["value"]),
        )

    orders = defaultdict(list)  # customer → [(local day, amount)] of paid orders
    for o in (
        Order.objects.filter(status=Order.Status.PAID, customer_id__in=list(customers))
        .values("customer_id", "placed_at", "amount")
        .order_by("placed_at", "id")
    ):
        orders[o["customer_id"]].append((local_day(o["placed_at"]), o["amount"]))
    settings = SegmentationSettings.current()
    first_month = since.replace(day=1)
    months = []
    while first_month <= until:
        months.append(first_month)
        first_month = add_months(first_month, 1)
    shown = {row["month"]: row for row in data["monthly"]}
    for month in months:
        row = shown.get(month)
        if row is None:
            report.same(f"month {month:%Y-%m}", "missing", "a row")
            continue
        nxt = add_months(month, 1)
        judged = min(nxt - datetime.timedelta(days=1), today)
        figures = {
            "new_customers": sum(1 for c in customers.values() if month <= local_day(c["created_at"]) < nxt),
            "buyers": 0,
            "orders": 0,
            "revenue": ZERO,
            "first_buyers": 0,
            "repeaters": 0,
            "active": 0,
            "at_risk": 0,
            "churned": 0,
        }
        for items in orders.values():
            inside = [amount for day, amount in items if month <= day < nxt]
            if inside:
                figures["buyers"] += 1
                figures["orders"] += len(inside)
                figures["revenue"] += sum(inside, ZERO)
            if month <= items[0][0] < nxt:
                figures["first_buyers"] += 1
                figures["repeaters"] += len(items) >= 2
            before = [day for day, _amount in items if day <= judged]
            if before and month <= today:
                gap = (judged - before[-1]).days
                key = "active" if gap < settings.at_risk_days else "at_risk" if gap < settings.churn_days else "churned"
                figures[key] += 1
        for key, value in figures.items():
            report.same(f"{month:%Y-%m} {key}", row[key], value)

    # cohorts: of the customers whose first paid order was in month c, how many ordered k months later
    by_cohort = defaultdict(lambda: defaultdict(int))
    for items in orders.values():
        cohort = items[0][0].replace(day=1)
        for k in {(day.year - cohort.year) * 12 + day.month - cohort.month for day, _amount in items}:
            by_cohort[cohort][k] += 1
    for row in data["cohorts"]:
        report.same(f"cohort {row['cohort']:%Y-%m} size", row["size"], by_cohort[row["cohort"]][0])
        for cell in row["cells"]:
            if cell is not None:
                report.same(
                    f"cohort {row['cohort']:%Y-%m} +{cell['k']}", cell["count"], by_cohort[row["cohort"]][cell["k"]]
                )

    pareto = data["pareto"]
    report.same("80/20 customers", pareto["customers"], sum(1 for items in orders.values() if items))
    report.same("80/20 revenue", pareto["revenue"], sum((a for items in orders.values() for _d, a in items), ZERO))
    flows = sum(
        1
        for ch in LifecycleChange.objects.filter(customer_id__in=list(customers)).values("changed_at")
        if since <= local_day(ch["changed_at"]) <= until
    )
    report.same("lifecycle changes", data["flows"]["total"], flows)
    return report.found


# --- coupons and campaigns ---------------------------------------------------------------------------------


def check_coupons(org, user, now):
    from coupons.forms.dashboard import DashboardFilter
    from coupons.models import Batch, BudgetAccount, Coupon, Redemption
    from coupons.services import dashboard as board
    from crm.models import User
    from marketing.models import Campaign as MarketingCampaign
    from marketing.models import Message

    viewer = User.objects.get(pk=user["id"])
    f = DashboardFilter(None, user=viewer).filters()
    data = board.dashboard(viewer, f, now=now)
    report = Report("coupons dashboard", user["username"], f"{f.start} … {f.end}")
    report.walk({key: data[key] for key in ("budgets", "budget_totals", "batches", "departments", "coupon_totals")})
    scope = Scope(org, user)
    lo, hi = day_start(f.start), day_start(f.end + datetime.timedelta(days=1))

    used, gmv, reserved = defaultdict(lambda: ZERO), defaultdict(lambda: ZERO), defaultdict(lambda: ZERO)
    redemptions = list(
        Redemption.objects.filter(reversed_at__isnull=True).values(
            "account_id", "batch_id", "subsidy", "order_amount", "at"
        )
    )
    for r in redemptions:
        used[r["account_id"]] += r["subsidy"]
        gmv[r["account_id"]] += r["order_amount"]
    for c in Coupon.objects.filter(status=Coupon.Status.CLAIMED).values(
        "reserved", "batch__campaign__budget_account_id"
    ):
        reserved[c["batch__campaign__budget_account_id"]] += c["reserved"]
    accounts = {
        a["id"]: a
        for a in BudgetAccount.objects.values(
            "id", "owner_id", "department_id", "total", "period__start", "period__end"
        )
    }
    listed = {row["id"] for row in data["budgets"]}
    expected = {
        pk
        for pk, a in accounts.items()
        if scope.sees(a["owner_id"], a["department_id"]) and a["period__start"] <= f.end and a["period__end"] >= f.start
    }
    report.same("budget accounts listed", sorted(listed), sorted(expected))
    for row in data["budgets"]:
        name = f"budget {row['department']} · {row['period']}"
        report.same(f"{name} used", row["used"], used[row["id"]])
        report.same(f"{name} reserved", row["reserved"], reserved[row["id"]])
        report.same(f"{name} GMV", row["gmv"], gmv[row["id"]])
        report.same(
            f"{name} balance", row["balance"], accounts[row["id"]]["total"] - used[row["id"]] - reserved[row["id"]]
        )

    batches = {
        b["id"]: b
        for b in Batch.objects.values("id", "code", "quantity", "campaign__owner_id", "campaign__department_id")
        if scope.sees(b["campaign__owner_id"], b["campaign__department_id"])
    }
    per_batch = defaultdict(lambda: {"claimed": 0, "redeemed": 0, "redemptions": 0, "subsidy": ZERO, "gmv": ZERO})
    for c in Coupon.objects.filter(claimed_at__gte=lo, claimed_at__lt=hi, batch_id__in=list(batches)).values(
        "batch_id", "status"
    ):
        per_batch[c["batch_id"]]["claimed"] += 1
        per_batch[c["batch_id"]]["redeemed"] += c["status"] == Coupon.Status.REDEEMED
    for r in redemptions:
        if r["batch_id"] in batches and lo <= r["at"] < hi:
            entry = per_batch[r["batch_id"]]
            entry["redemptions"] += 1
            entry["subsidy"] += r["subsidy"]
            entry["gmv"] += r["order_amount"]
    for row in data["batches"]:
        counted = per_batch.get(row["id"], per_batch.default_factory())
        for key in ("claimed", "redeemed", "redemptions", "subsidy", "gmv"):
            report.same(f"batch {row['code']} {key}", row[key], counted[key])
        report.same(f"batch {row['code']} offered", row["offered"], batches[row["id"]]["quantity"])
    shown_ids = {row["id"] for row in data["batches"]}
    missing = sorted(
        batches[pk]["code"]
        for pk, figures in per_batch.items()
        if pk not in shown_ids and (figures["claimed"] or figures["redemptions"])
    )
    report.same("batches with claims or redemptions in the period but not listed", missing, [])
    totals = data["coupon_totals"]
    for key in ("claimed", "redeemed", "redemptions", "subsidy", "gmv"):
        report.same(
            f"total {key}",
            totals[key],
            sum((per_batch[pk][key] for pk in shown_ids), ZERO if key in ("subsidy", "gmv") else 0),
        )

    sent = defaultdict(int)
    for m in Message.objects.filter(status=Message.Status.SENT, campaign__isnull=False).values("campaign_id"):
        sent[m["campaign_id"]] += 1
    campaigns = {c["id"]: c for c in MarketingCampaign.objects.values("id", "spent")}
    links = defaultdict(set)
    for pk, batch_id in MarketingCampaign.batches.through.objects.values_list("campaign_id", "batch_id"):
        links[pk].add(batch_id)
    for row in data["campaigns"]:
        if row["refreshed_at"] is None:
            continue
        report.same(f"campaign {row['name']} reached", row["reached"], sent[row["id"]])
        cost = (campaigns[row["id"]]["spent"] or ZERO) + sum(
            (r["subsidy"] for r in redemptions if r["batch_id"] in links[row["id"]]), ZERO
        )
        report.same(f"campaign {row['name']} cost", row["cost"], cost.quantize(CENT))
    return report.found


PAGES = (check_sales, check_customers, check_coupons)


def check_dashboards(org, *, viewers, now):
    """Every page of ``PAGES`` for every viewer that exists; a page that fails to build is reported."""
    found = []
    for user in _users(org, viewers or ()):
        for page in PAGES:
            try:
                found += page(org, user, now)
            except Exception as error:  # the page would be a 500 for this viewer
                found.append(
                    Violation(
                        "dashboard_recount",
                        f"{page.__name__[6:]} dashboard of {user['username']}",
                        f"could not be built or read: {type(error).__name__}: {error}",
                    )
                )
    return found
