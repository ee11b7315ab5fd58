"""Reads of the customer overview dashboard (客户大盘), from the rollups only.

Every read starts from ``permissions.visible(user, <rollup>)`` (the rollups declare the customers'
scope fields: owner and department), narrowed by the dashboard's filters, so a figure never includes
a customer outside the viewer's data scope. One grouped query per part, over a few rows per
(owner, department, source channel): the cost does not grow with the number of customers or orders.
"""

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Sum
from django.utils.translation import gettext_lazy as _

from crm import permissions

from . import regions
from .models import (
    CohortRollup,
    Customer,
    CustomerMonthRollup,
    CustomerSpendRollup,
    CustomerStateRollup,
    LifecycleStage,
    RollupRun,
    StageFlowRollup,
)
from .selectors_segments import GRID_LEVELS, LIFECYCLE_STAGES, VALUE_SEGMENTS, VOLUME_LEVELS, money, percent
from .services import segmentation
from .services.dashboard import COHORT_MONTHS, RUN_NAME, add_months, month_end, months_between

ZERO = Decimal("0")
#: the 80/20 curve shows about one point per this many percent of customers
PARETO_STEP = Decimal("2.5")


@dataclass
class Filters:
    """The dashboard's narrowing: a department, an owner, a source channel (each optional)."""

    department: object = None
    owner: object = None
    source: str = ""


def rollup(user, model, filters):
    qs = permissions.visible(user, model.objects.order_by())
    if filters.department is not None:
        qs = qs.filter(department=filters.department)
    if filters.owner is not None:
        qs = qs.filter(owner=filters.owner)
    if filters.source:
        qs = qs.filter(source=filters.source)
    return qs


def freshness():
    return RollupRun.objects.filter(name=RUN_NAME).first()


# --- current state: lifecycle stages, value quadrant, 3×3 grid --------------------------------------


def current_state(user, filters):
    """Stage counts, quadrant and grid (counts and revenue share) from one grouped query."""
    rows = list(
        rollup(user, CustomerStateRollup, filters)
        .values("lifecycle_stage", "value_segment", "grid_class")
        .annotate(n=Sum("customers"), revenue=Sum("revenue"), unrated=Sum("unrated"))
    )
    total = sum(r["n"] for r in rows)
    revenue = money(sum((Decimal(r["revenue"] or 0) for r in rows), ZERO))

    def fold(key):
        found = defaultdict(lambda: {"n": 0, "revenue": ZERO, "unrated": 0})
        for r in rows:
            entry = found[r[key]]
            entry["n"] += r["n"]
            entry["revenue"] += Decimal(r["revenue"] or 0)
            entry["unrated"] += r["unrated"]
        return found

    def entry(value, label, found):
        row = found.get(value, {"n": 0, "revenue": ZERO, "unrated": 0})
        return {
            "value": value,
            "label": label,
            "count": row["n"],
            "revenue": money(row["revenue"]),
            "customer_share": percent(row["n"], total),
            "revenue_share": percent(row["revenue"], revenue),
            "unrated": row["unrated"],
        }

    stages = fold("lifecycle_stage")
    segments = fold("value_segment")
    classes = fold("grid_class")
    grid_rows = []
    for satisfaction in GRID_LEVELS:
        cells = []
        for volume in VOLUME_LEVELS:
            letter = segmentation.GRID[(satisfaction, volume)]
            cell = entry(letter, letter, classes)
            cell.update(satisfaction=satisfaction, volume=volume)
            cells.append(cell)
        grid_rows.append({"level": satisfaction, "label": satisfaction.label, "cells": cells})
    return {
        "total": total,
        "revenue": revenue,
        "stages": [entry(stage.value, stage.label, stages) for stage in LIFECYCLE_STAGES],
        "segments": [entry(segment.value, segment.label, segments) for segment in VALUE_SEGMENTS],
        "grid": grid_rows,
        "unclassified": classes.get("", {}).get("n", 0),
    }


# --- 80/20 -------------------------------------------------------------------------------------------


