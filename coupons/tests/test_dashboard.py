"""The coupons and campaigns dashboard: figures against hand-computed values, scope, filters in the
URL, drill-down links, XLSX export, caching with live today, bounded queries."""

import datetime
import io
import json
import zoneinfo
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from coupons.models import Alert, BudgetAccount, Coupon, FiscalPeriod, Redemption
from coupons.services import dashboard as board
from coupons.tasks import warm_dashboard_figures
from coupons.tests.factories import make_batch
from customers.tests.factories import CustomerFactory, make_order

MAX_QUERIES = 18
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


class Data:
    """Two departments (sales1, sales2), three batches, two marketing campaigns.

    Within the period (the last 30 days):
      b1 (sales1, quantity 100): 4 claimed (3 app, 1 store); c1 (app) and c4 (store) redeemed;
         redemptions: c1 300/20, c4 500/30, plus an old coupon (claimed 40 days ago) 200/20;
         one reversed redemption (1000/50) does not count.
      b2 (sales1, quantity 50, name starts with "="): 2 claimed (app), none redeemed.
      b3 (sales2, quantity 40): 5 claimed (app), 1 redeemed: 400/40.
    """

    def __init__(self, org):
        today = timezone.localdate()
        now = timezone.now()
        period = FiscalPeriod.objects.create(
            name="FY-now",
            kind="year",
            start=today - datetime.timedelta(days=200),
            end=today + datetime.timedelta(days=160),
        )
        old = FiscalPeriod.objects.create(
            name="FY-2020", kind="year", start=datetime.date(2020, 1, 1), end=datetime.date(2020, 12, 31)
        )
        self.a1 = BudgetAccount.objects.create(
            period=period,
            department=org.sales1,
            total=Decimal("10000"),
            used=Decimal("1200"),
            reserved=Decimal("300"),
            gmv=Decimal("30000"),
            target_gmv=Decimal("100000"),
            owner=org.manager1,
        )
        self.a2 = BudgetAccount.objects.create(
            period=period,
            department=org.sales2,
            total=Decimal("5000"),
            used=Decimal("500"),
            gmv=Decimal("8000"),
            target_gmv=Decimal("20000"),
            owner=org.manager2,
        )
        self.a_old = BudgetAccount.objects.create(
            period=old, department=org.sales1, total=Decimal("999"), target_gmv=Decimal("1")
        )
        self.b1 = make_batch(org, account=self.a1, code="d1", name="一部满减A", quantity=100)
        self.b2 = make_batch(org, account=self.a1, code="d2", name="=SUM(A1)满减B", quantity=50)
        self.b3 = make_batch(org, account=self.a2, code="d3", name="二部满减C", quantity=40)
        customer = CustomerFactory(owner=org.rep1)
        when = now - datetime.timedelta(days=2)
        n = iter(range(1000))

        def coupon(batch, channel, status="claimed", at=when):
            return Coupon.objects.create(
                batch=batch,
                code=f"K{next(n)}",
                status=status,
                customer=customer,
                channel=channel,
                claimed_at=at,
                amount=Decimal("20"),
            )

        def redeem(c, account, amount, subsidy, at=now - datetime.timedelta(days=1), reversed_at=None):
            Redemption.objects.create(
                coupon=c,
                order=make_order(customer, amount=Decimal(amount)),
                account=account,
                order_amount=Decimal(amount),
                discount=Decimal(subsidy),
                subsidy=Decimal(subsidy),
                at=at,
                reversed_at=reversed_at,
            )

        c1 = coupon(self.b1, "app", "redeemed")
        c2 = coupon(self.b1, "app")
        coupon(self.b1, "app")
        c4 = coupon(self.b1, "store", "redeemed")
        old_coupon = coupon(self.b1, "app", "redeemed", at=now - datetime.timedelta(days=40))
        redeem(c1, self.a1, "300", "20")
        redeem(c4, self.a1, "500", "30")
        redeem(old_coupon, self.a1, "200", "20")
        redeem(c2, self.a1, "1000", "50", reversed_at=now)
        coupon(self.b2, "app")
        coupon(self.b2, "app")
        c5 = coupon(self.b3, "app", "redeemed")
        for _ in range(4):
            coupon(self.b3, "app")
        redeem(c5, self.a2, "400", "40")
        self.alert_efficiency = Alert.objects.create(
            kind=Alert.Kind.LOW_EFFICIENCY, batch=self.b1, day=today, message="一部满减A: low efficiency"
        )
        self.alert_balance = Alert.objects.create(
            kind=Alert.Kind.LOW_BALANCE, account=self.a2, day=today, message="二部预算: only ¥4500 left"
        )
        Alert.objects.create(
            kind=Alert.Kind.LOW_STOCK, batch=self.b1, day=today, message="resolved one", resolved_at=now
        )
        self.m1, self.m2 = self._campaigns(org, today)
        self.query = f"start={(today - datetime.timedelta(days=30)).isoformat()}&end={today.isoformat()}&period=custom"

    def _campaigns(self, org, today):
        from marketing.models import Campaign, CampaignStats

        span = dict(start=today - datetime.timedelta(days=10), end=today + datetime.timedelta(days=10))
        m1 = Campaign.objects.create(
            name="一部开放日", owner=org.marketing, department=org.sales1, status=Campaign.Status.RUNNING, **span
        )
        m2 = Campaign.objects.create(
            name="二部直播", owner=org.marketing, department=org.sales2, status=Campaign.Status.FINISHED, **span
        )
        Campaign.objects.create(name="草稿活动", owner=org.marketing, department=org.sales1, **span)  # draft: not shown
        CampaignStats.objects.create(
            campaign=m1,
            figures={
                "reached": 1000,
                "leads": 50,
                "deals": 10,
                "gmv": "20000.00",
                "cost": "5000.00",
                "roi": "3.00",
                "cost_per_deal": "500.00",
            },
        )
        CampaignStats.objects.create(
            campaign=m2,
            figures={
                "reached": 400,
                "leads": 20,
                "deals": 4,
                "gmv": "3000.00",
                "cost": "2000.00",
                "roi": "0.50",
                "cost_per_deal": "500.00",
            },
            refreshed_at=timezone.now() - datetime.timedelta(hours=1),
        )
        return m1, m2


