import datetime
import re
from decimal import Decimal

import time_machine

from customers.tests.factories import CustomerFactory
from sales import services
from sales.models import OpportunityStage, Report
from sales.services import performance

DAY = datetime.datetime(2026, 11, 10, 3, 0, tzinfo=datetime.UTC)


def _won(org, rep, amount):
    customer = CustomerFactory(owner=rep)
    opportunity = services.open_opportunity(actor=rep, customer=customer, name="课程", amount=amount)
    won = OpportunityStage.objects.get(is_won=True)
    OpportunityStage.objects.update(approval_role="")
    return services.move_stage(actor=rep, opportunity=opportunity, stage=won)


def test_attainment_and_leaderboard_against_hand_computed_values(org):
    with time_machine.travel(DAY, tick=False):
        _won(org, org.rep1, Decimal("5000"))
        _won(org, org.rep1, Decimal("3000"))
        _won(org, org.rep2, Decimal("9000"))
        performance.set_target(
            actor=org.manager1,
            user=org.rep1,
            metric="amount_won",
            period="month",
            start=datetime.date(2026, 11, 1),
            value=Decimal("10000"),
        )
        performance.set_target(
            actor=org.manager1,
            department=org.sales1,
            metric="amount_won",
            period="month",
            start=datetime.date(2026, 11, 1),
            value=Decimal("20000"),
        )
        board = performance.leaderboard(users=[org.rep1, org.rep2], period="month", start=datetime.date(2026, 11, 1))
    rows = {r["user"].username: r for r in board["rows"]}
    assert rows["rep1"]["value"] == Decimal("8000") and rows["rep1"]["attainment"] == 80.0
    assert rows["rep1"]["figures"]["deals_won"] == 2 and rows["rep2"]["attainment"] is None
    assert board["rows"][0]["user"] == org.rep1  # with a target first, then by value
    team = performance.team_attainment(department=org.sales1, period="month", start=datetime.date(2026, 11, 1))
    assert team["value"] == Decimal("17000") and team["attainment"] == 85.0
    december = performance.leaderboard(users=[org.rep1], period="month", start=datetime.date(2026, 12, 1))
    assert december["rows"][0]["value"] == 0


def test_quarter_bounds():
    assert performance.period_bounds("quarter", datetime.date(2026, 10, 1)) == (
        datetime.date(2026, 10, 1),
        datetime.date(2027, 1, 1),
    )
    assert performance.period_start("quarter", datetime.date(2026, 11, 24)) == datetime.date(2026, 10, 1)


def test_daily_report_generated_from_data_and_annotated(client, org):
    with time_machine.travel(DAY, tick=False):
        customer = CustomerFactory(owner=org.rep1)
        services.record_followup(actor=org.rep1, customer=customer, content="回访")
        services.record_followup(actor=org.rep1, customer=customer, content="再回访")
        performance.generate_reports(kind="daily")
        performance.generate_reports(kind="daily")  # twice: still one report, refreshed
    report = Report.objects.get(user=org.rep1, kind="daily")
    assert report.figures["followups"] == 2
    client.force_login(org.rep1)
    client.post(f"/sales/reports/{report.pk}/note/", {"note": "今天约到两个试听"})
    client.force_login(org.manager1)
    page = client.get("/sales/reports/").content.decode()
    assert "今天约到两个试听" in page
    client.post(f"/sales/reports/{report.pk}/read/")
    report.refresh_from_db()
    assert report.read_by == org.manager1
    client.force_login(org.manager2)
    assert client.post(f"/sales/reports/{report.pk}/read/").status_code == 404


def test_leaderboard_page_scopes_reps(client, org):
    client.force_login(org.manager2)
    page = client.get("/sales/leaderboard/").content.decode()
    assert str(org.rep3) in page and str(org.rep1) not in page
    client.force_login(org.rep1)
    assert client.get("/sales/targets/new/").status_code == 403


def test_leaderboard_page_names_the_months_last_day_and_scrolls_its_table_on_a_phone(client, org):
    client.force_login(org.manager1)
    page = client.get("/sales/leaderboard/?period=month&start=2026-12-01").content.decode()
    assert '<small class="text-muted fs-6">2026-12-01 – 2026-12-31</small>' in page
    assert '<div class="table-responsive"><table class="table align-middle mb-0">' in page


def test_a_teams_card_on_the_leaderboard_shows_its_amount_as_every_figure_card_does(client, org):
    with time_machine.travel(DAY, tick=False):
        _won(org, org.rep1, Decimal("12345"))
        _won(org, org.rep1, Decimal("2000"))
    client.force_login(org.manager1)
    page = client.get("/sales/leaderboard/?period=month&start=2026-11-01").content.decode()
    values = re.findall(r'data-testid="team-value"><span title="([^"]*)">([^<]*)</span>', page)
    # 销售一部 and its 一组, where rep1 works
    assert values == [("¥14,345.00", "¥1.43万"), ("¥14,345.00", "¥1.43万")]
