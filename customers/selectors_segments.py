"""Reads of the segmentation pages (客户分层): value quadrant, 3×3 grid, lifecycle, 80/20.

Every function takes the user and starts from ``customers_for(user)``, so the figures never include a
customer outside the viewer's data scope. The overview costs four queries over the scope whatever its
size: one grouped query (quadrant, 3×3 grid and stage counts together), the scatter sample (at most
``SCATTER_LIMIT`` rows), the stage changes grouped by (from, to), and the 80/20 tiles (≤ 20 rows).
No per-customer rows reach Python except the scatter points.
"""

import datetime
import hashlib
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.cache import cache
from django.db import connection
from django.db.models import BigIntegerField, Count, ExpressionWrapper, F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm import permissions
from crm.models import DataScope

from .models import (
    CustomerStateRollup,
    CustomerTag,
    LifecycleChange,
    LifecycleStage,
    RollupRun,
    SatisfactionLevel,
    StageFlowRollup,
    ValueSegment,
    VolumeLevel,
)
from .selectors import customers_for
from .services import segmentation
from .services.dashboard import RUN_NAME, generation

SCATTER_LIMIT = 2000
PARETO_TILES = 20
ZERO = Decimal("0")
CENT = Decimal("0.01")
TENTH = Decimal("0.1")

SERVICE_MODEL_LABELS = {
    "one_to_one": _("One-to-one"),
    "one_to_many": _("One-to-many"),
    "retail": _("Through retailers"),
}
SERVICE_MODEL_HINTS = {
    "one_to_one": _("a dedicated account manager"),
    "one_to_many": _("reps by region"),
    "retail": _("retailers and self-service"),
}
STANCE_LABELS = {
    "partner": _("Partner"),
    "improve": _("Improve"),
    "correct": _("Correct"),
}
#: rows and columns of the 3×3 table, in reading order (high first)
GRID_LEVELS = (SatisfactionLevel.HIGH, SatisfactionLevel.MEDIUM, SatisfactionLevel.LOW)
VOLUME_LEVELS = (VolumeLevel.HIGH, VolumeLevel.MEDIUM, VolumeLevel.LOW)
#: the quadrant's segments in the order the page lists them
VALUE_SEGMENTS = (
    ValueSegment.HIGH,
    ValueSegment.HIGH_AOV,
    ValueSegment.FREQUENT,
    ValueSegment.LOW,
    ValueSegment.POTENTIAL,
)
LIFECYCLE_STAGES = tuple(LifecycleStage)


def percent(part, whole):
    """``part`` as a percentage of ``whole`` with one decimal (0 when ``whole`` is 0)."""
    whole = Decimal(whole or 0)
    if not whole:
        return Decimal("0.0")
    return (Decimal(part or 0) * 100 / whole).quantize(TENTH)


def money(value):
    return Decimal(str(value or 0)).quantize(CENT)


def segment_customers(user, *, department=None, owner=None, tags=(), tags_match="any"):
    """The customers of ``user``'s scope, optionally narrowed to one department, one owner and
    holding any (or all) of ``tags`` — the same meaning as the customer list's filters, so that a
    figure and the list it links to agree. Filters only ever narrow the scope."""
    qs = customers_for(user)
    if department is not None:
        qs = qs.filter(department=department)
    if owner is not None:
        qs = qs.filter(owner=owner)
    tag_ids = sorted({getattr(tag, "pk", tag) for tag in tags or ()})
    if tag_ids:
        links = CustomerTag.objects.filter(tag_id__in=tag_ids)
        if tags_match == "all":
            links = links.values("customer_id").annotate(n=Count("tag_id", distinct=True)).filter(n=len(tag_ids))
        qs = qs.filter(pk__in=links.values("customer_id"))
    return qs.order_by()


# --- the one grouped query behind the quadrant, the grid and the stage counts -----------------------


