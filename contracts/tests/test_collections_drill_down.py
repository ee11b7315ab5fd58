"""The collections dashboard's drill-downs keep the dashboard's period and channel: a rep's or a
department's planned opens the instalments due in the year shown (not every year's; received is
the year's payments, whichever instalment they paid),
its overdue figures the instalments overdue as of today; the drill-down's heading and XLSX say so,
and the rows behind each link add up to the cell it was clicked from."""

import datetime
import html
import io
import re
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from contracts.models import Contract
from contracts.services import payments
from crm.models import DataScope
from crm.names import person_name
from crm.ui import sheet_title
from customers.services.sources import source_names

from .factories import make_contract

NOW = datetime.datetime(2026, 6, 15, 10, 0, tzinfo=datetime.UTC)


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def two_years(org, won_stage, clock):
    """rep1, on 2026-06-15. An event contract: 10,000 due 2025-12-20 (4,000 received), 2026-01-19
    and 2026-02-18; a website contract: 10,000 due 2026-04-26 (3,000 received) and 2026-05-26."""
    event = make_contract(org.rep1, won_stage, first_due=datetime.date(2025, 12, 20))
    website = make_contract(
        org.rep1, won_stage, amount="20000", parts=("10000", "10000"), first_due=datetime.date(2026, 4, 26)
    )
    for contract, source, paid in ((event, "event", "4000"), (website, "website", "3000")):
        contract.customer.source = source
        contract.customer.save(update_fields=["source"])
        payments.record_payment(
            contract=contract, amount=Decimal(paid), received_on=timezone.localdate(), actor=org.rep1
        )
    return event, website


@pytest.fixture
def chinese(client, settings):
    """The pages as a person reads them by default: in Simplified Chinese."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"


def _links(page):
    """The drill-down links of the dashboard's per-rep or per-department table, by cell."""
    table = re.search(r'data-testid="groups".*?</table>', page, re.S).group(0)
    return [html.unescape(href) for href in re.findall(r'<a href="([^"]+)"', table)]


def _rows(client, url):
    response = client.get(url)
    return response, list(response.context["table"].data.data)


def _dashboard(client, query):
    response = client.get(reverse("contracts:collections") + query)
    return response, response.content.decode()


def test_a_reps_row_drills_down_to_the_year_the_dashboard_shows(client, org, two_years):
    client.force_login(org.manager1)
    response, page = _dashboard(client, "?year=2026")
    name, planned, overdue, *ageing = _links(page)  # received is the year's payments: no instalment list
    drill = reverse("contracts:instalments")
    assert (name, planned) == (f"{drill}?owner={org.rep1.pk}&year=2026",) * 2
    assert overdue == f"{drill}?owner={org.rep1.pk}&bucket=overdue"
    assert ageing[1] == f"{drill}?owner={org.rep1.pk}&bucket=d60"


def test_the_year_drill_down_adds_up_to_the_reps_planned_and_received(client, org, two_years):
    client.force_login(org.manager1)
    response, page = _dashboard(client, "?year=2026")
    row = response.context["data"]["groups"][0]
    _response, instalments = _rows(client, _links(page)[0])
    assert [i.due_on for i in instalments] == [
        datetime.date(2026, 1, 19),
        datetime.date(2026, 2, 18),
        datetime.date(2026, 4, 26),
        datetime.date(2026, 5, 26),
    ]
    assert sum(i.amount for i in instalments) == row["planned"] == Decimal("40000.00")
    # received: the two payments that came in during 2026, though 4,000 of it paid a 2025 instalment;
    # the reps' rows add up to the total card
    assert row["received"] == response.context["data"]["received_total"] == Decimal("7000.00")


def test_the_overdue_drill_downs_add_up_to_the_reps_overdue_and_ageing_cells(client, org, two_years):
    client.force_login(org.manager1)
    response, page = _dashboard(client, "?year=2026")
    row = response.context["data"]["groups"][0]
    _name, _planned, overdue, *ageing = _links(page)
    _response, instalments = _rows(client, overdue)
    assert sum(i.amount - i.received for i in instalments) == row["overdue"] == Decimal("43000.00")
    cells = [value for _code, value in row["ageing"]]
    sums = [sum((i.amount - i.received for i in _rows(client, url)[1]), Decimal(0)) for url in ageing]
    assert sums == cells == [Decimal("10000.00"), Decimal("7000.00"), Decimal("0"), Decimal("26000.00")]


def test_a_departments_row_keeps_the_year_and_the_channel(client, org, two_years):
    event, _website = two_years
    client.force_login(org.director)
    response, page = _dashboard(client, "?year=2026&group=department&source=event")
    row = response.context["data"]["groups"][0]
    name, *_cells = _links(page)
    assert name == f"{reverse('contracts:instalments')}?department={event.department_id}&year=2026&source=event"
    _response, instalments = _rows(client, name)
    assert [i.due_on for i in instalments] == [datetime.date(2026, 1, 19), datetime.date(2026, 2, 18)]
    assert sum(i.amount for i in instalments) == row["planned"] == Decimal("20000.00")