@pytest.fixture
def data(org):
    return Data(org)


def _get(client, user, query="", max_queries=None, assert_max=None):
    client.force_login(user)
    if assert_max is not None:
        with assert_max(MAX_QUERIES):
            page = client.get(f"/coupons/dashboard/?{query}")
    else:
        page = client.get(f"/coupons/dashboard/?{query}")
    assert page.status_code == 200
    return page


def test_figures_match_hand_computed_values(client, org, data, django_assert_max_num_queries):
    page = _get(client, org.director, data.query, assert_max=django_assert_max_num_queries)
    d = page.context["data"]
    batches = {r["code"]: r for r in d["batches"]}
    assert set(batches) == {"d1", "d2", "d3"}
    b1 = batches["d1"]
    assert (b1["offered"], b1["claimed"], b1["redeemed"], b1["redemptions"]) == (100, 4, 2, 3)
    assert (b1["subsidy"], b1["gmv"]) == (Decimal("70"), Decimal("1000"))
    assert (b1["claim_rate"], b1["redemption_rate"], b1["subsidy_per_gmv"]) == (4.0, 50.0, Decimal("0.0700"))
    b2 = batches["d2"]
    assert (b2["claimed"], b2["redeemed"], b2["claim_rate"], b2["redemption_rate"], b2["subsidy_per_gmv"]) == (
        2,
        0,
        4.0,
        0.0,
        None,
    )
    departments = {r["id"]: r for r in d["departments"]}
    s1, s2 = departments[org.sales1.pk], departments[org.sales2.pk]
    assert (s1["offered"], s1["claimed"], s1["redeemed"], s1["redemptions"], s1["batches"]) == (150, 6, 2, 3, 2)
    assert (s1["claim_rate"], s1["redemption_rate"], s1["subsidy_per_gmv"]) == (4.0, 33.3, Decimal("0.0700"))
    assert (s2["offered"], s2["claimed"], s2["redeemed"], s2["subsidy"], s2["gmv"]) == (
        40,
        5,
        1,
        Decimal("40"),
        Decimal("400"),
    )
    assert (s2["claim_rate"], s2["redemption_rate"], s2["subsidy_per_gmv"]) == (12.5, 20.0, Decimal("0.1000"))
    t = d["coupon_totals"]
    assert (t["offered"], t["claimed"], t["redeemed"], t["redemptions"]) == (190, 11, 3, 4)
    assert (t["subsidy"], t["gmv"], t["claim_rate"], t["redemption_rate"], t["subsidy_per_gmv"]) == (
        Decimal("110"),
        Decimal("1400"),
        5.8,
        27.3,
        Decimal("0.0786"),
    )
    # budgets: the old fiscal period does not overlap
    budgets = {r["id"]: r for r in d["budgets"]}
    assert set(budgets) == {data.a1.pk, data.a2.pk}
    a1 = budgets[data.a1.pk]
    assert (a1["total"], a1["used"], a1["reserved"], a1["balance"], a1["gmv"], a1["target_gmv"]) == (
        Decimal("10000"),
        Decimal("1200"),
        Decimal("300"),
        Decimal("8500"),
        Decimal("30000"),
        Decimal("100000"),
    )
    assert a1["target_share"] == 30.0 and budgets[data.a2.pk]["target_share"] == 40.0
    bt = d["budget_totals"]
    assert (bt["total"], bt["used"], bt["balance"], bt["used_share"], bt["target_share"]) == (
        Decimal("15000"),
        Decimal("1700"),
        Decimal("13000"),
        11.3,
        31.7,
    )
    # alerts: open ones, low efficiency first; campaigns ranked by ROI, drafts left out
    assert [a["id"] for a in d["alerts"]] == [data.alert_efficiency.pk, data.alert_balance.pk]
    assert [(c["name"], c["rank"], c["roi"]) for c in d["campaigns"]] == [
        ("一部开放日", 1, Decimal("3.00")),
        ("二部直播", 2, Decimal("0.50")),
    ]
    m1 = d["campaigns"][0]
    assert (m1["reached"], m1["leads"], m1["deals"], m1["gmv"], m1["cost"], m1["cost_per_deal"]) == (
        1000,
        50,
        10,
        Decimal("20000.00"),
        Decimal("5000.00"),
        Decimal("500.00"),
    )
    assert d["campaigns_oldest"] == data.m2.stats.refreshed_at
    html = page.content.decode()
    for chart in (
        "budget-use",
        "budget-gmv",
        "department-rates",
        "department-subsidy",
        "batch-rates",
        "batch-subsidy",
        "campaign-roi",
    ):
        assert f'data-chart="chart-{chart}"' in html
    assert "saveAsImage" in html and 'data-testid="freshness"' in html


