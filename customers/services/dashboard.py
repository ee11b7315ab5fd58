"""The rollups behind the customer overview dashboard (客户大盘), rebuilt in one pass.

``refresh_dashboard`` reads the customers once, the paid orders once (streamed in customer order,
one row per order: customer, local date, amount) and the lifecycle changes grouped in SQL, and
replaces the rollup tables (``customers.models.*Rollup``) in one transaction, so a reader sees either
the old figures or the new ones. Every rollup row belongs to one (owner, department, source channel)
of the customers as they are at the refresh. Celery beat runs it (``customers.tasks.
refresh_customer_dashboard``); the page shows when it last ran.

Definitions (dates in the local time zone):

- **cohort** of a customer: the calendar month of their first paid order;
- **active** at a date D: the last paid order on or before D was at most ``at_risk_days`` − 1 days
  before D (default: within the 90 days ending on D); **at risk**: at most ``churn_days`` − 1 days
  (180); **churned**: earlier. Each month is judged at its last day, the current month today;
- **repeaters**: customers of a cohort with two or more paid orders to date.
"""

import datetime
import time
import uuid
from collections import defaultdict
from decimal import ROUND_FLOOR, Decimal

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from ..models import (
    CohortRollup,
    Customer,
    CustomerMonthRollup,
    CustomerSpendRollup,
    CustomerStateRollup,
    LifecycleChange,
    Order,
    RollupRun,
    SegmentationSettings,
    StageFlowRollup,
)

RUN_NAME = "customer_dashboard"
#: cache key of a token renewed at every refresh: the segmentation page keeps its heavy live parts
#: (scatter sample, 80/20) per scope under it, so they are recomputed after each refresh
GENERATION_KEY = "customers:dashboard:generation"
#: months of history kept for the monthly series and the cohorts (the longest custom period)
HORIZON_MONTHS = 36
#: columns of the cohort table: 0 … 11 months after the first order
COHORT_MONTHS = 12
ZERO = Decimal("0")
CENT = Decimal("0.01")
ROLLUP_MODELS = (CustomerStateRollup, CustomerSpendRollup, CustomerMonthRollup, CohortRollup, StageFlowRollup)


def month_start(day):
    return day.replace(day=1)