def customer_figures(user, **filters):
    """Count, revenue and unrated count per (value segment, 3×3 class, lifecycle stage): ONE grouped
    query, at most 5 × 10 × 7 rows whatever the number of customers. The quadrant, the grid and the
    stage counts are folded from these rows, so the page scans the customers once for all three."""
    return list(
        segment_customers(user, **filters)
        .values("value_segment", "grid_class", "lifecycle_stage")
        .annotate(n=Count("id"), revenue=Sum("total_amount"), unrated=Count("id", filter=Q(satisfaction_level="")))
    )


def _fold(rows, key):
    """{value of ``key``: {"n", "revenue", "unrated"}} summed over ``rows``."""
    folded = {}
    for row in rows:
        entry = folded.setdefault(row[key], {"n": 0, "revenue": ZERO, "unrated": 0})
        entry["n"] += row["n"]
        entry["revenue"] += Decimal(row["revenue"] or 0)
        entry["unrated"] += row["unrated"]
    return folded


# --- value quadrant (价值象限) ---------------------------------------------------------------------


def value_quadrant(user, *, rows=None, **filters):
    """Count and revenue per value segment (``rows``: ``customer_figures`` already fetched)."""
    found = _fold(customer_figures(user, **filters) if rows is None else rows, "value_segment")
    total_count = sum(row["n"] for row in found.values())
    total_revenue = money(sum(row["revenue"] for row in found.values()))
    segments = []
    for segment in VALUE_SEGMENTS:
        row = found.get(segment.value, {})
        count, revenue = row.get("n", 0), money(row.get("revenue"))
        segments.append(
            {
                "value": segment.value,
                "label": segment.label,
                "count": count,
                "revenue": revenue,
                "customer_share": percent(count, total_count),
                "revenue_share": percent(revenue, total_revenue),
            }
        )
    return {"segments": segments, "total_count": total_count, "total_revenue": total_revenue}


#: Weyl sampling: id ↦ (id mod 2³¹) × A mod 2³¹ is a bijection that spreads any run of ids (every id,
#: every 4th id of a round-robin owner, …) evenly over [0, 2³¹)
SAMPLE_MODULUS = 2**31
SAMPLE_MULTIPLIER = 1103515245


def value_scatter(user, *, total, limit=None, **filters):
    """Points [order count, average order value, segment] per segment, for the scatter chart.

    Up to ``limit`` customers: all of them. Above: a deterministic sample of about ``limit``
    customers: those whose id falls, after a fixed multiplicative scrambling, below a cut-off
    (like ``id % k = 0`` without its blind spots on regular ids); one pass over the scope, no sort
    of the scope, the same points on every visit."""
    limit = limit or SCATTER_LIMIT
    qs = segment_customers(user, **filters)
    sampled = total > limit
    if sampled:
        cutoff = SAMPLE_MODULUS * limit * 49 // (total * 50)  # aim a little under the limit
        scrambled = (F("id") % SAMPLE_MODULUS) * SAMPLE_MULTIPLIER % SAMPLE_MODULUS
        qs = qs.alias(scrambled=ExpressionWrapper(scrambled, output_field=BigIntegerField())).filter(
            scrambled__lt=cutoff
        )
    points = {segment.value: [] for segment in VALUE_SEGMENTS}
    shown = 0
    rows = qs.order_by("id").values_list("value_segment", "order_count", "avg_order_value")[:limit]
    for segment, order_count, aov in rows:
        points.setdefault(segment, []).append([order_count, float(aov or 0), segment])
        shown += 1
    return {"points": points, "shown": shown, "total": total, "sampled": sampled}


# --- the 3×3 grid (九宫格) -------------------------------------------------------------------------


@dataclass
class GridCell:
    letter: str
    satisfaction: str
    volume: str
    count: int = 0
    revenue: Decimal = ZERO
    unrated: int = 0
    revenue_share: Decimal = Decimal("0.0")
    customer_share: Decimal = Decimal("0.0")

    @property
    def service_model(self):
        return segmentation.SERVICE_MODEL[VolumeLevel(self.volume)]

    @property
    def service_label(self):
        return SERVICE_MODEL_LABELS[self.service_model]

    @property
    def stance(self):
        return segmentation.STANCE[SatisfactionLevel(self.satisfaction)]

    @property
    def stance_label(self):
        return STANCE_LABELS[self.stance]


