"""The sales and performance dashboards (issue 7): figures against hand-computed values on a small
fixed data set, the data scope, drill-down totals, XLSX export and a bound on queries."""

import datetime
import io
from decimal import Decimal
from urllib.parse import urlencode

import pytest
import time_machine
from django.utils import timezone
from openpyxl import load_workbook

from customers.tests.factories import CustomerFactory
from sales.models import FollowUp, Lead, Opportunity, OpportunityStage, StageHistory, Target
from sales.tests.factories import LeadFactory

NOW = datetime.datetime(2026, 11, 10, 3, 0, tzinfo=datetime.UTC)  # 11:00 in Shanghai
NOVEMBER = {"preset": "custom", "since": "2026-11-01", "until": "2026-11-30"}
SALES_URL = "/sales/dashboard/"
PERFORMANCE_URL = "/sales/dashboard/performance/"


def at(y, m, d, h=12):
    return timezone.make_aware(datetime.datetime(y, m, d, h, 0))


@pytest.fixture
def travel():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def data(org, travel):
    """Four stages; nine opportunities of three reps in two departments; leads, follow-ups, targets.

    rep1 (team1 under sales1), rep2 (sales1), rep3 (sales2). Now: 2026-11-10."""
    OpportunityStage.objects.all().delete()
    contact = OpportunityStage.objects.create(name="Contact", position=0, probability=10)
    proposal = OpportunityStage.objects.create(name="Proposal", position=1, probability=50)
    won = OpportunityStage.objects.create(name="Won", position=2, probability=100, is_won=True)
    lost = OpportunityStage.objects.create(name="Lost", position=3, probability=0, is_lost=True)
    customers = {rep: CustomerFactory(owner=getattr(org, rep), source="website") for rep in ("rep1", "rep2", "rep3")}
    referral = CustomerFactory(owner=org.rep1, source="referral")

    def opp(key, rep, stage, amount, *, created, customer=None, **kwargs):
        owner = getattr(org, rep)
        closed = kwargs.pop("closed", None)
        return Opportunity.objects.create(
            name=key,
            customer=customer or customers[rep],
            owner=owner,
            department=owner.department,
            stage=stage,
            amount=Decimal(amount),
            created_at=created,
            closed_at=closed,
            stage_entered_at=kwargs.pop("entered", closed or created),
            **kwargs,
        )

    o = {
        "A": opp(
            "A",
            "rep1",
            proposal,
            10000,
            created=at(2026, 11, 2),
            entered=at(2026, 11, 5),
            expected_close=datetime.date(2026, 11, 20),
        ),
        "B": opp(
            "B",
            "rep1",
            contact,
            4000,
            created=at(2026, 11, 3),
            entered=at(2026, 9, 1),
            probability=30,
            expected_close=datetime.date(2026, 12, 15),
            customer=referral,
        ),
        "C": opp(
            "C",
            "rep2",
            proposal,
            6000,
            created=at(2026, 10, 1),
            entered=at(2026, 10, 1),
            expected_close=datetime.date(2027, 1, 10),
        ),
        "D": opp("D", "rep1", won, 8000, created=at(2026, 11, 1), closed=at(2026, 11, 4)),
        "E": opp("E", "rep1", lost, 2000, created=at(2026, 10, 20), closed=at(2026, 11, 6), lost_reason="价格太高"),
        "F": opp("F", "rep2", won, 5000, created=at(2026, 5, 1), closed=at(2026, 6, 1)),
        "G": opp("G", "rep3", won, 7000, created=at(2026, 11, 2), closed=at(2026, 11, 5)),
        "H": opp(
            "H",
            "rep3",
            proposal,
            3000,
            created=at(2026, 11, 1),
            entered=at(2026, 11, 8),
            expected_close=datetime.date(2026, 11, 25),
        ),
        "I": opp("I", "rep2", lost, 1000, created=at(2026, 11, 1), closed=at(2026, 11, 7), lost_reason="选择了竞品"),
        "J": opp("J", "rep1", won, 4000, created=at(2025, 11, 1), closed=at(2025, 11, 15)),
    }
    # stays in a stage: A 3 days in Contact; D 2 days in Contact, 1 in Proposal; G 2 days in Contact
    StageHistory.objects.create(opportunity=o["A"], stage=contact, entered_at=at(2026, 11, 2), left_at=at(2026, 11, 5))
    StageHistory.objects.create(opportunity=o["A"], stage=proposal, entered_at=at(2026, 11, 5))
    StageHistory.objects.create(opportunity=o["D"], stage=contact, entered_at=at(2026, 11, 1), left_at=at(2026, 11, 3))
    StageHistory.objects.create(opportunity=o["D"], stage=proposal, entered_at=at(2026, 11, 3), left_at=at(2026, 11, 4))
    StageHistory.objects.create(opportunity=o["G"], stage=contact, entered_at=at(2026, 11, 2), left_at=at(2026, 11, 4))
    # leads created in November: 4 (3 qualified or further, 2 converted); one in October
    LeadFactory(owner=org.rep1, created_at=at(2026, 11, 2))
    LeadFactory(owner=org.rep1, status=Lead.Status.QUALIFIED, created_at=at(2026, 11, 3))
    LeadFactory(owner=org.rep1, status=Lead.Status.CONVERTED, created_at=at(2026, 11, 4))
    LeadFactory(owner=org.rep3, status=Lead.Status.CONVERTED, created_at=at(2026, 11, 4))
    LeadFactory(owner=org.rep2, created_at=at(2026, 10, 4))
    for day in (2, 3, 9):
        FollowUp.objects.create(
            customer=customers["rep1"],
            content="电话",
            created_by=org.rep1,
            department=org.rep1.department,
            at=at(2026, 11, day),
        )
    FollowUp.objects.create(
        customer=customers["rep3"],
        content="电话",
        created_by=org.rep3,
        department=org.rep3.department,
        at=at(2026, 11, 9),
    )
    Target.objects.create(
        user=org.rep1, metric="amount_won", period="month", start=datetime.date(2026, 10, 1), value=Decimal("5000")
    )
    Target.objects.create(
        user=org.rep1, metric="amount_won", period="month", start=datetime.date(2026, 11, 1), value=Decimal("10000")
    )
    Target.objects.create(
        user=org.rep3, metric="amount_won", period="month", start=datetime.date(2026, 11, 1), value=Decimal("5000")
    )
    Target.objects.create(
        user=org.rep3, metric="amount_won", period="quarter", start=datetime.date(2026, 10, 1), value=Decimal("20000")
    )
    Target.objects.create(
        department=org.sales1,
        metric="amount_won",
        period="month",
        start=datetime.date(2026, 11, 1),
        value=Decimal("20000"),
    )
    return {"opps": o, "stages": {"contact": contact, "proposal": proposal, "won": won, "lost": lost}}


