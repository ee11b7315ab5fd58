"""The customer overview dashboard (客户大盘): figures against hand-computed values on a small fixed
data set, data scope, drill-downs, XLSX export, query bound and the refresh task.

The data set (dates local, Asia/Shanghai; "today" is 2025-06-15):

=====  ======  =========  ==============================================  ======  ==========
name   owner   created    paid orders                                     total   source
=====  ======  =========  ==============================================  ======  ==========
c1     rep1    2025-01-05 01-10 ¥1000, 02-05 ¥500, 06-01 ¥500              2000    website
c2     rep2    2025-01-06 01-20 ¥300                                       300     website
c3     rep3    2025-02-07 02-10 ¥4000, 03-10 ¥1000                         5000    referral
c4     rep3    2025-06-02 —                                                0       referral
c5     rep1    2024-11-20 2024-12-01 ¥100                                  100     website
=====  ======  =========  ==============================================  ======  ==========

rep1 is in team1 (under sales1), rep2 in sales1, rep3 in sales2.
"""

import datetime
import io
import re
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from openpyxl import load_workbook

from customers import selectors_dashboard
from customers.models import (
    CohortRollup,
    Customer,
    CustomerMonthRollup,
    LifecycleChange,
    RollupRun,
    StageFlowRollup,
)
from customers.selectors_dashboard import Filters
from customers.services.dashboard import refresh_dashboard, spend_floor
from customers.tasks import refresh_customer_dashboard
from customers.tests.factories import CustomerFactory, make_order

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime.datetime(2025, 6, 15, 12, 0, tzinfo=TZ)
TODAY = NOW.date()
URL = "/customers/dashboard/"
PERIOD = "?period=custom&date_from=2025-01-01&date_to=2025-06-15"


def at(y, m, d):
    return datetime.datetime(y, m, d, 12, 0, tzinfo=TZ)


@pytest.fixture
def travel():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def data(org, travel):
    def customer(name, owner, created, orders, source="website"):
        c = CustomerFactory(name=name, owner=owner, created_at=at(*created), source=source)
        for day, amount in orders:
            make_order(c, amount, placed_at=at(*day))
        c.refresh_from_db()
        return c

    customers = {
        "c1": customer("c1", org.rep1, (2025, 1, 5), [((2025, 1, 10), 1000), ((2025, 2, 5), 500), ((2025, 6, 1), 500)]),
        "c2": customer("c2", org.rep2, (2025, 1, 6), [((2025, 1, 20), 300)]),
        "c3": customer("c3", org.rep3, (2025, 2, 7), [((2025, 2, 10), 4000), ((2025, 3, 10), 1000)], "referral"),
        "c4": customer("c4", org.rep3, (2025, 6, 2), [], "referral"),
        "c5": customer("c5", org.rep1, (2024, 11, 20), [((2024, 12, 1), 100)]),
    }
    # stage changes with known dates (the ones the orders wrote are replaced)
    LifecycleChange.objects.all().delete()
    c = customers
    LifecycleChange.objects.bulk_create(
        [
            LifecycleChange(customer=c["c1"], from_stage="", to_stage="first_order", changed_at=at(2025, 1, 10)),
            LifecycleChange(
                customer=c["c1"], from_stage="first_order", to_stage="developing", changed_at=at(2025, 2, 5)
            ),
            LifecycleChange(customer=c["c2"], from_stage="", to_stage="first_order", changed_at=at(2025, 1, 20)),
            LifecycleChange(customer=c["c3"], from_stage="", to_stage="first_order", changed_at=at(2025, 2, 10)),
            LifecycleChange(customer=c["c2"], from_stage="first_order", to_stage="at_risk", changed_at=at(2025, 4, 20)),
            LifecycleChange(customer=c["c5"], from_stage="", to_stage="first_order", changed_at=at(2024, 12, 1)),
        ]
    )
    refresh_dashboard(now=NOW)
    return customers


def board(user, since=datetime.date(2025, 1, 1), until=TODAY, **filters):
    return selectors_dashboard.dashboard(user, Filters(**filters), since=since, until=until, today=TODAY)


def by(rows, key, value):
    return next(r for r in rows if r[key] == value)