@dataclass
class Grid:
    rows: list = field(default_factory=list)  # [(satisfaction level, [GridCell × 3])]
    total_count: int = 0
    total_revenue: Decimal = ZERO
    unclassified: int = 0  # new customers the nightly job has not classified yet (grid_class "")
    unrated: int = 0

    def cell(self, letter):
        return next(c for _level, cells in self.rows for c in cells if c.letter == letter)


def grid(user, *, rows=None, **filters):
    """The nine classes with count, revenue and share of revenue, from ONE grouped query
    (``customer_figures``; pass its ``rows`` when already fetched)."""
    found = _fold(customer_figures(user, **filters) if rows is None else rows, "grid_class")
    result = Grid()
    result.total_count = sum(row["n"] for row in found.values())
    result.total_revenue = money(sum(row["revenue"] for row in found.values()))
    result.unclassified = found.get("", {}).get("n", 0)
    for satisfaction in GRID_LEVELS:
        cells = []
        for volume in VOLUME_LEVELS:
            letter = segmentation.GRID[(satisfaction, volume)]
            row = found.get(letter, {})
            cell = GridCell(
                letter=letter,
                satisfaction=satisfaction.value,
                volume=volume.value,
                count=row.get("n", 0),
                revenue=money(row.get("revenue")),
                unrated=row.get("unrated", 0),
            )
            cell.revenue_share = percent(cell.revenue, result.total_revenue)
            cell.customer_share = percent(cell.count, result.total_count)
            result.unrated += cell.unrated
            cells.append(cell)
        result.rows.append((satisfaction, cells))
    return result


# --- lifecycle (生命周期) --------------------------------------------------------------------------


def lifecycle_counts(user, *, rows=None, **filters):
    """Customers per stage (from ``customer_figures``)."""
    found = {
        stage: row["n"]
        for stage, row in _fold(customer_figures(user, **filters) if rows is None else rows, "lifecycle_stage").items()
    }
    total = sum(found.values())
    return [
        {
            "value": stage.value,
            "label": stage.label,
            "count": found.get(stage.value, 0),
            "share": percent(found.get(stage.value, 0), total),
        }
        for stage in LIFECYCLE_STAGES
    ]


def period_bounds(since, until):
    """Aware datetimes [start of ``since``, start of the day after ``until``) in the local time zone."""
    tz = timezone.get_current_timezone()
    start = datetime.datetime.combine(since, datetime.time.min, tzinfo=tz)
    end = datetime.datetime.combine(until + datetime.timedelta(days=1), datetime.time.min, tzinfo=tz)
    return start, end


def lifecycle_flows(user, *, since, until, **filters):
    """Stage changes in [since, until] (dates, inclusive) grouped by (from, to), largest first."""
    start, end = period_bounds(since, until)
    changes = LifecycleChange.objects.filter(changed_at__gte=start, changed_at__lt=end)
    narrowed = any(filters.get(name) for name in ("department", "owner", "tags"))
    if narrowed or permissions.effective_scope(user) != DataScope.ALL:
        changes = changes.filter(customer__in=segment_customers(user, **filters).values("id"))
    # else every customer is in scope: no need to join the customers at all
    rows = changes.values("from_stage", "to_stage").annotate(n=Count("id")).order_by("-n", "from_stage", "to_stage")
    labels = dict(LifecycleStage.choices)
    flows = [
        {
            "from": row["from_stage"],
            "to": row["to_stage"],
            "count": row["n"],
            "from_label": labels.get(row["from_stage"], _("(new)")),
            "to_label": labels.get(row["to_stage"], row["to_stage"]),
        }
        for row in rows
    ]
    return {"flows": flows, "total": sum(f["count"] for f in flows), "since": since, "until": until}