def add_months(month, n):
    index = month.year * 12 + month.month - 1 + n
    return datetime.date(index // 12, index % 12 + 1, 1)


def months_between(earlier, later):
    return (later.year - earlier.year) * 12 + later.month - earlier.month


def month_end(month, today):
    """The day a month is judged at: its last day, or today for the current month."""
    last = add_months(month, 1) - datetime.timedelta(days=1)
    return min(last, today)


def spend_floor(amount):
    """The lower bound of ``amount``'s band: two significant digits (1,234.56 → 1,200; 87.5 → 87)."""
    amount = Decimal(amount)
    if amount <= 0:
        return Decimal("0.00")
    step = Decimal(1).scaleb(amount.adjusted() - 1)
    return ((amount / step).to_integral_value(rounding=ROUND_FLOOR) * step).quantize(CENT)


def _state_rows():
    rows = (
        Customer.objects.order_by()
        .values("owner_id", "department_id", "source", "lifecycle_stage", "value_segment", "grid_class")
        .annotate(n=Count("id"), revenue=Sum("total_amount"), unrated=Count("id", filter=Q(satisfaction_level="")))
    )
    return [
        CustomerStateRollup(
            owner_id=r["owner_id"],
            department_id=r["department_id"],
            source=r["source"],
            lifecycle_stage=r["lifecycle_stage"],
            value_segment=r["value_segment"],
            grid_class=r["grid_class"],
            customers=r["n"],
            revenue=r["revenue"] or ZERO,
            unrated=r["unrated"],
        )
        for r in rows
    ]


def _flow_rows():
    rows = (
        LifecycleChange.objects.order_by()
        .values(
            "customer__owner_id",
            "customer__department_id",
            "customer__source",
            "from_stage",
            "to_stage",
            day=TruncDate("changed_at"),
        )
        .annotate(n=Count("id"))
    )
    return [
        StageFlowRollup(
            owner_id=r["customer__owner_id"],
            department_id=r["customer__department_id"],
            source=r["customer__source"],
            day=r["day"],
            from_stage=r["from_stage"],
            to_stage=r["to_stage"],
            changes=r["n"],
        )
        for r in rows
    ]


class _Month:
    __slots__ = (
        "active",
        "at_risk",
        "buyers",
        "churned",
        "cohort_orders",
        "cohort_revenue",
        "first_buyers",
        "new_customers",
        "orders",
        "repeaters",
        "revenue",
    )

    def __init__(self):
        for name in self.__slots__:
            setattr(self, name, 0)
        self.cohort_revenue = ZERO
        self.revenue = ZERO


def _order_stream(chunk=20000):
    """(customer id, local date, amount) of every paid order, by customer then date."""
    qs = (
        Order.objects.filter(status=Order.Status.PAID)
        .order_by("customer_id", "placed_at")
        .values_list("customer_id", TruncDate("placed_at"), "amount")
    )
    return qs.iterator(chunk_size=chunk)


def _customer_history(stream):
    """Group the stream by customer: yields (customer id, [(date, amount)])."""
    current, orders = None, []
    for customer_id, day, amount in stream:
        if customer_id != current:
            if current is not None:
                yield current, orders
            current, orders = customer_id, []
        orders.append((day, amount))
    if current is not None:
        yield current, orders


def build_rollups(*, today, settings):
    """The rollup rows (unsaved), from the customers, orders and lifecycle changes."""
    first_month = add_months(month_start(today), -(HORIZON_MONTHS - 1))
    months = [add_months(first_month, i) for i in range(HORIZON_MONTHS)]
    judged = [month_end(m, today) for m in months]
    active_days, risk_days = settings.at_risk_days, settings.churn_days

    keys = {}
    monthly = defaultdict(_Month)  # (key, month) -> figures
    spend = defaultdict(lambda: [0, ZERO])  # (key, floor) -> [customers, revenue]
    cohorts = defaultdict(lambda: [0, 0, ZERO])  # (key, cohort, k) -> [customers, orders, revenue]
    for pk, owner_id, department_id, source, created_at in (
        Customer.objects.order_by()
        .values_list("id", "owner_id", "department_id", "source", TruncDate("created_at"))
        .iterator(chunk_size=20000)
    ):
        key = (owner_id, department_id, source)
        keys[pk] = key
        created = month_start(created_at)
        if created >= first_month:
            monthly[key, created].new_customers += 1

    for customer_id, orders in _customer_history(_order_stream()):
        key = keys.get(customer_id)
        if key is None:
            continue
        total = sum((amount for _day, amount in orders), ZERO)
        band = spend[key, spend_floor(total)]
        band[0] += 1
        band[1] += total
        # the month of the first order and the months with orders
        cohort = month_start(orders[0][0])
        per_month = {}
        for day, amount in orders:
            entry = per_month.setdefault(month_start(day), [0, ZERO])
            entry[0] += 1
            entry[1] += amount
        if cohort >= first_month:
            row = monthly[key, cohort]
            row.first_buyers += 1
            row.repeaters += len(orders) >= 2
            row.cohort_orders += len(orders)
            row.cohort_revenue += total
            for month, (count, amount) in per_month.items():
                k = months_between(cohort, month)
                if k < COHORT_MONTHS:
                    cell = cohorts[key, cohort, k]
                    cell[0] += 1
                    cell[1] += count
                    cell[2] += amount
        for month, (count, amount) in per_month.items():
            if month >= first_month:
                row = monthly[key, month]
                row.buyers += 1
                row.orders += count
                row.revenue += amount
        # state at each judged day: the last order on or before it
        days = [day for day, _amount in orders]
        i, n = 0, len(days)
        for month, day in zip(months, judged):
            if day < days[0]:
                continue
            while i + 1 < n and days[i + 1] <= day:
                i += 1
            gap = (day - days[i]).days
            row = monthly[key, month]
            if gap < active_days:
                row.active += 1
            elif gap < risk_days:
                row.at_risk += 1
            else:
                row.churned += 1

    def keyed(model, key, **values):
        owner_id, department_id, source = key
        return model(owner_id=owner_id, department_id=department_id, source=source, **values)

    rows = _state_rows()
    rows += [
        keyed(CustomerSpendRollup, key, floor=floor, customers=n, revenue=revenue)
        for (key, floor), (n, revenue) in spend.items()
    ]
    rows += [
        keyed(CustomerMonthRollup, key, month=month, **{name: getattr(m, name) for name in _Month.__slots__})
        for (key, month), m in monthly.items()
    ]
    rows += [
        keyed(CohortRollup, key, cohort=cohort, months_since=k, customers=n, orders=orders, revenue=revenue)
        for (key, cohort, k), (n, orders, revenue) in cohorts.items()
    ]
    rows += _flow_rows()
    return rows


def refresh_dashboard(*, now=None):
    """Rebuild every rollup of the customer dashboard; return the run (refreshed_at, seconds, rows)."""
    started = time.monotonic()
    now = now or timezone.now()
    settings = SegmentationSettings.current()
    with transaction.atomic():
        run, _created = RollupRun.objects.get_or_create(name=RUN_NAME)
        run = RollupRun.objects.select_for_update().get(pk=run.pk)  # one refresh at a time
        rows = build_rollups(today=timezone.localdate(now), settings=settings)
        by_model = defaultdict(list)
        for row in rows:
            by_model[type(row)].append(row)
        for model in ROLLUP_MODELS:
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute(f"DELETE FROM {model._meta.db_table}")
            else:
                model.objects.all().delete()
            model.objects.bulk_create(by_model.get(model, []), batch_size=2000)
        run.refreshed_at = now
        run.seconds = round(time.monotonic() - started, 2)
        run.rows = len(rows)
        run.save()
    cache.set(GENERATION_KEY, uuid.uuid4().hex, None)
    return run


def generation():
    """The token of the last refresh seen by this cache (a new one when the cache lost it)."""
    cache.add(GENERATION_KEY, uuid.uuid4().hex, None)
    return cache.get(GENERATION_KEY) or ""
