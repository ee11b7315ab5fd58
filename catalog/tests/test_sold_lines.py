"""The table of sold lines the 经营分析 and the policy effect count from: equal to a fresh join of
the order lines, orders and customers after every kind of change (on the database the tests run
on: PostgreSQL with ``DATABASE_URL``, SQLite without), the figures equal to a direct aggregation of
the order lines for every user and dimension, and the check and rebuild command."""

from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import F, OuterRef, Subquery
from django.db.models.functions import TruncMonth
from django.utils import timezone

from catalog import analysis, sold_lines
from catalog.models import Sku, SoldLine, SoldRollup
from catalog.tests.test_analysis import YEAR, at, sales  # noqa: F401 (the fixture)
from customers.models import Customer, Order, OrderLine
from customers.services import cancel_order, place_order
from customers.services.records import assign_customers, merge_customers
from customers.tests.factories import CustomerFactory

FIELDS = (
    "order_id",
    "customer_id",
    "owner_id",
    "department_id",
    "status",
    "placed_at",
    "channel",
    "region_province",
    "region_city",
    "sku_id",
    "category",
    "quantity",
    "price",
    "cost",
    "policy_id",
    "policy_name",
    "policy_price",
)


def fresh():
    """Every order line joined to its order and customer, as the table should hold it."""
    return {
        line.pk: (
            line.order_id,
            line.order.customer_id,
            line.order.customer.owner_id,
            line.order.customer.department_id,
            line.order.status,
            line.order.placed_at,
            line.order.channel,
            line.order.customer.region_province,
            line.order.customer.region_city,
            line.sku,
            line.category,
            line.quantity,
            line.price,
            line.cost,
            line.policy_id,
            line.policy_name,
            line.policy_price,
        )
        for line in OrderLine.objects.select_related("order", "order__customer")
    }


def stored():
    return {row[0]: row[1:] for row in SoldLine.objects.values_list("id", *FIELDS)}


def direct(user, *, year, by):
    """The business analysis aggregated straight from the order lines joined to their orders and
    customers (how it was counted before the table)."""
    lines = analysis.in_year(analysis.order_lines_for(user), year)
    sku = Sku.objects.filter(code=OuterRef("sku"))
    key = {
        "product": Subquery(sku.values("product_id")[:1]),
        "category": Subquery(sku.values("product__category_id")[:1]),
        "channel": F("order__channel"),
        "province": F("order__customer__region_province"),
        "city": F("order__customer__region_city"),
        "month": TruncMonth("order__placed_at"),
    }[by]
    rows = {}
    for row in analysis._aggregate(lines.annotate(key=key), "key"):
        k = row["key"]
        k = timezone.localtime(k).strftime("%Y-%m") if by == "month" and k else ("" if k in (None, "") else str(k))
        rows[k] = analysis._figures(row)
    return rows, analysis._figures(lines.aggregate(**analysis._sums()))


def direct_policy_effect(user, *, year):
    lines = analysis.in_year(analysis.order_lines_for(user), year).filter(policy_price__isnull=False)
    policies = {row["policy_id"]: analysis._figures(row) for row in analysis._aggregate(lines, "policy_id")}
    months = {m: {"month": m, "policy": analysis._figures({}), "none": analysis._figures({})} for m in range(1, 13)}
    for under in (True, False):
        by_month = lines.filter(policy_id__isnull=not under).annotate(month=TruncMonth("order__placed_at"))
        for row in analysis._aggregate(by_month, "month"):
            months[timezone.localtime(row["month"]).month]["policy" if under else "none"] = analysis._figures(row)
    return policies, list(months.values())


def assert_same_figures(users, year=YEAR):
    for user in users:
        for by in analysis.DIMENSIONS:
            data = analysis.business_analysis(user, year=year, by=by)
            rows, total = direct(user, year=year, by=by)
            got = {
                row["key"]: {k: row[k] for k in ("orders", "quantity", "gmv", "margin", "margin_rate")}
                for row in data["rows"]
            }
            assert (got, data["total"]) == (rows, total), (user.username, by)
        effect = analysis.policy_effect(user, year=year)
        policies, months = direct_policy_effect(user, year=year)
        got = {
            p["id"]: {k: p[k] for k in ("orders", "quantity", "gmv", "margin", "margin_rate")}
            for p in effect["policies"]
        }
        if effect["none"]["orders"]:
            got[None] = effect["none"]
        assert (got, effect["months"]) == (policies, months), user.username


@pytest.fixture
def more(org, sales):
    """A third customer in another team, orders across the year, one with two lines of one product."""
    ningbo = CustomerFactory(owner=org.rep2, department=org.sales1, region="330200")
    for month in (1, 6, 11):
        place_order(
            customer=ningbo, amount="600", lines=[{"sku": "CLEAN-4"}], channel="mini_program", placed_at=at(month)
        )
    place_order(
        customer=ningbo,
        amount="2000",
        lines=[{"sku": "MATH-48"}, {"sku": "MATH-48", "quantity": 2, "price": "500"}],
        channel="online",
        placed_at=at(7),
    )
    return ningbo