def flow_matrix(flows):
    """The flows as a from × to table over the stages that occur (rows: from, columns: to)."""
    order = [""] + [stage.value for stage in LIFECYCLE_STAGES]
    labels = {"": _("(new)"), **dict(LifecycleStage.choices)}
    counts = {(f["from"], f["to"]): f["count"] for f in flows}
    sources = [s for s in order if any(f["from"] == s for f in flows)]
    targets = [s for s in order if any(f["to"] == s for f in flows)]
    return {
        "columns": [{"value": t, "label": labels.get(t, t)} for t in targets],
        "rows": [
            {
                "value": s,
                "label": labels.get(s, s),
                "cells": [counts.get((s, t), 0) for t in targets],
                "total": sum(counts.get((s, t), 0) for t in targets),
            }
            for s in sources
        ],
    }


# --- 80/20 (帕累托) --------------------------------------------------------------------------------


def pareto(user, *, tiles=PARETO_TILES, **filters):
    """Revenue concentration among the customers with orders: the share of revenue of the top 20%
    (⌈N / 5⌉ customers by total spent) and the Lorenz curve in ``tiles`` steps.

    One SQL query: NTILE and ROW_NUMBER over the scope (as a subquery), summed per tile, so at most
    ``tiles`` rows come back whatever the number of customers. Runs on SQLite and PostgreSQL."""
    inner = segment_customers(user, **filters).filter(order_count__gt=0).values("id", "total_amount")
    inner_sql, params = inner.query.sql_with_params()
    # NTILE(5) puts the extra rows in its first groups, so its group 1 is exactly the top ⌈N/5⌉.
    # Both windows share one ordering, so the database sorts once; customers who spent the same
    # amount are interchangeable, so no tie-breaker is needed for the sums to be exact.
    sql = (
        "SELECT tile, COUNT(*), SUM(amount), SUM(CASE WHEN fifth = 1 THEN amount ELSE 0 END) "
        "FROM (SELECT s.total_amount AS amount, "
        "             NTILE(%s) OVER (ORDER BY s.total_amount DESC) AS tile, "
        "             NTILE(5) OVER (ORDER BY s.total_amount DESC) AS fifth "
        f"      FROM ({inner_sql}) s) t "
        "GROUP BY tile ORDER BY tile"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [tiles, *params])
        rows = cursor.fetchall()
    customers = sum(row[1] for row in rows)
    revenue = money(sum(Decimal(str(row[2] or 0)) for row in rows))
    top_revenue = money(sum(Decimal(str(row[3] or 0)) for row in rows))
    top_customers = -(-customers // 5)
    curve = [[0.0, 0.0]]
    seen_customers, seen_revenue = 0, ZERO
    for _tile, count, amount, _top in rows:
        seen_customers += count
        seen_revenue += Decimal(str(amount or 0))
        curve.append([float(percent(seen_customers, customers)), float(percent(seen_revenue, revenue))])
    return {
        "customers": customers,
        "revenue": revenue,
        "top_customers": top_customers,
        "top_revenue": top_revenue,
        "top_share": percent(top_revenue, revenue),
        "curve": curve,
    }


# --- the whole page ---------------------------------------------------------------------------------

#: how long the heavy live parts (scatter sample, 80/20) are kept per scope when the counts come from
#: the rollups; they are recomputed at the latest after the next rollup refresh
HEAVY_CACHE_SECONDS = 15 * 60


def rollup_run():
    """The last refresh of the dashboard rollups (None when they were never built)."""
    run = RollupRun.objects.filter(name=RUN_NAME).first()
    return run if run is not None and run.refreshed_at else None


def _rollup_qs(user, model, *, department=None, owner=None):
    qs = permissions.visible(user, model.objects.order_by())
    if department is not None:
        qs = qs.filter(department=department)
    if owner is not None:
        qs = qs.filter(owner=owner)
    return qs


def rollup_customer_figures(user, *, department=None, owner=None):
    """``customer_figures`` read from the dashboard's state rollup (customers as of its last refresh):
    the same rows, summed over the (owner, department, source channel) keys of the viewer's scope."""
    return list(
        _rollup_qs(user, CustomerStateRollup, department=department, owner=owner)
        .values("value_segment", "grid_class", "lifecycle_stage")
        .annotate(n=Sum("customers"), revenue=Sum("revenue"), unrated=Sum("unrated"))
    )


def rollup_lifecycle_flows(user, *, since, until, department=None, owner=None):
    """``lifecycle_flows`` read from the dashboard's stage-flow rollup (changes up to its last refresh)."""
    rows = (
        _rollup_qs(user, StageFlowRollup, department=department, owner=owner)
        .filter(day__gte=since, day__lte=until)
        .values("from_stage", "to_stage")
        .annotate(n=Sum("changes"))
        .order_by("-n", "from_stage", "to_stage")
    )
    labels = dict(LifecycleStage.choices)
    flows = [
        {
            "from": row["from_stage"],
            "to": row["to_stage"],
            "count": row["n"],
            "from_label": labels.get(row["from_stage"], _("(new)")),
            "to_label": labels.get(row["to_stage"], row["to_stage"]),
        }
        for row in rows
    ]
    return {"flows": flows, "total": sum(f["count"] for f in flows), "since": since, "until": until}


def _heavy_key(user, run, filters):
    """Cache key of the scatter + 80/20 of one scope: the SQL of the scope's customers (it holds the
    viewer's departments / owner and the filters) under the token of the last rollup refresh."""
    sql, params = segment_customers(user, **filters).values("id").query.sql_with_params()
    digest = hashlib.sha256(
        repr((sql, params, connection.settings_dict["NAME"], SCATTER_LIMIT, PARETO_TILES)).encode()
    ).hexdigest()
    return f"customers:segments:heavy:{generation()}:{run.refreshed_at.timestamp()}:{digest}"


def heavy_parts(user, *, total, run, **filters):
    """The scatter sample and the 80/20 of the scope, computed live and kept for a while per scope and
    rollup refresh (they scan every customer of the scope). Returns (scatter, pareto, computed_at)."""
    key = _heavy_key(user, run, filters)
    found = cache.get(key)
    if found is not None and found["scatter"]["total"] == total:
        return found["scatter"], found["pareto"], found["computed_at"]
    computed_at = timezone.now()
    scatter = value_scatter(user, total=total, **filters)
    result = pareto(user, **filters)
    cache.set(key, {"scatter": scatter, "pareto": result, "computed_at": computed_at}, HEAVY_CACHE_SECONDS)
    return scatter, result, computed_at


def segmentation_overview(user, *, since, until, live=False, **filters):
    """Everything the segmentation page shows, for the scope narrowed by ``filters`` (see
    ``segment_customers``); lifecycle flows over the dates [since, until].

    When the dashboard rollups have been built and no tag filter is set (the rollups do not know the
    tags), the counts (quadrant, grid, stages) and the flows come from the rollups, as of their last
    refresh (``as_of``), and the scatter sample and the 80/20 from a per-scope cache of their live
    computation (``heavy_as_of``). Otherwise (or with ``live``) everything is computed live
    (``as_of`` None)."""
    run = None if live or filters.get("tags") else rollup_run()
    if run is None:
        rows = customer_figures(user, **filters)
        quadrant = value_quadrant(user, rows=rows)
        return {
            "quadrant": quadrant,
            "scatter": value_scatter(user, total=quadrant["total_count"], **filters),
            "grid": grid(user, rows=rows),
            "lifecycle": lifecycle_counts(user, rows=rows),
            "flows": lifecycle_flows(user, since=since, until=until, **filters),
            "pareto": pareto(user, **filters),
            "as_of": None,
            "heavy_as_of": None,
        }
    narrowing = {name: filters.get(name) for name in ("department", "owner")}
    rows = rollup_customer_figures(user, **narrowing)
    quadrant = value_quadrant(user, rows=rows)
    scatter, pareto_figures, heavy_as_of = heavy_parts(user, total=quadrant["total_count"], run=run, **filters)
    return {
        "quadrant": quadrant,
        "scatter": scatter,
        "grid": grid(user, rows=rows),
        "lifecycle": lifecycle_counts(user, rows=rows),
        "flows": rollup_lifecycle_flows(user, since=since, until=until, **narrowing),
        "pareto": pareto_figures,
        "as_of": run.refreshed_at,
        "heavy_as_of": heavy_as_of,
    }