# --- figures ------------------------------------------------------------------------------------------


def test_stage_counts_and_flows(org, data):
    d = board(org.admin)
    stages = {s["value"]: s["count"] for s in d["state"]["stages"]}
    assert Customer.objects.get(name="c1").lifecycle_stage == "developing"
    assert stages == {
        "potential": 1,
        "first_order": 0,
        "developing": 1,
        "stable": 0,
        "at_risk": 2,
        "churned": 1,
        "reactivated": 0,
    }
    flows = {(f["from"], f["to"]): f["count"] for f in d["flows"]["flows"]}
    # 2024-12-01 is before the period
    assert flows == {("", "first_order"): 3, ("first_order", "developing"): 1, ("first_order", "at_risk"): 1}
    assert d["flows"]["total"] == 5
    narrow = board(org.admin, since=datetime.date(2025, 2, 1), until=datetime.date(2025, 2, 28))
    assert {(f["from"], f["to"]): f["count"] for f in narrow["flows"]["flows"]} == {
        ("", "first_order"): 1,
        ("first_order", "developing"): 1,
    }


def test_quadrant_and_grid_counts_and_revenue_shares(org, data):
    state = board(org.admin)["state"]
    assert state["total"] == 5 and state["revenue"] == Decimal("7400.00")
    high_aov = by(state["segments"], "value", "high_aov")  # c1 (AOV 666.67, 3 orders), c3 (2500, 2)
    low = by(state["segments"], "value", "low")  # c2, c5
    assert (high_aov["count"], high_aov["revenue"], high_aov["revenue_share"]) == (
        2,
        Decimal("7000.00"),
        Decimal("94.6"),
    )
    assert (low["count"], low["revenue"], low["revenue_share"]) == (2, Decimal("400.00"), Decimal("5.4"))
    assert by(state["segments"], "value", "potential")["count"] == 1
    cells = {c["value"]: c for row in state["grid"] for c in row["cells"]}
    # unrated → medium satisfaction; c1, c3 ≥ ¥2,000 medium volume (F); c2, c5 low (G); c4 (no order
    # yet) is not classified until the nightly job
    assert (cells["F"]["count"], cells["F"]["revenue_share"]) == (2, Decimal("94.6"))
    assert (cells["G"]["count"], cells["G"]["revenue_share"]) == (2, Decimal("5.4"))
    assert sum(c["count"] for c in cells.values()) == 4 and state["unclassified"] == 1


def test_pareto_points(org, data):
    p = board(org.admin)["pareto"]
    assert (p["customers"], p["revenue"], p["top_customers"]) == (4, Decimal("7400.00"), 1)
    assert (p["top_revenue"], p["top_share"]) == (Decimal("5000.00"), Decimal("67.6"))
    assert [(pt["x"], pt["y"], pt["customers"]) for pt in p["points"]] == [
        (0.0, 0.0, 0),
        (25.0, 67.6, 1),
        (50.0, 94.6, 2),
        (75.0, 98.6, 3),
        (100.0, 100.0, 4),
    ]
    assert [pt["floor"] for pt in p["points"][1:]] == [
        Decimal("5000.00"),
        Decimal("2000.00"),
        Decimal("300.00"),
        Decimal("100.00"),
    ]


def test_spend_bands_have_two_significant_digits():
    assert spend_floor(Decimal("1234.56")) == Decimal("1200.00")
    assert spend_floor(Decimal("87.50")) == Decimal("87.00")
    assert spend_floor(Decimal("5.55")) == Decimal("5.50")
    assert spend_floor(Decimal("0")) == Decimal("0.00")


def test_monthly_new_active_at_risk_churned(org, data):
    months = {m["month"].strftime("%m"): m for m in board(org.admin)["monthly"]}
    assert list(months) == ["01", "02", "03", "04", "05", "06"]
    got = {k: (m["new_customers"], m["active"], m["at_risk"], m["churned"]) for k, m in months.items()}
    assert got == {
        "01": (2, 3, 0, 0),  # Jan 31: c5 61 days, c1 21, c2 11
        "02": (1, 4, 0, 0),  # Feb 28: c5 89 days (still active), c1, c2, c3
        "03": (0, 3, 1, 0),  # Mar 31: c5 120 days
        "04": (0, 2, 2, 0),  # Apr 30: c2 100 days
        "05": (0, 1, 2, 1),  # May 31: c5 181 days churned, c1 115 at risk, c3 82 active
        "06": (1, 1, 2, 1),  # today: c1 ordered 06-01; c3 97 days
    }
    assert months["06"]["as_of"] == TODAY
    assert (months["02"]["buyers"], months["02"]["orders"], months["02"]["revenue"]) == (2, 2, Decimal("4500.00"))


