"""Set-based writes of the value figures: UPDATE ... FROM (VALUES ...) on PostgreSQL, bulk_update elsewhere."""

import datetime
from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from customers.models import Customer, LifecycleChange, Order
from customers.services import recompute_all
from customers.services.bulk import update_rows
from customers.services.orders import rebuild_value_figures
from customers.tests.factories import CustomerFactory, make_order


def test_update_rows_writes_each_rows_own_values_including_nulls(db):
    first, second = CustomerFactory(), CustomerFactory()
    moment = timezone.now().replace(microsecond=0)
    written = update_rows(
        Customer,
        ["order_count", "total_amount", "last_order_at", "median_interval_days", "grid_class"],
        [
            (first.pk, 3, Decimal("12.50"), moment, None, "A"),
            (second.pk, 0, Decimal("0"), None, Decimal("4.5"), ""),
        ],
    )
    assert written == 2
    first.refresh_from_db(), second.refresh_from_db()
    assert (
        first.order_count,
        first.total_amount,
        first.last_order_at,
        first.median_interval_days,
        first.grid_class,
    ) == (3, Decimal("12.50"), moment, None, "A")
    assert (second.order_count, second.last_order_at, second.median_interval_days) == (0, None, Decimal("4.5"))
    assert update_rows(Customer, ["order_count"], []) == 0


def test_update_rows_on_postgresql_is_one_statement_per_batch(postgres):
    customers = [CustomerFactory() for _ in range(25)]
    with CaptureQueriesContext(connection) as queries:
        update_rows(
            Customer,
            ["order_count", "total_amount"],
            [(c.pk, i, Decimal(i) / 4) for i, c in enumerate(customers)],
            batch_size=10,
        )
    assert len(queries) == 3 and all("FROM (VALUES" in q["sql"] for q in queries.captured_queries)
    assert dict(Customer.objects.values_list("pk", "total_amount"))[customers[5].pk] == Decimal("1.25")


def test_rebuild_writes_only_changed_customers_and_matches_the_per_order_refresh(db):
    now = timezone.now()
    buyer, idle = CustomerFactory(), CustomerFactory()
    for days in (40, 30, 10):
        make_order(buyer, "100.00", placed_at=now - datetime.timedelta(days=days))
    expected = Customer.objects.get(pk=buyer.pk)  # as the per-order refresh left it
    rebuild_value_figures(now=now)  # classifies the idle customer (a new one has no 3×3 class yet)
    Customer.objects.filter(pk=buyer.pk).update(
        order_count=0, total_amount=0, avg_order_value=0, last_order_at=None, lifecycle_stage="potential"
    )
    assert rebuild_value_figures(now=now) == 1  # only the buyer's figures differ
    buyer.refresh_from_db()
    for name in (
        "order_count",
        "total_amount",
        "avg_order_value",
        "first_order_at",
        "last_order_at",
        "previous_order_at",
        "median_interval_days",
        "value_segment",
        "volume_level",
        "lifecycle_stage",
    ):
        assert getattr(buyer, name) == getattr(expected, name), name
    assert LifecycleChange.objects.filter(customer=buyer, from_stage="potential").exists()
    assert rebuild_value_figures(now=now) == 0
    Order.objects.filter(customer=buyer).update(status=Order.Status.CANCELLED)
    assert rebuild_value_figures(customer_ids=[buyer.pk, idle.pk], now=now) == 1
    buyer.refresh_from_db()
    assert buyer.order_count == 0 and buyer.lifecycle_stage == "potential" and buyer.last_order_at is None


def test_recompute_all_writes_changed_classes_in_few_queries(db, django_assert_max_num_queries):
    now = timezone.now()
    customers = [CustomerFactory() for _ in range(12)]
    for customer in customers:
        make_order(customer, "50.00", placed_at=now - datetime.timedelta(days=5))
    later = now + datetime.timedelta(days=200)  # every one of them has churned by then
    with django_assert_max_num_queries(10):
        result = recompute_all(now=later)
    assert result == {"updated": 12, "stage_changes": 12}
    assert set(Customer.objects.values_list("lifecycle_stage", flat=True)) == {"churned"}