def test_the_contracts_of_no_department_drill_down_to_themselves_alone(client, org, two_years, chinese):
    event, website = two_years
    Contract.objects.filter(pk=website.pk).update(department=None)
    org.director.data_scope = DataScope.ALL  # a director of the whole company sees them
    org.director.save(update_fields=["data_scope"])
    client.force_login(org.director)
    response, page = _dashboard(client, "?year=2026&group=department")
    names = [(row["name"], row["planned"]) for row in response.context["data"]["groups"]]
    assert names == [(event.department.name, Decimal("20000.00")), ("未分配部门", Decimal("20000.00"))]
    link = _links(page)[len(_links(page)) // 2]  # the second row's first link
    assert link == f"{reverse('contracts:instalments')}?department=none&year=2026"
    drill, instalments = _rows(client, link)
    assert [(i.contract_id, i.due_on) for i in instalments] == [
        (website.pk, datetime.date(2026, 4, 26)),
        (website.pk, datetime.date(2026, 5, 26)),
    ]
    assert "回款计划 · 2026 · 未分配部门" in drill.content.decode()
    # a department that is not a number finds nothing rather than everything
    assert _rows(client, reverse("contracts:instalments") + "?department=x")[1] == []


def test_last_years_dashboard_drills_down_to_last_years_instalments(client, org, two_years):
    client.force_login(org.manager1)
    _response, page = _dashboard(client, "?year=2025")
    _response, instalments = _rows(client, _links(page)[0])
    assert [(i.due_on, i.received) for i in instalments] == [(datetime.date(2025, 12, 20), Decimal("4000.00"))]


def test_the_drill_down_heading_names_the_year_the_rep_and_the_channel(client, org, two_years, chinese):
    client.force_login(org.manager1)
    url = reverse("contracts:instalments") + f"?owner={org.rep1.pk}&year=2026&source=event"
    page = client.get(url).content.decode()
    heading = re.sub(r"<[^>]+>|\s+", " ", re.search(r"<h1>(.*?)<span", page, re.S).group(1)).strip()
    assert heading == f"回款计划 · 2026 · {person_name(org.rep1)} · {source_names()['event']}"


def test_an_overdue_drill_down_says_as_of_which_day(client, org, two_years, chinese):
    client.force_login(org.manager1)
    page = client.get(reverse("contracts:instalments") + f"?owner={org.rep1.pk}&bucket=d60").content.decode()
    assert "· 截至 2026-06-15 逾期 31–60 天" in page


def test_the_drill_downs_xlsx_holds_the_same_rows_and_names_the_period(client, org, two_years, chinese):
    client.force_login(org.manager1)
    url = reverse("contracts:instalments") + f"?owner={org.rep1.pk}&year=2026&export=xlsx"
    response = client.get(url)
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    rows = list(book.active.values)
    assert book.active.title.startswith("回款计划 · 2026 · ")
    assert response["Content-Disposition"].startswith('attachment; filename="instalments-2026-')
    assert sum(Decimal(str(row[-2]).replace(",", "")) for row in rows[1:]) == Decimal("40000")


def test_the_dashboards_xlsx_names_its_year_and_channel(client, org, two_years, chinese):
    client.force_login(org.manager1)
    response = client.get(reverse("contracts:collections") + "?year=2026&source=event&export=xlsx")
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    rows = list(book.active.values)
    assert book.active.title == sheet_title(f"回款看板 · 2026 · {source_names()['event']}")
    assert response["Content-Disposition"].startswith('attachment; filename="collections-2026-event-')
    assert [row[0] for row in rows[-12:]][:2] == ["2026-01", "2026-02"]


def test_the_drill_down_reads_with_a_bounded_number_of_queries(client, org, two_years, django_assert_max_num_queries):
    client.force_login(org.manager1)
    url = reverse("contracts:instalments") + f"?owner={org.rep1.pk}&year=2026&source=event"
    client.get(url)  # cached choices read once
    with django_assert_max_num_queries(20):
        assert client.get(url).status_code == 200


def test_the_drill_downs_filters_offer_people_and_departments_by_name(client, org, two_years, chinese):
    client.force_login(org.manager1)
    response, instalments = _rows(client, f"{reverse('contracts:instalments')}?owner={org.rep1.pk}&year=2026")
    form = response.context["filter"].form
    owners = dict(form.fields["owner"].choices)
    assert owners[str(org.rep1.pk)] == person_name(org.rep1)
    departments = dict(form.fields["department"].choices)
    assert departments["none"] == "未分配部门"
    assert departments[str(org.rep1.department_id)] == org.rep1.department.name
    page = response.content.decode()
    assert f'<option value="{org.rep1.pk}" selected>{person_name(org.rep1)}</option>' in page
    assert len(instalments) == 4