def test_cohort_retention_repurchase_aov_frequency(org, data):
    d = board(org.admin)
    cohorts = {row["cohort"].strftime("%m"): row for row in d["cohorts"]}
    jan, feb = cohorts["01"], cohorts["02"]
    assert jan["size"] == 2 and feb["size"] == 1
    rates = lambda row: [None if cell is None else cell["rate"] for cell in row["cells"]]  # noqa: E731
    assert rates(jan) == [Decimal("100.0"), Decimal("50.0"), 0, 0, 0, Decimal("50.0")] + [None] * 6
    assert rates(feb) == [Decimal("100.0"), Decimal("100.0"), 0, 0, 0] + [None] * 7
    assert cohorts["03"]["size"] == 0
    months = {m["month"].strftime("%m"): m for m in d["monthly"]}
    assert (months["01"]["repurchase_rate"], months["01"]["cohort_aov"], months["01"]["frequency"]) == (
        Decimal("50.0"),
        Decimal("575.00"),
        Decimal("2.00"),
    )
    assert (months["02"]["repurchase_rate"], months["02"]["cohort_aov"], months["02"]["frequency"]) == (
        Decimal("100.0"),
        Decimal("2500.00"),
        Decimal("2.00"),
    )


# --- scope and filters ----------------------------------------------------------------------------------


def test_manager2_sees_only_sales2_figures(org, data):
    d = board(org.manager2)
    assert d["state"]["total"] == 2 and d["state"]["revenue"] == Decimal("5000.00")
    assert (d["pareto"]["customers"], d["pareto"]["top_share"]) == (1, Decimal("100.0"))
    assert [row["size"] for row in d["cohorts"]][:2] == [0, 1]
    assert d["flows"]["total"] == 1
    june = d["monthly"][-1]
    assert (june["new_customers"], june["active"], june["at_risk"], june["churned"]) == (1, 0, 1, 0)


def test_a_rep_sees_only_their_own(org, data):
    d = board(org.rep1)  # c1 and c5
    assert d["state"]["total"] == 2 and d["state"]["revenue"] == Decimal("2100.00")
    june = d["monthly"][-1]
    assert (june["active"], june["at_risk"], june["churned"]) == (1, 0, 1)
    # a rep's page has no department / owner filter, and the owner in the URL cannot widen it
    assert board(org.rep1, owner=org.rep3)["state"]["total"] == 0


def test_filters_narrow_by_department_owner_and_source(org, data):
    assert board(org.director, department=org.sales1)["state"]["total"] == 1  # c2 (c1, c5 are in team1)
    assert board(org.director, owner=org.rep1)["state"]["total"] == 2
    assert board(org.director, source="referral")["state"]["total"] == 2


def test_page_shows_figures_freshness_and_filters_in_url(client, org, data):
    client.force_login(org.manager2)
    page = client.get(URL + PERIOD + "&source=referral").content.decode()
    assert re.search(r'data-testid="stage-at_risk">1<', page)
    assert 'data-testid="grid-share-F">100.0%<' in page
    assert "data-drill-items" in page and "saveAsImage" in page
    assert "2025-06-15" in page and "12:00" in page  # figures as of
    assert "source=referral" in page  # drill-downs and exports keep the filter
    assert "js/app.js" in page


def test_page_before_the_first_refresh(client, org, db):
    client.force_login(org.admin)
    response = client.get(URL)
    assert response.status_code == 200
    assert not RollupRun.objects.exists()


def test_bad_custom_period_shows_the_error(client, org, data):
    client.force_login(org.admin)
    response = client.get(URL + "?period=custom&date_from=2025-06-01&date_to=2025-05-01")
    assert response.status_code == 200
    assert response.context["form"].errors