def pareto(user, filters):
    """Cumulative share of revenue by share of customers (largest spenders first), read from the
    spend bands. Each point sits on a band's lower bound ``floor``: its customers are exactly those
    who spent at least ``floor`` (the drill-down). The top 20% share counts the whole bands above the
    cut and the band it falls in at that band's average."""
    bands = list(
        rollup(user, CustomerSpendRollup, filters)
        .values("floor")
        .annotate(n=Sum("customers"), revenue=Sum("revenue"))
        .order_by("-floor")
    )
    customers = sum(b["n"] for b in bands)
    revenue = money(sum((Decimal(b["revenue"] or 0) for b in bands), ZERO))
    top_customers = -(-customers // 5)
    points = [{"x": 0.0, "y": 0.0, "floor": None, "customers": 0}]
    seen_n, seen_revenue, top_revenue = 0, ZERO, ZERO
    next_step = PARETO_STEP
    for index, band in enumerate(bands):
        n, amount = band["n"], Decimal(band["revenue"] or 0)
        if seen_n < top_customers:
            take = min(n, top_customers - seen_n)
            top_revenue += amount if take == n else amount * take / n
        seen_n += n
        seen_revenue += amount
        x = percent(seen_n, customers)
        if x >= next_step or index == len(bands) - 1:
            points.append(
                {"x": float(x), "y": float(percent(seen_revenue, revenue)), "floor": band["floor"], "customers": seen_n}
            )
            while next_step <= x:
                next_step += PARETO_STEP
    top_revenue = money(top_revenue)
    return {
        "customers": customers,
        "revenue": revenue,
        "top_customers": top_customers,
        "top_revenue": top_revenue,
        "top_share": percent(top_revenue, revenue),
        "points": points,
    }


# --- monthly series ------------------------------------------------------------------------------------

MONTH_FIELDS = (
    "new_customers",
    "first_buyers",
    "repeaters",
    "cohort_orders",
    "cohort_revenue",
    "buyers",
    "orders",
    "revenue",
    "active",
    "at_risk",
    "churned",
)


def period_months(since, until):
    first = since.replace(day=1)
    return [add_months(first, i) for i in range(months_between(first, until.replace(day=1)) + 1)]


def monthly(user, filters, *, since, until, today):
    """One row per month of [since, until]: new customers, buyers, orders, revenue, active / at risk /
    churned at the month's end (``as_of``), and the month's cohort figures (size, repurchase rate,
    average order value, purchase frequency — to date)."""
    months = period_months(since, until)
    found = {
        r["month"]: r
        for r in rollup(user, CustomerMonthRollup, filters)
        .filter(month__gte=months[0], month__lte=months[-1])
        .values("month")
        .annotate(**{name: Sum(name) for name in MONTH_FIELDS})
    }
    result = []
    for month in months:
        row = {name: found.get(month, {}).get(name) or 0 for name in MONTH_FIELDS}
        row["cohort_revenue"] = money(row["cohort_revenue"])
        row["revenue"] = money(row["revenue"])
        row.update(month=month, as_of=month_end(month, today), future=month > today)
        row["repurchase_rate"] = percent(row["repeaters"], row["first_buyers"])
        row["cohort_aov"] = money(row["cohort_revenue"] / row["cohort_orders"]) if row["cohort_orders"] else None
        row["frequency"] = (
            (Decimal(row["cohort_orders"]) / row["first_buyers"]).quantize(Decimal("0.01"))
            if row["first_buyers"]
            else None
        )
        result.append(row)
    return result


def cohort_table(user, filters, *, since, until, today, months=None):
    """Rows: the cohorts (first-order months) of the period; cells: % of the cohort that ordered
    0 … 11 months later (None for months still to come)."""
    months = months or period_months(since, until)
    cells = defaultdict(dict)
    for r in (
        rollup(user, CohortRollup, filters)
        .filter(cohort__gte=months[0], cohort__lte=months[-1])
        .values("cohort", "months_since")
        .annotate(n=Sum("customers"))
    ):
        cells[r["cohort"]][r["months_since"]] = r["n"]
    current = today.replace(day=1)
    rows = []
    for cohort in months:
        size = cells.get(cohort, {}).get(0, 0)
        row = {"cohort": cohort, "size": size, "cells": []}
        for k in range(COHORT_MONTHS):
            month = add_months(cohort, k)
            if month > current:
                row["cells"].append(None)
                continue
            n = cells.get(cohort, {}).get(k, 0)
            row["cells"].append({"k": k, "month": month, "count": n, "rate": percent(n, size)})
        rows.append(row)
    return rows


# --- stage flows ---------------------------------------------------------------------------------------


def flows(user, filters, *, since, until):
    rows = (
        rollup(user, StageFlowRollup, filters)
        .filter(day__gte=since, day__lte=until)
        .values("from_stage", "to_stage")
        .annotate(n=Sum("changes"))
        .order_by("-n", "from_stage", "to_stage")
    )
    labels = dict(LifecycleStage.choices)
    result = [
        {
            "from": r["from_stage"],
            "to": r["to_stage"],
            "count": r["n"],
            "from_label": labels.get(r["from_stage"], _("(new)")),
            "to_label": labels.get(r["to_stage"], r["to_stage"]),
        }
        for r in rows
    ]
    return {"flows": result, "total": sum(f["count"] for f in result)}


def by_province(user, filters):
    """Customers and revenue per province (省), read live from the customers' normalized
    ``region_province`` column (one grouped query on an indexed column); customers without a region
    come last as "no region"."""
    from django.db.models import Count

    rows = list(
        rollup(user, Customer, filters)
        .values("region_province")
        .annotate(n=Count("id"), revenue=Sum("total_amount"))
        .order_by("-n", "region_province")
    )
    total = sum(r["n"] for r in rows)
    revenue = money(sum((Decimal(r["revenue"] or 0) for r in rows), ZERO))
    known = [r for r in rows if r["region_province"]] + [r for r in rows if not r["region_province"]]
    return [
        {
            "code": r["region_province"],
            "name": regions.name(r["region_province"]) or _("No region"),
            "count": r["n"],
            "revenue": money(Decimal(r["revenue"] or 0)),
            "customer_share": percent(r["n"], total),
            "revenue_share": percent(Decimal(r["revenue"] or 0), revenue),
        }
        for r in known
    ]


def dashboard(user, filters, *, since, until, today):
    months = period_months(since, until)
    return {
        "state": current_state(user, filters),
        "provinces": by_province(user, filters),
        "pareto": pareto(user, filters),
        "monthly": monthly(user, filters, since=since, until=until, today=today),
        "cohorts": cohort_table(user, filters, since=since, until=until, today=today, months=months),
        "flows": flows(user, filters, since=since, until=until),
        "run": freshness(),
    }
