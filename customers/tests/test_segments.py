"""The segmentation pages: value quadrant, 3×3 grid, lifecycle, 80/20 and the thresholds."""

import datetime
import re
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from customers import selectors_segments
from customers.models import (
    Customer,
    LifecycleChange,
    LifecycleStage,
    SatisfactionLevel,
    SegmentationSettings,
    ValueSegment,
    VolumeLevel,
)
from customers.services import recompute_all, record_satisfaction, segmentation
from customers.services.segment_settings import save_segmentation_settings
from customers.tests.factories import CustomerFactory, TagFactory, make_order

NOW = datetime.datetime(2025, 6, 1, 12, 0, tzinfo=datetime.UTC)
DAY = datetime.timedelta(days=1)
SECOND = datetime.timedelta(seconds=1)
URL = "/customers/segments/"
SETTINGS_URL = "/customers/segments/settings/"


def defaults():
    """The documented defaults, without touching the database."""
    return SegmentationSettings()


def customer_with(owner, amounts, *, nps=None, csat=None, name=None):
    customer = CustomerFactory(owner=owner, **({"name": name} if name else {}))
    for amount in amounts:
        make_order(customer, amount)
    if nps is not None:
        record_satisfaction(customer=customer, kind="nps", score=nps, source="survey")
    if csat is not None:
        record_satisfaction(customer=customer, kind="csat", score=csat, source="survey")
    customer.refresh_from_db()
    return customer


def text_of(page, name):
    match = re.search(rf'data-testid="{re.escape(name)}">([^<]*)<', page)
    assert match, f"no {name} on the page"
    return match.group(1).strip()


# --- the rules, at their boundaries (pure functions) ---------------------------------------------------


@pytest.mark.parametrize(
    "order_count, aov, expected",
    [
        (0, "0", ValueSegment.POTENTIAL),
        (0, "9999", ValueSegment.POTENTIAL),
        (4, "500.00", ValueSegment.HIGH),  # exactly at both thresholds
        (4, "499.99", ValueSegment.FREQUENT),  # just under the AOV threshold
        (3, "500.00", ValueSegment.HIGH_AOV),  # just under the frequency threshold
        (3, "499.99", ValueSegment.LOW),
        (1, "10", ValueSegment.LOW),
    ],
)
def test_value_segment_boundaries(order_count, aov, expected):
    assert (
        segmentation.value_segment(order_count=order_count, avg_order_value=Decimal(aov), settings=defaults())
        == expected
    )


@pytest.mark.parametrize(
    "total, expected",
    [
        ("10000.00", VolumeLevel.HIGH),
        ("9999.99", VolumeLevel.MEDIUM),
        ("2000.00", VolumeLevel.MEDIUM),
        ("1999.99", VolumeLevel.LOW),
        ("0", VolumeLevel.LOW),
    ],
)
def test_volume_level_boundaries(total, expected):
    assert segmentation.volume_level(total_amount=Decimal(total), settings=defaults()) == expected


@pytest.mark.parametrize(
    "scores, expected",
    [
        ([], ""),
        ([("nps", 8)], SatisfactionLevel.HIGH),  # average exactly 8
        ([("nps", 8), ("nps", 7)], SatisfactionLevel.MEDIUM),  # 7.5
        ([("nps", 6)], SatisfactionLevel.MEDIUM),  # exactly 6
        ([("nps", 6), ("nps", 5)], SatisfactionLevel.LOW),  # 5.5
        ([("csat", 5)], SatisfactionLevel.HIGH),  # CSAT 5 → 10
        ([("csat", 4)], SatisfactionLevel.MEDIUM),  # CSAT 4 → 7.5
        ([("csat", 3)], SatisfactionLevel.LOW),  # CSAT 3 → 5
        ([("csat", 4), ("nps", 9)], SatisfactionLevel.HIGH),  # (7.5 + 9) / 2 = 8.25
        ([("csat", 4), ("nps", 4)], SatisfactionLevel.LOW),  # (7.5 + 4) / 2 = 5.75
    ],
)
def test_satisfaction_level_boundaries(scores, expected):
    assert segmentation.satisfaction_level(scores) == expected