def test_query_count_is_bounded(client, org, data, django_assert_max_num_queries):
    client.force_login(org.director)
    with django_assert_max_num_queries(17):  # lead source names once for the filter and the chart; +1: provinces
        assert client.get(URL + PERIOD).status_code == 200


# --- drill-downs land on lists with the same totals ---------------------------------------------------------


def list_total(client, url):
    response = client.get(url)
    assert response.status_code == 200
    return response.context["table"].paginator.count


def test_drill_down_totals_equal_the_chart_counts(client, org, data):
    client.force_login(org.director)
    response = client.get(URL + PERIOD)
    ctx = response.context
    checked = 0
    for s in ctx["state"]["stages"] + ctx["state"]["segments"]:
        assert list_total(client, s["drill"]) == s["count"], s["drill"]
        checked += 1
    for row in ctx["state"]["grid"]:
        for c in row["cells"]:
            assert list_total(client, c["drill"]) == c["count"]
    for m in ctx["monthly"]:
        assert list_total(client, m["drill_new"]) == m["new_customers"]
        for key in ("active", "at_risk", "churned"):
            assert list_total(client, m[f"drill_{key}"]) == m[key], (m["month"], key)
    for row in ctx["cohort_rows"]:
        assert list_total(client, row["drill"]) == row["size"]
        for cell in row["cells"]:
            if cell:
                assert list_total(client, cell["drill"]) == cell["count"], cell["drill"]
    for f in ctx["flows"]["flows"]:  # each customer changes at most once per (from, to) here
        assert list_total(client, f["drill"]) == f["count"]
    series = ctx["pareto_option"]["series"][0]["data"]
    for point, pt in zip(series[1:], ctx["pareto"]["points"][1:]):
        assert list_total(client, point["drill"]) == pt["customers"]
    assert checked == 12


def test_drill_down_keeps_the_dashboard_filter(client, org, data):
    client.force_login(org.director)
    ctx = client.get(URL + PERIOD + f"&department={org.sales2.pk}").context
    at_risk = by(ctx["state"]["stages"], "value", "at_risk")
    assert f"department={org.sales2.pk}" in at_risk["drill"]
    assert list_total(client, at_risk["drill"]) == at_risk["count"] == 1


# --- exports --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("table", ["lifecycle", "flows", "quadrant", "grid", "pareto", "monthly", "cohorts"])
def test_each_table_exports_to_xlsx(client, org, data, table):
    client.force_login(org.admin)
    response = client.get(URL + PERIOD + f"&export=xlsx&table={table}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert len(rows) > 1


def test_cohort_export_holds_the_retention_cells(client, org, data):
    client.force_login(org.admin)
    response = client.get(URL + PERIOD + "&export=xlsx&table=cohorts")
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    jan = next(r for r in rows if r[0] == "2025-01")
    assert jan[1] == 2 and float(jan[2]) == 50.0 and float(jan[3]) == 575.0 and float(jan[4]) == 2.0
    assert [float(v) if v is not None else None for v in jan[5:11]] == [100.0, 50.0, 0.0, 0.0, 0.0, 50.0]


def test_unknown_export_table_is_404(client, org, data):
    client.force_login(org.admin)
    assert client.get(URL + "?export=xlsx&table=nope").status_code == 404


# --- the refresh -----------------------------------------------------------------------------------------


def test_refresh_task_rebuilds_the_rollups(org, data, travel):
    CustomerMonthRollup.objects.all().delete()
    make_order(data["c4"], 800, placed_at=at(2025, 6, 10))
    refresh_customer_dashboard()
    run = RollupRun.objects.get()
    assert run.refreshed_at == NOW and run.rows > 0
    june = board(org.admin)["monthly"][-1]
    assert (june["buyers"], june["active"]) == (2, 2)
    assert CohortRollup.objects.filter(cohort=datetime.date(2025, 6, 1), months_since=0).get().customers == 1
    assert StageFlowRollup.objects.exists()
    # a second run replaces the rows, it does not add to them
    count = CustomerMonthRollup.objects.count()
    refresh_customer_dashboard()
    assert CustomerMonthRollup.objects.count() == count