def get(client, user, url, params=None):
    client.force_login(user)
    return client.get(url + ("?" + urlencode(params) if params else ""))


def test_sales_dashboard_figures_for_the_director(client, org, data):
    response = get(client, org.director, SALES_URL, NOVEMBER)
    assert response.status_code == 200
    ctx = response.context
    steps = {s["key"]: s for s in ctx["funnel"]["steps"]}
    # the funnel follows the leads; none of them has an opportunity yet (the 6 opened in November,
    # 2 of them won, are counted beside it)
    assert [steps[k]["count"] for k in ("leads", "qualified", "converted", "opportunities", "won")] == [4, 3, 2, 0, 0]
    assert steps["leads"]["rate"] is None
    assert (steps["qualified"]["rate"], steps["converted"]["rate"], steps["won"]["rate"]) == (75.0, 66.7, None)
    assert (ctx["funnel"]["opened"], ctx["funnel"]["opened_won"]) == (6, 2)
    assert ctx["funnel"]["overall"] == 0.0  # no lead of November won yet
    times = {r["stage"].name: r for r in ctx["stage_times"]}
    assert times["Contact"]["avg_days"] == 2.3 and times["Contact"]["stays"] == 3  # (3 + 2 + 2) / 3
    assert times["Proposal"]["avg_days"] == 1.0
    pipe = {r["stage"].name: r for r in ctx["pipeline"]["stages"]}
    assert (pipe["Contact"]["count"], pipe["Contact"]["amount"], pipe["Contact"]["weighted"]) == (
        1,
        Decimal("4000"),
        Decimal("1200.00"),
    )  # B's own 30%
    assert (pipe["Proposal"]["count"], pipe["Proposal"]["amount"], pipe["Proposal"]["weighted"]) == (
        3,
        Decimal("19000"),
        Decimal("9500.00"),
    )
    owners = {r["owner"].username: r for r in ctx["pipeline"]["owners"]}
    assert owners["rep1"]["count"] == 2 and owners["rep1"]["amount"] == Decimal("14000")
    # forecast: win rates over the last 12 months: rep1 2/3 (D, J won; E lost), rep2 1/2, rep3 1/1
    months = ctx["forecast"]["months"]
    assert [m["month"] for m in months] == [
        datetime.date(2026, 11, 1),
        datetime.date(2026, 12, 1),
        datetime.date(2027, 1, 1),
    ]
    assert (months[0]["count"], months[0]["amount"]) == (2, Decimal("13000"))
    assert months[0]["by_stage"] == Decimal("6500.00")  # A 10000×50% + H 3000×50%
    assert months[0]["by_win_rate"] == Decimal("9666.67")  # A 10000×2/3 + H 3000×1
    assert (months[1]["by_stage"], months[1]["by_win_rate"]) == (Decimal("1200.00"), Decimal("2666.67"))
    assert (months[2]["by_stage"], months[2]["by_win_rate"]) == (Decimal("3000.00"), Decimal("3000.00"))
    rates = {r["owner"].username: r["rate"] for r in ctx["forecast"]["rates"]}
    assert rates == {"rep1": 66.7, "rep2": 50.0, "rep3": 100.0}
    closed = ctx["closed"]
    assert closed["won"] == {"count": 2, "amount": Decimal("15000")}
    assert closed["lost"] == {"count": 2, "amount": Decimal("3000")}
    assert closed["win_rate"] == 50.0
    assert {r["reason"]: r["count"] for r in closed["reasons"]} == {"价格太高": 1, "选择了竞品": 1}
    activity = {r["user"].username: r for r in ctx["activity"]["rows"]}
    assert ctx["filters"].days == 10  # 1 to 10 November (today)
    assert activity["rep1"]["followups"] == 3 and activity["rep1"]["per_day"] == 0.3
    assert activity["rep1"]["won_amount"] == Decimal("8000") and activity["rep3"]["won_amount"] == Decimal("7000")
    assert ctx["stuck"]["count"] == 2 and [o.name for o in ctx["stuck"]["items"]] == ["B", "C"]
    content = response.content.decode()
    assert 'data-chart="chart-funnel"' in content and "saveAsImage" in content