def test_the_table_is_filled_from_the_order_lines_and_counts_as_they_do(org, sales, more):
    assert stored() == fresh() != {}
    assert sold_lines.drift() == 0
    assert_same_figures([org.admin, org.director, org.manager1, org.manager2, org.rep1, org.rep2, org.rep3])


def test_the_table_stays_a_fresh_join_through_every_change(org, sales, more):
    # the closed months are rolled up first: every change below must reach the figures
    assert_same_figures([org.admin, org.manager1])
    assert SoldRollup.objects.exists()
    orders = sales["orders"]
    shanghai, hangzhou = orders[0].customer, orders[2].customer
    # creates: an order placed through the service
    placed = place_order(
        customer=hangzhou, amount="1000", lines=[{"sku": "MATH-48"}], channel="online", placed_at=at(5)
    )
    # edits: a line's quantity and price, an order's channel and time, a line added and one deleted
    line = OrderLine.objects.get(order=orders[1], sku="CLEAN-4")
    line.quantity, line.price = 3, Decimal("240.00")
    line.save()
    OrderLine.objects.filter(order=orders[1], sku="MATH-48").update(quantity=2)
    order = Order.objects.get(pk=orders[3].pk)
    order.channel, order.placed_at = "online", at(8)
    order.save()
    OrderLine.objects.create(order=placed, sku="PLAIN-2", quantity=1, price=Decimal("20.00"))
    OrderLine.objects.filter(order=orders[3]).delete()
    # a cancellation, and a refund (which cancels the paid order)
    cancel_order(order=orders[0])
    cancel_order(order=Order.objects.filter(customer=more).order_by("placed_at").first())
    # owner hand-overs: through the service (the department follows the owner) and a plain update
    assign_customers(actor=org.admin, customers=Customer.objects.filter(pk=shanghai.pk), owner=org.rep3)
    Customer.objects.filter(pk=more.pk).update(owner=org.rep1)
    # a customer moved to another department, and to another city
    hangzhou.refresh_from_db()
    hangzhou.department = org.team1
    hangzhou.region = "330106"
    hangzhou.save()
    Customer.objects.filter(pk=more.pk).update(department=org.sales2)
    # a duplicate merged in (its orders move to the survivor), an order deleted
    duplicate = CustomerFactory(owner=org.rep2, department=org.sales1, region="310104")
    place_order(customer=duplicate, amount="1000", lines=[{"sku": "MATH-48"}], channel="store", placed_at=at(9))
    merge_customers(actor=org.admin, survivor=hangzhou, duplicate=duplicate)
    Order.objects.filter(pk=orders[2].pk).delete()

    assert stored() == fresh() != {}
    assert sold_lines.drift() == 0
    assert_same_figures([org.admin, org.manager1, org.manager2, org.rep1, org.rep2, org.rep3])
    # the rep who took Shanghai over sees its orders, the rep who gave it away no longer does
    rep3 = analysis.business_analysis(org.rep3, year=YEAR, by="city")["total"]
    assert (
        rep3["orders"]
        == Order.objects.filter(customer__owner=org.rep3, status="paid", lines__isnull=False).distinct().count()
    )


def test_the_command_finds_drift_and_rebuilds(org, sales, capsys):
    call_command("rebuild_sold_lines", "--check")
    SoldLine.objects.filter(pk=OrderLine.objects.order_by("pk").first().pk).update(quantity=99)
    SoldLine.objects.filter(pk=OrderLine.objects.order_by("pk").last().pk).delete()
    with connection.cursor() as cursor:
        vendor = connection.vendor
        cursor.execute(
            "DROP TRIGGER catalog_soldline_customer" + (" ON customers_customer" if vendor == "postgresql" else "")
        )
    # the changed row counts twice (its fresh form is missing, its stored form is extra), the deleted once
    assert sold_lines.drift() == 3
    with pytest.raises(CommandError):
        call_command("rebuild_sold_lines", "--check")
    assert "3 rows differ, 1 triggers missing" in capsys.readouterr().out
    call_command("rebuild_sold_lines")
    assert sold_lines.missing_triggers() == set()
    assert sold_lines.drift() == 0 and stored() == fresh()
    Customer.objects.filter(pk=sales["orders"][0].customer_id).update(owner=org.rep2)
    assert stored() == fresh()


def test_a_missing_trigger_is_put_back_after_migrate(org, sales):
    """SQLite drops a table's triggers when a migration remakes the table."""
    with connection.cursor() as cursor:
        suffix = " ON customers_orderline" if connection.vendor == "postgresql" else ""
        cursor.execute("DROP TRIGGER catalog_soldline_line_insert" + suffix)
    place_order(customer=sales["orders"][0].customer, amount="10", lines=[{"sku": "PLAIN-9", "price": "10"}])
    assert sold_lines.drift() == 1
    assert sold_lines.ensure() is True
    assert sold_lines.drift() == 0 and sold_lines.ensure() is False
