"""The roll-up of closed months behind the 经营分析 and the policy effect: the same figures as the
lines give, after the catalogue moves a SKU, with the current month counted live, for a manager's
own customers outside their departments, and forgotten by a rebuild."""

import datetime

import pytest
from django.db.models import F
from django.utils import timezone

from catalog import analysis, rollup, sold_lines
from catalog.models import Product, Sku, SoldMonth, SoldRollup
from catalog.tests.factories import ProductFactory, category
from catalog.tests.test_analysis import YEAR, at, sales  # noqa: F401 (the fixture)
from catalog.tests.test_sold_lines import assert_same_figures, more  # noqa: F401 (the fixture)
from customers.services import cancel_order, place_order
from customers.tests.factories import CustomerFactory


def test_closed_months_wait_an_hour_after_the_month_ends():
    tz = timezone.get_current_timezone()
    just_after = datetime.datetime(2026, 5, 1, 0, 30, tzinfo=tz)
    assert rollup.closed_months(2026, now=just_after) == [datetime.date(2026, m, 1) for m in (1, 2, 3)]
    later = datetime.datetime(2026, 5, 1, 1, 0, tzinfo=tz)
    assert rollup.closed_months(2026, now=later)[-1] == datetime.date(2026, 4, 1)
    assert rollup.closed_months(2027, now=later) == []


def test_a_sku_moved_to_another_product_moves_its_figures(org, sales, more):
    users = [org.admin, org.director, org.manager1, org.rep1]
    assert_same_figures(users)
    rolled = SoldMonth.objects.filter(rolled__gte=0).count()
    assert rolled > 0
    other = ProductFactory(code="EDU-ENG", name="英语一对一", category=category("语言"))
    Sku.objects.filter(code="MATH-48").update(product=other)
    assert SoldMonth.objects.filter(rolled__gte=0).exclude(version=F("rolled")).count() == rolled
    assert_same_figures(users)
    by_product = {r["label"]: r["gmv"] for r in analysis.business_analysis(org.admin, year=YEAR, by="product")["rows"]}
    assert "EDU-ENG 英语一对一" in by_product and "EDU-MATH 数学一对一" not in by_product
    # a product moved to another category
    Product.objects.filter(code="HOME-CLEAN").update(category=category("保洁服务"))
    assert_same_figures(users)


def test_the_current_month_is_counted_from_the_lines(org, sales):
    today = timezone.localdate()
    customer = CustomerFactory(owner=org.rep1, department=org.team1, region="310104")
    place_order(customer=customer, amount="500", lines=[{"sku": "CLEAN-4"}], channel="online")
    place_order(
        customer=customer,
        amount="900",
        lines=[{"sku": "MATH-48"}],
        channel="store",
        placed_at=timezone.make_aware(datetime.datetime(today.year, 1, 5, 10, 0)),
    )
    users = [org.admin, org.director, org.manager1, org.rep1]
    assert_same_figures(users, year=today.year)
    months = {r["key"] for r in analysis.business_analysis(org.admin, year=today.year, by="month")["rows"]}
    assert today.strftime("%Y-%m") in months
    assert not SoldRollup.objects.filter(grain="m", start=today.replace(day=1)).exists()
    assert not SoldRollup.objects.filter(start=today).exists()


def test_the_days_of_the_current_month_are_rolled_up_one_by_one():
    tz = timezone.get_current_timezone()
    periods = rollup.Periods(2026, now=datetime.datetime(2026, 12, 7, 9, 0, tzinfo=tz))
    assert periods.months[-1] == datetime.date(2026, 11, 1)
    assert periods.days == [datetime.date(2026, 12, d) for d in range(1, 7)]
    assert periods.live_from == datetime.datetime(2026, 12, 7, tzinfo=tz)
    # just after midnight, yesterday is not settled yet; on New Year's morning, December's days
    early = rollup.Periods(2026, now=datetime.datetime(2026, 12, 7, 0, 30, tzinfo=tz))
    assert early.days[-1] == datetime.date(2026, 12, 5)
    new_year = rollup.Periods(2026, now=datetime.datetime(2027, 1, 1, 0, 30, tzinfo=tz))
    assert new_year.months[-1] == datetime.date(2026, 11, 1) and new_year.days[-1] == datetime.date(2026, 12, 30)
    assert new_year.live_from == datetime.datetime(2026, 12, 31, tzinfo=tz)
    past = rollup.Periods(2025, now=datetime.datetime(2026, 12, 7, 9, 0, tzinfo=tz))
    assert len(past.months) == 12 and past.days == []
    assert past.live_from == datetime.datetime(2026, 1, 1, tzinfo=tz)