def test_channel_and_department_filters(client, org, data):
    response = get(client, org.director, SALES_URL, {**NOVEMBER, "source": "referral"})
    pipe = {r["stage"].name: r["count"] for r in response.context["pipeline"]["stages"]}
    assert pipe == {"Contact": 1, "Proposal": 0}  # only B's customer came by referral
    response = get(client, org.director, SALES_URL, {**NOVEMBER, "department": org.sales2.pk})
    assert response.context["closed"]["won"] == {"count": 1, "amount": Decimal("7000")}


def test_presets_cover_the_month_quarter_and_year(client, org, data):
    assert get(client, org.director, SALES_URL).context["filters"].since == datetime.date(2026, 11, 1)
    quarter = get(client, org.director, SALES_URL, {"preset": "quarter"}).context["filters"]
    assert (quarter.since, quarter.until) == (datetime.date(2026, 10, 1), datetime.date(2026, 12, 31))
    year = get(client, org.director, SALES_URL, {"preset": "year"}).context
    assert year["closed"]["won"]["count"] == 3  # D, F, G (J is 2025)


def test_scope_manager2_does_not_see_sales1_and_a_rep_sees_only_their_own(client, org, data):
    ctx = get(client, org.manager2, SALES_URL, NOVEMBER).context
    assert {r["owner"].username for r in ctx["pipeline"]["owners"]} == {"rep3"}
    assert ctx["closed"]["won"] == {"count": 1, "amount": Decimal("7000")}
    assert ctx["forecast"]["months"][0]["by_stage"] == Decimal("1500.00")
    assert {r["stage"].name: r["avg_days"] for r in ctx["stage_times"]}["Contact"] == 2.0
    ctx = get(client, org.manager1, SALES_URL, NOVEMBER).context
    assert {r["stage"].name: r["avg_days"] for r in ctx["stage_times"]}["Contact"] == 2.5
    assert ctx["closed"]["won"]["amount"] == Decimal("8000")
    ctx = get(client, org.rep1, SALES_URL, NOVEMBER).context
    assert {r["owner"].username for r in ctx["pipeline"]["owners"]} == {"rep1"}
    assert [s["count"] for s in ctx["funnel"]["steps"]] == [3, 2, 1, 0, 0]
    assert (ctx["funnel"]["opened"], ctx["funnel"]["opened_won"]) == (3, 1)
    assert "department" not in ctx["form"].fields
    # a rep cannot widen the scope through the query string
    ctx = get(client, org.rep1, SALES_URL, {**NOVEMBER, "owner": org.rep3.pk}).context
    assert ctx["closed"]["won"]["amount"] == Decimal("8000")
    performance = get(client, org.manager2, PERFORMANCE_URL, {"date": "2026-11-10"})
    assert [r["user"].username for r in performance.context["reps"]] == ["rep3"]
    assert "rep1" not in performance.content.decode()
    performance = get(client, org.rep1, PERFORMANCE_URL, {"date": "2026-11-10"})
    assert [r["user"].username for r in performance.context["reps"]] == ["rep1"]
    assert performance.context["departments"] == []