def test_unrated_customers_fall_in_the_medium_satisfaction_row():
    assert segmentation.grid_class(satisfaction="", volume=VolumeLevel.HIGH) == "D"
    assert segmentation.grid_class(satisfaction="", volume=VolumeLevel.LOW) == "G"
    assert segmentation.grid_class(satisfaction=SatisfactionLevel.LOW, volume=VolumeLevel.HIGH) == "E"


def stage(order_count, *, gap, median=None, previous_gap=None):
    """The stage ``gap`` after the last order; ``previous_gap``: time between the last two orders."""
    last = NOW - gap
    previous = last - previous_gap if previous_gap is not None else (last - DAY if order_count >= 2 else None)
    return segmentation.lifecycle_stage(
        order_count=order_count,
        last_order_at=last if order_count else None,
        previous_order_at=previous,
        median_days=Decimal(median) if median is not None else None,
        now=NOW,
        settings=defaults(),
    )


@pytest.mark.parametrize(
    "order_count, expected",
    [
        (0, LifecycleStage.POTENTIAL),
        (1, LifecycleStage.FIRST_ORDER),
        (2, LifecycleStage.DEVELOPING),
        (8, LifecycleStage.DEVELOPING),
        (9, LifecycleStage.STABLE),
    ],
)
def test_lifecycle_by_order_count(order_count, expected):
    assert stage(order_count, gap=DAY, median="10") == expected


def test_at_risk_exactly_at_twice_the_median_interval_is_not_yet_at_risk():
    assert stage(5, gap=20 * DAY, median="10") == LifecycleStage.DEVELOPING
    assert stage(5, gap=20 * DAY + SECOND, median="10") == LifecycleStage.AT_RISK


def test_churned_past_four_times_the_median_interval():
    assert stage(5, gap=40 * DAY, median="10") == LifecycleStage.AT_RISK
    assert stage(5, gap=40 * DAY + SECOND, median="10") == LifecycleStage.CHURNED
    assert stage(9, gap=41 * DAY, median="10") == LifecycleStage.CHURNED


def test_own_interval_needs_three_orders():
    # three orders: the own median (10 days) counts
    assert stage(3, gap=21 * DAY, median="10") == LifecycleStage.AT_RISK
    # two orders: the fixed days count, whatever the median
    assert stage(2, gap=21 * DAY, median="10") == LifecycleStage.DEVELOPING


@pytest.mark.parametrize("order_count", [1, 2])
def test_fixed_day_thresholds_for_customers_with_few_orders(order_count):
    median = "10" if order_count == 2 else None
    assert stage(order_count, gap=90 * DAY, median=median) != LifecycleStage.AT_RISK
    assert stage(order_count, gap=90 * DAY + SECOND, median=median) == LifecycleStage.AT_RISK
    assert stage(order_count, gap=180 * DAY, median=median) == LifecycleStage.AT_RISK
    assert stage(order_count, gap=180 * DAY + SECOND, median=median) == LifecycleStage.CHURNED


def test_reactivated_after_a_churn_length_gap_for_sixty_days():
    # before the latest order the customer had 2 orders: churned after 180 days
    assert stage(3, gap=10 * DAY, median="100", previous_gap=180 * DAY + SECOND) == LifecycleStage.REACTIVATED
    assert stage(3, gap=10 * DAY, median="100", previous_gap=180 * DAY) == LifecycleStage.DEVELOPING
    assert stage(3, gap=60 * DAY, median="100", previous_gap=200 * DAY) == LifecycleStage.REACTIVATED
    assert stage(3, gap=60 * DAY + SECOND, median="100", previous_gap=200 * DAY) == LifecycleStage.DEVELOPING


def test_reactivated_comes_before_stable():
    # ten orders, own median 10 days: a 41-day gap before the latest order was a churn
    assert stage(10, gap=DAY, median="10", previous_gap=41 * DAY) == LifecycleStage.REACTIVATED
    assert stage(10, gap=DAY, median="10", previous_gap=40 * DAY) == LifecycleStage.STABLE


# --- the 3×3 grid ------------------------------------------------------------------------------------------