def test_yesterdays_late_refund_reaches_the_figures(org, sales):
    today = timezone.localdate()
    if today.day == 1:
        pytest.skip("no closed day in the month yet")
    customer = CustomerFactory(owner=org.rep1, department=org.team1, region="310104")
    yesterday = timezone.make_aware(datetime.datetime.combine(today - datetime.timedelta(days=1), datetime.time(9)))
    order = place_order(customer=customer, amount="500", lines=[{"sku": "CLEAN-4"}], placed_at=yesterday)
    users = [org.admin, org.manager1]
    assert_same_figures(users, year=today.year)
    cancel_order(order=order)
    assert_same_figures(users, year=today.year)


def test_orders_in_the_first_hours_of_a_rolled_period_count(org, sales):
    """An order placed between midnight and eight in the morning (Shanghai) is the previous day in
    UTC: the roll-up counts it in its local month and day, on SQLite as on PostgreSQL."""
    today = timezone.localdate()
    customer = CustomerFactory(owner=org.rep1, department=org.team1, region="310104")
    early = [timezone.make_aware(datetime.datetime(YEAR, 1, 1, 7, 30))]
    if today.year == YEAR and today.day > 2:  # the month's first day is a closed, rolled day
        early.append(timezone.make_aware(datetime.datetime(YEAR, today.month, 1, 0, 15)))
    for placed_at in early:
        place_order(customer=customer, amount="500", lines=[{"sku": "CLEAN-4"}], placed_at=placed_at)
    assert_same_figures([org.admin, org.manager1, org.rep1])
    january = analysis.business_analysis(org.admin, year=YEAR, by="month")["rows"][0]
    assert january["key"] == f"{YEAR}-01"
    assert SoldRollup.objects.filter(dim="month", grain="m", start=datetime.date(YEAR, 1, 1)).exists()


def test_a_managers_own_customers_outside_their_departments_count_once(org, sales):
    outside = CustomerFactory(owner=org.manager1, department=org.sales2, region="320102")
    place_order(customer=outside, amount="700", lines=[{"sku": "CLEAN-4"}], channel="store", placed_at=at(2))
    place_order(customer=outside, amount="300", lines=[{"sku": "CLEAN-4"}], channel="store", placed_at=at(3))
    inside = CustomerFactory(owner=org.manager1, department=org.team1, region="310104")
    place_order(customer=inside, amount="500", lines=[{"sku": "CLEAN-4"}], channel="online", placed_at=at(2))
    assert_same_figures([org.manager1, org.manager2, org.director])
    total = analysis.business_analysis(org.manager1, year=YEAR, by="channel")["total"]
    assert total == analysis.business_analysis(org.manager1, year=YEAR, by="product")["total"]


def test_a_rebuild_forgets_the_rollup(org, sales):
    assert_same_figures([org.admin])
    assert SoldRollup.objects.exists() and SoldMonth.objects.exists()
    sold_lines.rebuild()
    assert not SoldRollup.objects.exists() and not SoldMonth.objects.exists()
    assert_same_figures([org.admin])


@pytest.mark.django_db
def test_reading_rolls_each_stale_month_once(org, sales, django_assert_max_num_queries):
    analysis.business_analysis(org.admin, year=YEAR, by="product")
    with django_assert_max_num_queries(1):
        rollup.fresh_periods(rollup.Periods(YEAR))
