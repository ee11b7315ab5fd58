"""The segmentation page read from the dashboard rollups (counts, grid, stages, flows) and from the
per-scope cache of its live parts (scatter, 80/20): the same figures as the live computation."""

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection

from customers import selectors_segments
from customers.models import CustomerTag, LifecycleChange
from customers.services.dashboard import refresh_dashboard
from customers.tests.factories import CustomerFactory, TagFactory, make_order

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime.datetime(2025, 6, 15, 12, 0, tzinfo=TZ)
SINCE, UNTIL = datetime.date(2025, 1, 1), datetime.date(2025, 6, 15)
URL = "/customers/segments/"


def at(y, m, d):
    return datetime.datetime(y, m, d, 12, 0, tzinfo=TZ)


@pytest.fixture
def data(org):
    with time_machine.travel(NOW, tick=False):
        plan = [
            (org.rep1, [((2025, 1, 10), 1000), ((2025, 2, 5), 500), ((2025, 6, 1), 500)]),
            (org.rep1, [((2024, 12, 1), 100)]),
            (org.rep2, [((2025, 1, 20), 300), ((2025, 3, 1), 2500)]),
            (org.rep3, [((2025, 2, 10), 4000), ((2025, 3, 10), 1000), ((2025, 4, 10), 80)]),
            (org.rep3, []),
            (org.manager1, [((2025, 5, 5), 60)]),
            (org.manager2, [((2025, 1, 3), 9000)]),
        ]
        customers = []
        for owner, orders in plan:
            customer = CustomerFactory(owner=owner)
            for day, amount in orders:
                make_order(customer, amount, placed_at=at(*day))
            customers.append(customer)
        LifecycleChange.objects.bulk_create(
            [
                LifecycleChange(
                    customer=customers[0], from_stage="first_order", to_stage="developing", changed_at=at(2025, 2, 5)
                ),
                LifecycleChange(
                    customer=customers[2], from_stage="developing", to_stage="at_risk", changed_at=at(2025, 5, 20)
                ),
            ]
        )
        refresh_dashboard(now=NOW)
    return customers


def figures(data):
    """The parts of the overview that are compared (the freshness fields aside)."""
    return {name: data[name] for name in ("quadrant", "scatter", "lifecycle", "flows", "pareto")} | {
        "grid": [(c.letter, c.count, c.revenue, c.unrated) for _level, cells in data["grid"].rows for c in cells]
        + [data["grid"].unclassified, data["grid"].total_count, data["grid"].total_revenue]
    }


@pytest.mark.parametrize("username", ["admin", "director", "manager1", "manager2", "rep1", "rep3"])
def test_rollup_figures_equal_the_live_computation(data, org, username):
    user = getattr(org, username)
    live = selectors_segments.segmentation_overview(user, since=SINCE, until=UNTIL, live=True)
    fast = selectors_segments.segmentation_overview(user, since=SINCE, until=UNTIL)
    assert live["as_of"] is None and fast["as_of"] is not None
    assert figures(fast) == figures(live)
    assert fast["quadrant"]["total_count"] == selectors_segments.customers_for(user).count()
    # the second visit reads the cached scatter / 80/20: still the same
    again = selectors_segments.segmentation_overview(user, since=SINCE, until=UNTIL)
    assert figures(again) == figures(live)
    assert again["heavy_as_of"] == fast["heavy_as_of"]


def test_department_and_owner_filters_from_the_rollups(data, org):
    for narrowing in ({"department": org.sales1}, {"owner": org.rep1}, {"department": org.team1, "owner": org.rep1}):
        live = selectors_segments.segmentation_overview(org.admin, since=SINCE, until=UNTIL, live=True, **narrowing)
        fast = selectors_segments.segmentation_overview(org.admin, since=SINCE, until=UNTIL, **narrowing)
        assert fast["as_of"] is not None
        assert figures(fast) == figures(live), narrowing


def test_tag_filter_is_computed_live(data, org):
    tag = TagFactory()
    CustomerTag.objects.create(customer=data[0], tag=tag)
    result = selectors_segments.segmentation_overview(org.admin, since=SINCE, until=UNTIL, tags=[tag])
    assert result["as_of"] is None
    assert result == selectors_segments.segmentation_overview(
        org.admin, since=SINCE, until=UNTIL, live=True, tags=[tag]
    )


def test_new_refresh_recomputes_the_cached_parts(data, org):
    first = selectors_segments.segmentation_overview(org.admin, since=SINCE, until=UNTIL)
    with time_machine.travel(NOW, tick=False):
        make_order(data[4], 700, placed_at=at(2025, 6, 10))
    stale = selectors_segments.segmentation_overview(org.admin, since=SINCE, until=UNTIL)
    assert stale["pareto"] == first["pareto"]  # as of the last refresh, as the page says
    with time_machine.travel(NOW + datetime.timedelta(minutes=10), tick=False):
        refresh_dashboard()
    fresh = selectors_segments.segmentation_overview(org.admin, since=SINCE, until=UNTIL)
    live = selectors_segments.segmentation_overview(org.admin, since=SINCE, until=UNTIL, live=True)
    assert fresh["pareto"]["customers"] == first["pareto"]["customers"] + 1
    assert figures(fresh) == figures(live)


def test_page_says_how_fresh_the_figures_are(data, org, client):
    client.force_login(org.admin)
    page = client.get(URL).content.decode()
    assert 'data-testid="freshness"' in page
    freshness = page.split('data-testid="freshness"')[1].split("</div>")[0]
    assert "2025-06-15" in freshness, freshness  # the day of the rollups' refresh (local)
    client.force_login(org.rep1)
    assert client.get(URL).status_code == 200


def test_page_without_rollups_is_live(org, client):
    CustomerFactory(owner=org.rep1)
    client.force_login(org.admin)
    response = client.get(URL)
    assert response.status_code == 200
    assert response.context["as_of"] is None


def test_trigram_index_serves_name_search(postgres, org):
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'customer_name_trgm'")
        (definition,) = cursor.fetchone()
    assert "gin_trgm_ops" in definition and "upper" in definition.lower()