def test_marketing_may_not_open_the_dashboards(client, org, data):
    assert get(client, org.marketing, SALES_URL).status_code == 403
    assert get(client, org.marketing, PERFORMANCE_URL).status_code == 403


def _list_totals(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return response.context["table"].paginator.count, response.context.get("totals")


def test_drill_down_lists_total_what_the_chart_shows(client, org, data):
    response = get(client, org.manager1, SALES_URL, {**NOVEMBER, "department": org.sales1.pk})
    ctx = response.context
    for row in ctx["pipeline"]["stages"]:
        count, totals = _list_totals(client, row["url"])
        assert count == row["count"] and totals["amount"] == row["amount"], row["url"]
    for row in ctx["pipeline"]["owners"]:
        assert _list_totals(client, row["url"])[0] == row["count"]
    for row in ctx["forecast"]["months"]:
        assert _list_totals(client, row["url"])[0] == row["count"]
    for step in ctx["funnel"]["steps"]:
        assert _list_totals(client, step["url"])[0] == step["count"], step["url"]
    count, totals = _list_totals(client, ctx["closed"]["won_url"])
    assert (count, totals["amount"]) == (1, Decimal("8000"))
    for row in ctx["closed"]["reasons"]:
        assert _list_totals(client, row["url"])[0] == row["count"]
    for row in ctx["activity"]["rows"]:
        assert _list_totals(client, row["won_url"])[0] == row["won_count"]
    charts_by_id = {c["id"]: c for c in ctx["charts"]}
    for day, url in zip(ctx["activity"]["days"], charts_by_id["chart-daily"]["urls"]):
        if day["followups"]:
            assert _list_totals(client, url)[0] == day["followups"], url
    assert _list_totals(client, ctx["stuck"]["url"])[0] == ctx["stuck"]["count"] == 2
    stays = [row for row in ctx["stage_times"] if row["stays"]]
    assert stays  # the data set has stays that ended in November
    for row in stays:  # one stay per opportunity here, so the list counts the stays
        assert _list_totals(client, row["url"])[0] == row["stays"], row["url"]
    assert f"department={org.sales1.pk}" in ctx["stuck"]["url"]
    # the chart carries the same URLs by data index
    charts = {c["id"]: c for c in ctx["charts"]}
    assert charts["chart-pipeline-stage"]["urls"] == [r["url"] for r in ctx["pipeline"]["stages"]]
    perf = get(client, org.director, PERFORMANCE_URL, {"date": "2026-11-10"}).context
    for row in perf["reps"]:
        count, totals = _list_totals(client, row["url"])
        assert totals["amount"] == row["value"]
    november = perf["trend"][10]
    count, totals = _list_totals(client, november["url"])
    assert totals["amount"] == november["value"] == Decimal("15000")


def test_performance_attainment_per_rep_team_and_department(client, org, data):
    ctx = get(client, org.director, PERFORMANCE_URL, {"granularity": "month", "date": "2026-11-10"}).context
    reps = {r["user"].username: r for r in ctx["reps"]}
    assert [r["user"].username for r in ctx["reps"]] == ["rep3", "rep1", "rep2"]  # 140%, 80%, no target
    assert (reps["rep1"]["value"], reps["rep1"]["target"], reps["rep1"]["attainment"]) == (
        Decimal("8000"),
        Decimal("10000"),
        80.0,
    )
    assert (reps["rep1"]["last_year"], reps["rep1"]["change"]) == (Decimal("4000"), 100.0)
    assert reps["rep3"]["attainment"] == 140.0 and reps["rep2"]["attainment"] is None
    departments = {r["department"].pk: r for r in ctx["departments"]}
    assert (departments[org.sales1.pk]["value"], departments[org.sales1.pk]["attainment"]) == (Decimal("8000"), 40.0)
    assert departments[org.team1.pk]["value"] == Decimal("8000")
    assert departments[org.sales2.pk]["value"] == Decimal("7000")
    assert ctx["totals"]["value"] == Decimal("15000") and ctx["totals"]["attainment"] == 100.0  # of 15000
    trend = ctx["trend"]
    assert trend[10]["value"] == Decimal("15000") and trend[10]["last_year"] == Decimal("4000")
    assert trend[10]["target"] == Decimal("15000") and trend[5]["value"] == Decimal("5000")

    quarter = get(client, org.director, PERFORMANCE_URL, {"granularity": "quarter", "date": "2026-11-10"}).context
    reps = {r["user"].username: r for r in quarter["reps"]}
    assert reps["rep1"]["target"] == Decimal("15000") and reps["rep1"]["attainment"] == 53.3  # the months summed
    assert reps["rep3"]["target"] == Decimal("20000") and reps["rep3"]["attainment"] == 35.0  # the quarter's own
    year = get(client, org.director, PERFORMANCE_URL, {"granularity": "year", "date": "2026-11-10"}).context
    reps = {r["user"].username: r for r in year["reps"]}
    assert reps["rep2"]["value"] == Decimal("5000") and reps["rep2"]["last_year"] == 0
    assert reps["rep1"]["target"] == Decimal("15000")

    deals = get(client, org.director, PERFORMANCE_URL, {"date": "2026-11-10", "metric": "deals_won"}).context
    assert {r["user"].username: r["value"] for r in deals["reps"]} == {"rep1": 1, "rep2": 0, "rep3": 1}
    touches = get(client, org.director, PERFORMANCE_URL, {"date": "2026-11-10", "metric": "followups"}).context
    assert {r["user"].username: r["value"] for r in touches["reps"]} == {"rep1": 3, "rep2": 0, "rep3": 1}


def test_every_table_exports_to_xlsx(client, org, data):
    response = get(client, org.director, SALES_URL, {**NOVEMBER, "export": "xlsx", "table": "pipeline_stage"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert len(rows) == 3 and rows[1][:2] == ("Contact", 1) and rows[2][:2] == ("Proposal", 3)
    for table in (
        "funnel",
        "stage_time",
        "pipeline_owner",
        "forecast",
        "win_rates",
        "lost_reasons",
        "activity",
        "stuck",
    ):
        assert client.get(SALES_URL, {**NOVEMBER, "export": "xlsx", "table": table}).status_code == 200, table
    assert client.get(SALES_URL, {"export": "xlsx", "table": "nope"}).status_code == 404
    for table in ("reps", "departments", "trend"):
        response = client.get(PERFORMANCE_URL, {"date": "2026-11-10", "export": "xlsx", "table": table})
        assert response.status_code == 200, table
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert rows[11][0] == "2026-11" and rows[11][1] == 15000


def test_a_formula_in_a_lost_reason_is_neutralized_in_the_export(client, org, data):
    Opportunity.objects.filter(name="E").update(lost_reason='=HYPERLINK("x")')
    response = get(client, org.director, SALES_URL, {**NOVEMBER, "export": "xlsx", "table": "lost_reasons"})
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert all(not str(row[0]).startswith("=") for row in rows)


def test_queries_are_bounded_whatever_the_data_size(client, org, data, django_assert_max_num_queries):
    client.force_login(org.director)
    with django_assert_max_num_queries(30):
        assert client.get(SALES_URL, NOVEMBER).status_code == 200
    with django_assert_max_num_queries(20):
        assert client.get(PERFORMANCE_URL, {"date": "2026-11-10"}).status_code == 200
    # ten times the opportunities and follow-ups: the same number of queries
    stage = data["stages"]["proposal"]
    customer = CustomerFactory(owner=org.rep2)
    for i in range(20):
        Opportunity.objects.create(
            name=f"more{i}",
            customer=customer,
            owner=org.rep2,
            department=org.sales1,
            stage=stage,
            amount=100,
            expected_close=datetime.date(2026, 12, 1),
            created_at=at(2026, 11, 3),
        )
        FollowUp.objects.create(
            customer=customer, content="x", created_by=org.rep2, department=org.sales1, at=at(2026, 11, 3)
        )
    with django_assert_max_num_queries(30):
        assert client.get(SALES_URL, NOVEMBER).status_code == 200
    with django_assert_max_num_queries(20):
        assert client.get(PERFORMANCE_URL, {"date": "2026-11-10"}).status_code == 200


def test_follow_up_and_new_customer_figures_open_their_lists(client, org, data, django_assert_max_num_queries):
    for metric in ("followups", "new_customers"):
        perf = get(client, org.director, PERFORMANCE_URL, {"date": "2026-11-10", "metric": metric}).context
        for row in perf["reps"]:
            response = client.get(row["url"])
            assert response.status_code == 200, row["url"]
            assert response.context["table"].paginator.count == row["value"], (metric, row["url"])
        november = perf["trend"][10]
        assert client.get(november["url"]).context["table"].paginator.count == november["value"], november["url"]
    with django_assert_max_num_queries(12):
        assert client.get("/sales/followups/").status_code == 200
    client.force_login(org.rep1)
    listed = client.get("/sales/followups/").context["table"].paginator.count
    from sales.models import FollowUp

    assert listed == FollowUp.objects.filter(created_by=org.rep1).count()
