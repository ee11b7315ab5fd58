"""What a manager reads on the sales dashboard (issue 13, items 11–13): names family name first on
the page, in the charts and in the XLSX; a funnel whose every step is part of the one before (never
over 100%); no negative time in a stage; amounts with thousands separators, 万 on figure cards."""

import datetime
import io
import json
import re

from django.utils import timezone
from openpyxl import load_workbook

from crm.money import money, money_short
from crm.names import person_name
from customers.tests.factories import CustomerFactory
from sales.models import Lead, Opportunity, StageHistory
from sales.services.opportunities import move_stage
from sales.tests.test_dashboard import NOVEMBER, SALES_URL, at, data, get, travel  # noqa: F401


def _text(html, testid):
    match = re.search(rf'data-testid="{testid}"[^>]*>(.*?)</', html, re.S)
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()


def test_people_are_named_family_name_first_on_the_page_in_charts_and_exports(client, org, data):
    org.rep1.last_name, org.rep1.first_name = "王", "小明"
    org.rep1.save()
    response = get(client, org.director, SALES_URL, NOVEMBER)
    html = response.content.decode()
    owners = re.search(r'data-testid="pipeline-owner-table".*?</table>', html, re.S).group(0)
    assert re.findall(r'<a href="[^"]*">([^<]+)</a>', owners)[0] == "王小明"
    option = json.loads(
        re.search(r'<script id="chart-pipeline-owner" type="application/json">(.*?)</script>', html, re.S).group(1)
    )
    assert option["yAxis"]["data"][0] == "王小明"
    export = client.get(SALES_URL, {**NOVEMBER, "export": "xlsx", "table": "pipeline_owner"})
    rows = list(load_workbook(io.BytesIO(export.content)).active.iter_rows(values_only=True))
    assert rows[1][0] == "王小明"
    assert "小明 王" not in html


def test_one_name_function_for_users_and_customers(org):
    org.rep1.last_name, org.rep1.first_name = "王", "小明"
    assert (person_name(org.rep1), str(org.rep1), org.rep1.get_full_name()) == ("王小明", "王小明", "王小明")
    org.rep2.last_name, org.rep2.first_name = "Schmidt", "Anna"
    assert person_name(org.rep2) == "Anna Schmidt"
    org.rep3.last_name = org.rep3.first_name = ""
    assert person_name(org.rep3) == "rep3"
    assert person_name(CustomerFactory(name="李雷", owner=org.rep1)) == "李雷"


def test_funnel_steps_are_each_part_of_the_step_before(client, org, data):
    """1 converted lead became opportunity D (won); 6 opportunities were opened in November, most
    without a lead: the funnel follows the leads (never 300%), the 6 are a count beside it."""
    lead = Lead.objects.filter(status=Lead.Status.CONVERTED, owner=org.rep1).get()
    Opportunity.objects.filter(pk=data["opps"]["D"].pk).update(lead=lead)
    response = get(client, org.director, SALES_URL, NOVEMBER)
    steps = response.context["funnel"]["steps"]
    assert [(s["key"], s["count"], s["rate"]) for s in steps] == [
        ("leads", 4, None),
        ("qualified", 3, 75.0),
        ("converted", 2, 66.7),
        ("opportunities", 1, 50.0),
        ("won", 1, 100.0),
    ]
    html = response.content.decode()
    assert [_text(html, f"rate-{key}") for key in ("leads", "qualified", "converted", "opportunities", "won")] == [
        "",
        "75.0%",
        "66.7%",
        "50.0%",
        "100.0%",
    ]
    assert [_text(html, f"funnel-{key}") for key in ("opportunities", "won")] == ["1", "1"]
    assert _text(html, "opened-in-period") == "本期新建商机 6 个（含来自老客户、无线索的商机），其中赢单 2 个。"
    drill = client.get(steps[3]["url"])
    assert [o.name for o in drill.context["table"].data] == ["D"]


def test_a_stay_that_ended_before_it_began_counts_as_zero_days(client, org, data):
    proposal = data["stages"]["proposal"]
    # written with a clock two days ahead: "entered" 6 November, "left" 4 November
    StageHistory.objects.create(
        opportunity=data["opps"]["I"], stage=proposal, entered_at=at(2026, 11, 6), left_at=at(2026, 11, 4)
    )
    response = get(client, org.director, SALES_URL, NOVEMBER)
    times = {r["stage"].name: r for r in response.context["stage_times"]}
    assert (times["Proposal"]["stays"], times["Proposal"]["avg_days"]) == (2, 0.5)  # (1 + 0) / 2


def test_moving_a_stage_never_ends_the_stay_before_it_began(org, data):
    opportunity = data["opps"]["H"]
    StageHistory.objects.create(
        opportunity=opportunity, stage=opportunity.stage, entered_at=timezone.now() + datetime.timedelta(days=2)
    )
    move_stage(opportunity=opportunity, stage=data["stages"]["contact"], actor=org.rep3)
    stay = StageHistory.objects.get(opportunity=opportunity, stage=opportunity.stage)
    assert stay.left_at - stay.entered_at == datetime.timedelta(0)


def test_amounts_have_thousands_separators_and_cards_show_wan(client, org, data):
    html = get(client, org.director, SALES_URL, NOVEMBER).content.decode()
    assert _text(html, "won-amount") == "¥1.5万"
    assert 'data-testid="won-amount" title="¥15,000.00"' in html
    assert _text(html, "pipeline-amount") == "¥2.3万"
    stages = re.search(r'data-testid="pipeline-stage-table".*?</table>', html, re.S).group(0)
    assert '<td class="text-end">¥19,000.00</td>' in stages
    client.cookies["django_language"] = "en"
    english = client.get(SALES_URL, NOVEMBER).content.decode()
    assert _text(english, "won-amount") == "¥15,000"


def test_money_formatting():
    from django.utils import translation

    with translation.override("zh-hans"):
        assert (money(57180), money_short(571800), money_short(9999), money_short(123456789)) == (
            "¥57,180.00",
            "¥57.18万",
            "¥9,999",
            "¥1.23亿",
        )
    with translation.override("en"):
        assert (money("12800.5"), money_short(57180), money_short(571800), money_short(1250000), money(None)) == (
            "¥12,800.50",
            "¥57,180",
            "¥571.8K",
            "¥1.25M",
            "–",
        )