@pytest.fixture
def nine_classes(org):
    """Customers in known classes (revenue ¥42,600 in all)."""
    return {
        "A": customer_with(org.rep1, ["12000"], nps=9),
        "B": customer_with(org.rep1, ["3000"], nps=10),
        "C": customer_with(org.rep1, ["500"], csat=5),
        "D": customer_with(org.rep1, ["15000"]),  # unrated, counted as medium
        "F": customer_with(org.rep1, ["1000", "1000"], nps=7),  # exactly ¥2,000: medium volume
        "E": customer_with(org.rep1, ["10000"], nps=2),  # exactly ¥10,000: high volume
        "G": customer_with(org.rep1, ["100"]),
        "I": customer_with(org.rep1, [], nps=4),
    }


def test_fixture_customers_are_in_the_expected_classes(nine_classes):
    assert {letter: c.grid_class for letter, c in nine_classes.items()} == {k: k for k in nine_classes}


def test_grid_counts_and_revenue_shares(org, nine_classes, django_assert_num_queries):
    with django_assert_num_queries(1):
        grid = selectors_segments.grid(org.admin)
    assert grid.total_count == 8
    assert grid.total_revenue == Decimal("42600.00")
    shares = {cell.letter: (cell.count, cell.revenue_share) for _level, cells in grid.rows for cell in cells}
    assert shares == {
        "A": (1, Decimal("28.2")),
        "B": (1, Decimal("7.0")),
        "C": (1, Decimal("1.2")),
        "D": (1, Decimal("35.2")),
        "F": (1, Decimal("4.7")),
        "G": (1, Decimal("0.2")),
        "E": (1, Decimal("23.5")),
        "H": (0, Decimal("0.0")),
        "I": (1, Decimal("0.0")),
    }
    assert grid.unrated == 2
    assert grid.cell("D").service_model == "one_to_one" and grid.cell("D").stance == "improve"
    assert grid.cell("I").service_model == "retail" and grid.cell("I").stance == "correct"
    assert grid.cell("B").service_model == "one_to_many" and grid.cell("B").stance == "partner"