def test_channel_and_department_filters_in_the_url(english, client, org, data):
    page = _get(client, org.director, data.query + "&channel=store")
    d = page.context["data"]
    batches = {r["code"]: r for r in d["batches"]}
    assert (batches["d1"]["claimed"], batches["d1"]["redeemed"], batches["d1"]["redemptions"]) == (1, 1, 1)
    assert (batches["d1"]["subsidy"], batches["d1"]["gmv"]) == (Decimal("30"), Decimal("500"))
    assert batches["d2"]["claimed"] == 0  # offered in the period, nothing through this channel
    assert d["coupon_totals"]["claimed"] == 1
    page = _get(client, org.director, data.query + f"&department={org.sales2.pk}")
    d = page.context["data"]
    assert [r["code"] for r in d["batches"]] == ["d3"]
    assert [r["id"] for r in d["budgets"]] == [data.a2.pk]
    assert [c["name"] for c in d["campaigns"]] == ["二部直播"]
    assert [a["id"] for a in d["alerts"]] == [data.alert_balance.pk]
    # a period without the claims: the 40-day-old claim alone
    today = timezone.localdate()
    page = _get(
        client,
        org.director,
        f"period=custom&start={today - datetime.timedelta(days=45)}&end={today - datetime.timedelta(days=35)}",
    )
    assert page.context["data"]["coupon_totals"]["claimed"] == 1
    assert page.context["data"]["coupon_totals"]["redemptions"] == 0
    bad = client.get(f"/coupons/dashboard/?period=custom&start={today}&end={today - datetime.timedelta(days=2)}")
    assert bad.status_code == 200 and "must start before it ends" in bad.content.decode()