def test_grid_page_shows_counts_shares_models_and_links(client, org, nine_classes):
    client.force_login(org.manager1)
    page = client.get(URL, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert text_of(page, "count-A") == "1" and text_of(page, "share-A") == "28.2%"
    assert text_of(page, "count-E") == "1" and text_of(page, "share-E") == "23.5%"
    assert text_of(page, "count-H") == "0"
    for label in ("One-to-one", "One-to-many", "Through retailers", "Partner", "Improve", "Correct"):
        assert label in page
    assert "counted as medium satisfaction" in page
    assert 'href="/customers/?grid_class=E"' in page


# --- value quadrant --------------------------------------------------------------------------------------


def test_value_quadrant_counts_and_revenue(org):
    customer_with(org.rep1, ["600"] * 4)  # high value: ¥2,400
    customer_with(org.rep1, ["800"])  # high AOV, few orders
    customer_with(org.rep1, ["50"] * 5)  # frequent, low AOV: ¥250
    customer_with(org.rep1, ["100"])  # low value
    CustomerFactory(owner=org.rep1)  # potential
    quadrant = selectors_segments.value_quadrant(org.rep1)
    rows = {row["value"]: (row["count"], row["revenue"]) for row in quadrant["segments"]}
    assert rows == {
        "high": (1, Decimal("2400.00")),
        "high_aov": (1, Decimal("800.00")),
        "frequent": (1, Decimal("250.00")),
        "low": (1, Decimal("100.00")),
        "potential": (1, Decimal("0.00")),
    }
    assert quadrant["total_revenue"] == Decimal("3550.00")


def test_scatter_shows_everyone_in_small_scopes_with_threshold_lines(client, org):
    customer_with(org.rep1, ["600"] * 4)
    customer_with(org.rep1, ["100"])
    client.force_login(org.rep1)
    response = client.get(URL, HTTP_ACCEPT_LANGUAGE="en")
    option = response.context["scatter_option"]
    points = [point for series in option["series"][1:] for point in series["data"]]
    assert sorted(points) == [[1, 100.0, "low"], [4, 600.0, "high"]]
    lines = option["series"][0]["markLine"]["data"]
    assert lines[0]["xAxis"] == 4 and lines[1]["yAxis"] == 500.0
    assert "All 2 customers shown." in response.content.decode()


def test_scatter_samples_large_scopes_deterministically(client, org, monkeypatch):
    owners = [org.rep1, org.rep2, org.rep3]  # round-robin owners: ids with a period of 3
    Customer.objects.bulk_create(
        [
            Customer(
                name=f"c{i}",
                owner=owners[i % 3],
                department=owners[i % 3].department,
                order_count=i % 7,
                avg_order_value=i,
            )
            for i in range(3000)
        ]
    )
    monkeypatch.setattr(selectors_segments, "SCATTER_LIMIT", 300)
    first = selectors_segments.value_scatter(org.admin, total=3000)
    assert first["sampled"] and 250 <= first["shown"] <= 300
    assert first == selectors_segments.value_scatter(org.admin, total=3000)
    # a rep's customers (every third id) are sampled evenly too, not all or nothing
    rep = selectors_segments.value_scatter(org.rep1, total=1000, limit=100)
    assert rep["sampled"] and 80 <= rep["shown"] <= 100
    values = sorted(p[1] for points in rep["points"].values() for p in points)
    assert values[0] < 300 and values[-1] > 2700  # spread over the whole id range
    client.force_login(org.admin)
    page = client.get(URL, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f"A sample: {first['shown']} of 3,000 customers" in page


# --- lifecycle ------------------------------------------------------------------------------------------


def test_lifecycle_counts_and_flows_in_the_period(org):
    first = customer_with(org.rep1, ["100"])  # potential → first order, now
    developing = customer_with(org.rep1, ["100", "100"])  # potential → first → developing
    old = CustomerFactory(owner=org.rep1)
    LifecycleChange.objects.create(
        customer=old, from_stage="developing", to_stage="at_risk", changed_at=timezone.now() - 45 * DAY
    )  # outside the last 30 days
    counts = {row["value"]: row["count"] for row in selectors_segments.lifecycle_counts(org.rep1)}
    assert counts["first_order"] == 1 and counts["developing"] == 1 and counts["potential"] == 1
    today = timezone.localdate()
    flows = selectors_segments.lifecycle_flows(org.rep1, since=today - 30 * DAY, until=today)
    pairs = {(f["from"], f["to"]): f["count"] for f in flows["flows"]}
    assert pairs == {("potential", "first_order"): 2, ("first_order", "developing"): 1}
    # everything in scope (no join with the customers): the same flows, plus nobody else's
    CustomerFactory(owner=org.rep3).lifecycle_changes.create(from_stage="first_order", to_stage="churned")
    admin = {
        (f["from"], f["to"]): f["count"]
        for f in selectors_segments.lifecycle_flows(org.admin, since=today - 30 * DAY, until=today)["flows"]
    }
    assert admin == {**pairs, ("first_order", "churned"): 1}
    longer = selectors_segments.lifecycle_flows(org.rep1, since=today - 60 * DAY, until=today)
    assert {(f["from"], f["to"]) for f in longer["flows"]} >= {("developing", "at_risk")}
    assert first.lifecycle_stage == "first_order" and developing.lifecycle_stage == "developing"


def test_flow_period_comes_from_the_querystring(client, org):
    customer = CustomerFactory(owner=org.rep1)
    LifecycleChange.objects.create(
        customer=customer,
        from_stage="developing",
        to_stage="churned",
        changed_at=datetime.datetime(2024, 3, 5, 2, 0, tzinfo=datetime.UTC),
    )
    client.force_login(org.rep1)
    default = client.get(URL, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "No stage changed in this period." in default
    chosen = client.get(URL + "?since=2024-03-01&until=2024-03-31", HTTP_ACCEPT_LANGUAGE="en")
    assert chosen.context["flows"]["total"] == 1
    assert 'data-testid="flow-table"' in chosen.content.decode()
    wrong = client.get(URL + "?since=2024-04-01&until=2024-03-01", HTTP_ACCEPT_LANGUAGE="en")
    assert wrong.status_code == 200 and "The start must not be after the end." in wrong.content.decode()


def test_nightly_recompute_moves_a_customer_to_at_risk_and_keeps_the_change(org):
    with time_machine.travel(NOW, tick=False):
        customer = customer_with(org.rep1, ["300"])
    assert customer.lifecycle_stage == LifecycleStage.FIRST_ORDER
    with time_machine.travel(NOW + 90 * DAY, tick=False):
        recompute_all()
        customer.refresh_from_db()
        assert customer.lifecycle_stage == LifecycleStage.FIRST_ORDER
    with time_machine.travel(NOW + 91 * DAY, tick=False):
        recompute_all()
        customer.refresh_from_db()
        assert customer.lifecycle_stage == LifecycleStage.AT_RISK
        change = LifecycleChange.objects.filter(customer=customer).first()
        assert (change.from_stage, change.to_stage, change.changed_at) == ("first_order", "at_risk", timezone.now())
        today = timezone.localdate()
        flows = selectors_segments.lifecycle_flows(org.rep1, since=today, until=today)
        assert flows["flows"][0]["from"] == "first_order" and flows["flows"][0]["count"] == 1


def test_an_order_reclassifies_at_once_and_records_the_change(org):
    with time_machine.travel(NOW, tick=False):
        customer = customer_with(org.rep1, ["300"])
    with time_machine.travel(NOW + 200 * DAY, tick=False):
        recompute_all()
        make_order(customer, "300")
        customer.refresh_from_db()
    assert customer.lifecycle_stage == LifecycleStage.REACTIVATED
    stages = list(
        LifecycleChange.objects.filter(customer=customer)
        .order_by("changed_at", "id")
        .values_list("from_stage", "to_stage")
    )
    assert stages == [("potential", "first_order"), ("first_order", "churned"), ("churned", "reactivated")]


# --- 80/20 -------------------------------------------------------------------------------------------------


def test_top_twenty_percent_share_on_ten_customers(org):
    for amount in ["5000", "3000"] + ["250"] * 8:
        customer_with(org.rep1, [amount])
    CustomerFactory(owner=org.rep1)  # no orders: not counted
    result = selectors_segments.pareto(org.rep1)
    assert result["customers"] == 10 and result["revenue"] == Decimal("10000.00")
    assert result["top_customers"] == 2 and result["top_revenue"] == Decimal("8000.00")
    assert result["top_share"] == Decimal("80.0")
    assert result["curve"][:3] == [[0.0, 0.0], [10.0, 50.0], [20.0, 80.0]]
    assert result["curve"][-1] == [100.0, 100.0]


def test_pareto_with_more_customers_than_tiles(org):
    Customer.objects.bulk_create(
        [
            Customer(name=f"c{i}", owner=org.rep1, department=org.team1, order_count=1, total_amount=100 * i)
            for i in range(1, 26)
        ]
    )
    result = selectors_segments.pareto(org.rep1)
    # top 5 of 25: (21 + … + 25) × 100 = 11,500 of 32,500
    assert result["top_customers"] == 5 and result["top_revenue"] == Decimal("11500.00")
    assert result["top_share"] == Decimal("35.4")
    assert len(result["curve"]) == 21 and result["curve"][-1] == [100.0, 100.0]
    xs = [x for x, _y in result["curve"]]
    assert xs == sorted(xs)


def test_pareto_page(client, org):
    for amount in ["5000", "3000"] + ["250"] * 8:
        customer_with(org.rep1, [amount])
    client.force_login(org.rep1)
    page = client.get(URL, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert text_of(page, "top-share") == "80.0%"


# --- data scope ------------------------------------------------------------------------------------------


@pytest.fixture
def three_reps(org):
    return (
        customer_with(org.rep1, ["1000"], nps=9),
        customer_with(org.rep2, ["2000"], nps=9),
        customer_with(org.rep3, ["4000"], nps=9),
    )


@pytest.mark.parametrize(
    "who, count, revenue",
    [
        ("rep1", 1, "1000.00"),
        ("manager1", 2, "3000.00"),
        ("manager2", 1, "4000.00"),
        ("director", 3, "7000.00"),
    ],
)
def test_figures_cover_only_the_viewers_scope(org, three_reps, who, count, revenue):
    user = getattr(org, who)
    grid = selectors_segments.grid(user)
    assert (grid.total_count, grid.total_revenue) == (count, Decimal(revenue))
    assert selectors_segments.value_quadrant(user)["total_revenue"] == Decimal(revenue)
    assert selectors_segments.pareto(user)["revenue"] == Decimal(revenue)
    assert sum(row["count"] for row in selectors_segments.lifecycle_counts(user)) == count


def test_manager_page_shows_department_figures_only(client, org, three_reps):
    client.force_login(org.manager1)
    page = client.get(URL, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert text_of(page, "scope-total") == "2 customers"
    assert text_of(page, "count-B") == "1"  # rep2's ¥2,000: medium volume, high satisfaction
    assert text_of(page, "count-C") == "1"  # rep1's ¥1,000: low volume
    assert text_of(page, "count-A") == "0"  # rep3's ¥4,000 is in another department
    assert "3,000.00" in page or "3000.00" in page
    assert "7,000.00" not in page and "7000.00" not in page


def test_rep_page_shows_own_figures_only_and_no_scope_filters(client, org, three_reps):
    client.force_login(org.rep1)
    response = client.get(URL, HTTP_ACCEPT_LANGUAGE="en")
    assert text_of(response.content.decode(), "scope-total") == "1 customer"
    assert "department" not in response.context["form"].fields and "owner" not in response.context["form"].fields
    # a department or owner in the URL cannot widen the scope
    response = client.get(f"{URL}?department={org.sales2.pk}&owner={org.rep3.pk}", HTTP_ACCEPT_LANGUAGE="en")
    assert text_of(response.content.decode(), "scope-total") == "1 customer"


def test_manager_narrows_to_an_owner_and_the_links_keep_it(client, org, three_reps):
    client.force_login(org.manager1)
    response = client.get(f"{URL}?owner={org.rep2.pk}", HTTP_ACCEPT_LANGUAGE="en")
    page = response.content.decode()
    assert text_of(page, "scope-total") == "1 customer"
    assert f'href="/customers/?grid_class=B&amp;owner={org.rep2.pk}"' in page


def test_manager_cannot_pick_a_department_outside_the_scope(client, org, three_reps):
    client.force_login(org.manager1)
    response = client.get(f"{URL}?department={org.sales2.pk}", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert response.context["form"].errors["department"]
    assert text_of(response.content.decode(), "scope-total") == "2 customers"  # own scope, not sales2


def test_tag_filter_narrows_the_figures(client, org, three_reps):
    tag = TagFactory()
    three_reps[1].tags.add(tag)
    client.force_login(org.manager1)
    page = client.get(f"{URL}?tags={tag.pk}", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert text_of(page, "scope-total") == "1 customer"
    assert f"grid_class=B&amp;tags={tag.pk}" in page


# --- drill-down into the customer list ------------------------------------------------------------------


def test_customer_list_filters_by_segment_class_stage_and_satisfaction(client, org, nine_classes):
    client.force_login(org.rep1)

    def names(query):
        response = client.get(f"/customers/?{query}")
        return {row.record.name for row in response.context["table"].page.object_list}

    assert names("grid_class=E") == {nine_classes["E"].name}
    assert names("value_segment=high_aov") == {
        c.name for k, c in nine_classes.items() if k in "ABCDEFG" and c.value_segment == "high_aov"
    }
    assert names("lifecycle_stage=potential") == {nine_classes["I"].name}
    assert names("satisfaction_level=low") == {nine_classes["E"].name, nine_classes["I"].name}


# --- thresholds page ----------------------------------------------------------------------------------

THRESHOLDS = {
    "aov_threshold": "500",
    "frequency_threshold": "4",
    "volume_high": "10000",
    "volume_medium": "2000",
    "satisfaction_window_days": "365",
    "developing_after_orders": "2",
    "stable_after_orders": "9",
    "min_orders_for_interval": "3",
    "at_risk_multiple": "2",
    "churn_multiple": "4",
    "at_risk_days": "90",
    "churn_days": "180",
    "reactivated_days": "60",
}


@pytest.mark.parametrize("who", ["manager1", "director", "rep1", "marketing"])
def test_thresholds_page_is_forbidden_to_non_admins(client, org, who):
    client.force_login(getattr(org, who))
    assert client.get(SETTINGS_URL).status_code == 403
    assert client.post(SETTINGS_URL, {**THRESHOLDS, "aov_threshold": "1"}).status_code == 403
    assert SegmentationSettings.current().aov_threshold == 500


def test_thresholds_page_shows_the_documented_defaults_and_the_rules(client, org):
    client.force_login(org.admin)
    page = client.get(SETTINGS_URL, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    for text in (
        "Default: 500",
        "Default: 10,000",
        "Default: 2.0",
        "Default: 180",
        "How customers are classified",
        "counted as medium in the 3×3 grid",
    ):
        assert text in page


def test_saving_new_thresholds_reclassifies_customers(client, org, django_capture_on_commit_callbacks):
    customer = customer_with(org.rep1, ["200"])
    assert customer.value_segment == ValueSegment.LOW
    client.force_login(org.admin)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(SETTINGS_URL, {**THRESHOLDS, "aov_threshold": "150"})
    assert response.status_code == 302
    assert len(callbacks) == 1
    customer.refresh_from_db()
    assert customer.value_segment == ValueSegment.HIGH_AOV
    assert SegmentationSettings.current().aov_threshold == Decimal("150")


def test_inconsistent_thresholds_are_refused_beside_the_field(client, org, django_capture_on_commit_callbacks):
    client.force_login(org.admin)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(SETTINGS_URL, {**THRESHOLDS, "volume_medium": "20000"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "volume_high" in response.context["form"].errors
    assert not callbacks
    assert SegmentationSettings.current().volume_medium == 2000


def test_unchanged_thresholds_do_not_start_a_recompute(org, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        save_segmentation_settings(actor=org.admin, aov_threshold=Decimal("500.00"))
    assert not callbacks


def test_service_saves_outside_a_request_with_the_actor_in_the_audit_log(org, django_capture_on_commit_callbacks):
    from auditlog.context import auditlog_value
    from auditlog.models import LogEntry

    customer = customer_with(org.rep1, ["3000"])
    assert customer.volume_level == VolumeLevel.MEDIUM
    before = auditlog_value.get(None)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        save_segmentation_settings(actor=org.admin, volume_high=Decimal("2500"))
    assert len(callbacks) == 1
    customer.refresh_from_db()
    assert customer.volume_level == VolumeLevel.HIGH
    entry = LogEntry.objects.get_for_object(SegmentationSettings.current()).first()
    assert entry.actor == org.admin
    assert auditlog_value.get(None) is before  # the actor does not stick to the thread


def test_thresholds_saved_on_the_page_are_audited_with_the_admin(client, org):
    from auditlog.models import LogEntry

    client.force_login(org.admin)
    client.post(SETTINGS_URL, {**THRESHOLDS, "churn_days": "200"})
    entry = LogEntry.objects.get_for_object(SegmentationSettings.current()).first()
    assert entry.actor == org.admin and entry.changes_dict["churn_days"] == ["180", "200"]


def test_service_refuses_unknown_settings(org):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as error:
        save_segmentation_settings(actor=org.admin, updated_at=timezone.now())
    assert "updated_at" in error.value.message_dict


# --- speed ------------------------------------------------------------------------------------------------


def many_customers(org, n, *, start=0):
    owners = [org.rep1, org.rep2, org.rep3]
    letters = "ABCDEFGHI"
    customers = Customer.objects.bulk_create(
        [
            Customer(
                name=f"c{i}",
                owner=owners[i % 3],
                department=owners[i % 3].department,
                order_count=i % 12,
                total_amount=Decimal(37 * i),
                avg_order_value=Decimal(37 * i) / max(i % 12, 1),
                grid_class=letters[i % 9],
                value_segment=list(ValueSegment)[i % 5].value,
                lifecycle_stage=list(LifecycleStage)[i % 7].value,
            )
            for i in range(start, start + n)
        ]
    )
    LifecycleChange.objects.bulk_create(
        [LifecycleChange(customer=c, from_stage="developing", to_stage="at_risk") for c in customers[::2]]
    )
    tag = TagFactory()
    for c in customers[:5]:
        c.tags.add(tag)
    return tag


PAGE_QUERY_BUDGET = 18


@pytest.mark.parametrize("who", ["manager1", "admin", "rep1"])
def test_segmentation_page_runs_a_bounded_number_of_queries(client, org, django_assert_max_num_queries, who):
    SegmentationSettings.current()  # the row exists in any running system
    client.force_login(getattr(org, who))
    tag = many_customers(org, 10)
    filtered = f"{URL}?department={org.sales1.pk}&tags={tag.pk}&since=2020-01-01"
    counts = {}
    for size in (10, 300):
        if size == 300:
            many_customers(org, 290, start=10)
        for url in (URL, filtered):
            with django_assert_max_num_queries(PAGE_QUERY_BUDGET) as captured:
                response = client.get(url)
            assert response.status_code == 200
            counts[size, url] = len(captured)
    assert counts[10, URL] == counts[300, URL] and counts[10, filtered] == counts[300, filtered]