def test_scope_manager2_does_not_see_sales1(client, org, data, django_assert_max_num_queries):
    page = _get(client, org.manager2, data.query, assert_max=django_assert_max_num_queries)
    d = page.context["data"]
    assert [r["code"] for r in d["batches"]] == ["d3"]
    assert [r["id"] for r in d["departments"]] == [org.sales2.pk]
    assert [r["id"] for r in d["budgets"]] == [data.a2.pk]
    assert [c["name"] for c in d["campaigns"]] == ["二部直播"]
    assert [a["id"] for a in d["alerts"]] == [data.alert_balance.pk]
    assert d["coupon_totals"]["claimed"] == 5 and d["budget_totals"]["total"] == Decimal("5000")
    html = page.content.decode()
    assert "一部满减A" not in html and "一部开放日" not in html and "销售一部" not in html
    # a department outside the scope in the URL is refused by the filter, not shown
    page = _get(client, org.manager2, data.query + f"&department={org.sales1.pk}")
    assert page.context["data"]["coupon_totals"]["claimed"] == 5
    assert "一部满减A" not in page.content.decode()
    client.force_login(org.rep1)
    assert client.get("/coupons/dashboard/").status_code == 403


def _chart_drills(page):
    html = page.content.decode()
    drills = {}
    for key, chart in page.context["charts"].items():
        assert f'id="{chart["drill_id"]}"' in html and f'data-drill-urls="{chart["drill_id"]}"' in html
        drills[key] = chart["drill"]
    return drills


def test_every_chart_drills_down_to_the_records_behind_it(client, org, data):
    page = _get(client, org.director, data.query)
    drills = _chart_drills(page)
    charts = page.context["charts"]
    budgets = page.context["data"]["budgets"]
    assert drills["budget_use"] == [f"/coupons/budgets/{r['id']}/" for r in budgets]
    assert drills["department_rates"] == [
        f"/coupons/?department={r['id']}" for r in page.context["data"]["departments"]
    ]
    batch_urls = dict(zip(charts["batch_rates"]["option"]["xAxis"]["data"], drills["batch_rates"]))
    assert batch_urls["一部满减A"] == f"/coupons/batches/{data.b1.pk}/"
    roi = dict(zip(charts["campaign_roi"]["option"]["yAxis"]["data"], drills["campaign_roi"]))
    assert roi == {
        "一部开放日": f"/marketing/campaigns/{data.m1.pk}/",
        "二部直播": f"/marketing/campaigns/{data.m2.pk}/",
    }
    # the department's list holds exactly the batches of the department's bar
    listing = client.get(f"/coupons/?department={org.sales1.pk}")
    assert listing.status_code == 200
    assert {b.code for b in listing.context["batches"]} == {"d1", "d2"}
    assert client.get(drills["budget_use"][0]).status_code == 200
    assert client.get(batch_urls["一部满减A"]).status_code == 200
    html = page.content.decode()
    assert f'href="/coupons/batches/{data.b1.pk}/"' in html and f'href="/marketing/campaigns/{data.m1.pk}/"' in html
    assert f'href="/coupons/budgets/{data.a2.pk}/"' in html  # the low-balance alert


def test_each_table_exports_to_xlsx_with_formulas_neutralized(client, org, data):
    from openpyxl import load_workbook

    client.force_login(org.director)
    page = client.get(f"/coupons/dashboard/?{data.query}")
    assert f"{data.query.replace('&', '&amp;')}&amp;export=xlsx&amp;table=batches" in page.content.decode()

    def sheet(table, query=data.query):
        response = client.get(f"/coupons/dashboard/?{query}&export=xlsx&table={table}")
        assert response.status_code == 200 and response["Content-Disposition"].endswith('.xlsx"')
        return [list(r) for r in load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True)]

    rows = sheet("batches")
    by_code = {r[0]: r for r in rows[1:]}
    assert by_code["d1"][4:13] == [100, 4, 4, 2, 50, 3, 70, 1000, 0.07]
    assert by_code["d2"][1] == "'=SUM(A1)满减B"  # a spreadsheet would run it otherwise
    assert len(sheet("departments")) == 3 and len(sheet("alerts")) == 3
    budgets = {r[0]: r for r in sheet("budgets")[1:]}
    assert budgets["销售一部"][1:6] == ["FY-now", 10000, 1200, 300, 8500] and len(budgets) == 2
    campaigns = sheet("campaigns")
    assert [r[1] for r in campaigns[1:]] == ["一部开放日", "二部直播"] and campaigns[1][9] == 3
    # the export keeps the scope
    client.force_login(org.manager2)
    assert [r[0] for r in sheet("batches")[1:]] == ["d3"]
    assert client.get("/coupons/dashboard/?export=xlsx&table=nope").status_code == 404


def test_earlier_days_are_cached_and_today_is_live(client, org, data, django_assert_max_num_queries):
    first = _get(client, org.director, data.query)
    assert first.context["data"]["coupons_computed_at"] is not None
    customer = CustomerFactory(owner=org.rep1)
    now = timezone.now()
    Coupon.objects.create(
        batch=data.b3, code="LIVE1", status="claimed", customer=customer, channel="app", claimed_at=now
    )
    Coupon.objects.create(
        batch=data.b3,
        code="PAST1",
        status="claimed",
        customer=customer,
        channel="app",
        claimed_at=now - datetime.timedelta(days=3),
    )
    page = _get(client, org.director, data.query, assert_max=django_assert_max_num_queries)
    assert page.context["data"]["coupon_totals"]["claimed"] == 12  # today's claim shows at once
    assert page.context["data"]["coupons_computed_at"] == first.context["data"]["coupons_computed_at"]
    from django.core.cache import cache

    cache.clear()  # ten minutes later
    assert _get(client, org.director, data.query).context["data"]["coupon_totals"]["claimed"] == 13


def test_period_ranges_and_cache_units():
    day = datetime.date(2026, 11, 25)
    assert board.period_range("month", day) == (datetime.date(2026, 11, 1), datetime.date(2026, 11, 30))
    assert board.period_range("quarter", day) == (datetime.date(2026, 10, 1), datetime.date(2026, 12, 31))
    assert board.period_range("quarter", datetime.date(2026, 2, 3)) == (
        datetime.date(2026, 1, 1),
        datetime.date(2026, 3, 31),
    )
    assert board.period_range("year", day) == (datetime.date(2026, 1, 1), datetime.date(2026, 12, 31))
    assert board.period_range("custom", day, datetime.date(2026, 9, 1), None) == (datetime.date(2026, 9, 1), day)
    units = board._units(datetime.date(2026, 9, 29), datetime.date(2026, 11, 2))
    assert units[:2] == [
        ("d", datetime.date(2026, 9, 29), datetime.date(2026, 9, 29)),
        ("d", datetime.date(2026, 9, 30), datetime.date(2026, 9, 30)),
    ]
    assert units[2] == ("m", datetime.date(2026, 10, 1), datetime.date(2026, 10, 31))
    assert [u[0] for u in units[3:]] == ["d", "d"] and len(units) == 5


def test_default_is_this_month_and_the_form_keeps_the_filters(client, org, data):
    page = _get(client, org.director)
    start, end = board.period_range("month", timezone.localdate())
    assert (page.context["filters"].start, page.context["filters"].end) == (start, end)
    page = _get(client, org.director, f"period=year&department={org.sales1.pk}&channel=app")
    html = page.content.decode()
    assert page.context["filters"].start == datetime.date(timezone.localdate().year, 1, 1)
    assert 'value="app" selected' in html and f'value="{org.sales1.pk}" selected' in html
    assert json.loads(json.dumps(page.context["charts"], default=str))  # serialisable for json_script


def test_the_beat_task_recomputes_the_cached_figures(client, org):
    # mid-year, so that "this year" holds the claim of three days ago whatever day the suite runs
    with time_machine.travel(datetime.datetime(2026, 6, 15, 12, 0, tzinfo=SHANGHAI), tick=False) as clock:
        data = Data(org)
        first = _get(client, org.director, "period=year").context["data"]
        assert first["coupon_totals"]["claimed"] == 12  # the 11 of the last 30 days and the 40-day-old one
        Coupon.objects.create(
            batch=data.b3,
            code="PAST2",
            status="claimed",
            customer=CustomerFactory(owner=org.rep1),
            channel="app",
            claimed_at=timezone.now() - datetime.timedelta(days=3),
        )
        clock.shift(datetime.timedelta(minutes=1))
        cached = _get(client, org.director, "period=year").context["data"]
        assert cached["coupon_totals"]["claimed"] == 12  # earlier days come from the cache
        warm_dashboard_figures()
        page = _get(client, org.director, "period=year").context["data"]
        assert page["coupon_totals"]["claimed"] == 13
        assert page["coupons_computed_at"] == first["coupons_computed_at"] + datetime.timedelta(minutes=1)
