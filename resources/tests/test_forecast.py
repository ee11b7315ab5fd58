"""续费预测: each enrolled student's weekly use of lesson hours and the dates the balance reaches the
renewal line and zero, on the enrolment's ledger page and on the forecast page of the user's scope."""

import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog.models import Entitlement
from catalog.services import entitlements
from crm.models import AccessLog
from customers.models import CustomerRelation
from customers.tests.factories import CustomerFactory
from resources.models import Enrolment
from resources.services import enrolments, forecast

from .conftest import MONDAY, local

#: the day every test looks from: Monday 2026-12-07, 20:00 in Shanghai
NOW = local(MONDAY, 20)


def _enrol(school_class, student, when, *, hours=None):
    with time_machine.travel(when, tick=False):
        enrolment = enrolments.enrol(school_class=school_class, customer=student)
    if hours is not None:
        Entitlement.objects.filter(pk=enrolment.entitlement_id).update(quantity=hours, balance=hours)
    return Enrolment.objects.select_related("entitlement").get(pk=enrolment.pk)


def _use(enrolment, when, quantity=1):
    with time_machine.travel(when, tick=False):
        entitlements.consume(entitlement=Entitlement.objects.get(pk=enrolment.entitlement_id), quantity=quantity)


@pytest.fixture
def history(make_class, students):
    """Three students of rep1 in one class (the course asks for a renewal at 2 hours left):

    - 李小明, enrolled 2026-10-12 with 40 hours: 2 hours every Monday for the last 8 weeks (16 in
      the window), 2 more the day before it began, and 3 refunded (not use) — 19 left;
    - 王小红, enrolled Thursday 2026-11-26 (2 started weeks) with 10 hours: 2 hours on 11-28 and 1
      on 12-05 — 7 left;
    - 张小军, enrolled 2026-11-02 with 10 hours and none used."""
    school_class = make_class(capacity=10)
    steady = _enrol(school_class, students[0], local(datetime.date(2026, 10, 12), 9), hours=40)
    _use(steady, local(datetime.date(2026, 10, 12), 10), 2)  # the day before the 8 weeks
    for week in range(8):
        _use(steady, local(MONDAY - datetime.timedelta(days=7 * week), 10), 2)
    with time_machine.travel(local(datetime.date(2026, 11, 20), 10), tick=False):
        entitlements.refund(
            entitlement=Entitlement.objects.get(pk=steady.entitlement_id), quantity=3, reason="调课", reference="r1"
        )
    new = _enrol(school_class, students[1], local(datetime.date(2026, 11, 26), 9))
    _use(new, local(datetime.date(2026, 11, 28), 10), 2)
    _use(new, local(datetime.date(2026, 12, 5), 10), 1)
    idle = _enrol(school_class, students[2], local(datetime.date(2026, 11, 2), 9))
    return steady, new, idle


def _by_student(rows):
    return {r.enrolment.customer.name: r for r in rows}


def test_steady_use_over_eight_weeks_projects_exact_dates(history):
    with time_machine.travel(NOW, tick=False):
        row = _by_student(forecast.forecasts(Enrolment.objects.all()))["李小明"]
    assert (row.history, row.weeks, row.weekly, row.balance, row.threshold) == ([2] * 8, 8, 2, 19, 2)
    # (19 - 2) hours at 2 a week: 59.5 days, the 60th day; 19 hours: 66.5 days, the 67th day
    assert (row.threshold_on, row.empty_on, str(row.weeks_left)) == (
        datetime.date(2027, 2, 5),
        datetime.date(2027, 2, 12),
        "9.5",
    )


def test_a_new_student_is_averaged_over_the_weeks_since_enrolment(history):
    with time_machine.travel(NOW, tick=False):
        row = _by_student(forecast.forecasts(Enrolment.objects.all()))["王小红"]
    # 3 hours in 2 weeks: 1.5 a week; 5 hours to the line: 23.3 days; 7 hours: 32.7 days
    assert (row.history, row.weeks, str(row.weekly), row.balance) == ([0, 0, 0, 0, 0, 0, 2, 1], 2, "1.5", 7)
    assert (row.threshold_on, row.empty_on, str(row.weeks_left)) == (
        datetime.date(2026, 12, 31),
        datetime.date(2027, 1, 9),
        "4.7",
    )


def test_an_enrolment_without_use_has_no_projection(history):
    with time_machine.travel(NOW, tick=False):
        row = _by_student(forecast.forecasts(Enrolment.objects.all()))["张小军"]
        summary = row.summary
    # enrolled on Monday 2026-11-02: today is in its 6th week
    assert (row.weeks, row.weekly, row.threshold_on, row.empty_on, row.weeks_left) == (6, 0, None, None, None)
    assert summary == "近 6 周未消耗课时，暂无续费预测。"


def test_a_balance_already_at_the_line_is_due_today(make_class, students):
    enrolment = _enrol(make_class(), students[0], local(datetime.date(2026, 11, 30), 9))
    _use(enrolment, local(datetime.date(2026, 12, 2), 10), 8)
    with time_machine.travel(NOW, tick=False):
        row = forecast.forecast_for(enrolment)
    # 8 hours in 2 weeks: 4 a week; 2 hours left: 3.5 days, the 4th day
    assert (row.balance, row.threshold_on, row.empty_on) == (2, MONDAY, datetime.date(2026, 12, 11))


def test_the_ledger_page_gives_the_projection_in_one_line(client, org, history):
    steady, _, _ = history
    client.force_login(org.rep1)
    with time_machine.travel(NOW, tick=False):
        response = client.get(reverse("resources:hours", args=[steady.pk]))
    assert "按近 8 周每周 2 课时，预计 2027-02-05 课时余额降至续费线" in response.content.decode()


def test_the_forecast_page_lists_soonest_first_with_parent_and_owner(client, org, history):
    parent = CustomerFactory(name="李建国", owner=org.rep1, department=org.team1)
    CustomerRelation.objects.create(from_customer=parent, to_customer=history[0].customer, kind="parent")
    client.force_login(org.rep1)
    with time_machine.travel(NOW, tick=False):
        response = client.get(reverse("resources:renewals"))
    rows = response.context["rows"]
    assert [(r.enrolment.customer.name, r.threshold_on) for r in rows] == [
        ("王小红", datetime.date(2026, 12, 31)),
        ("李小明", datetime.date(2027, 2, 5)),
        ("张小军", None),
    ]
    text = " ".join(response.content.decode().split())
    assert "家长：李建国" in text
    cards = text.split('data-testid="forecast-cards"')[1].split("</ul>")[0]  # the phone's layout
    assert cards.index("王小红") < cards.index("李小明") < cards.index("张小军")
    assert "续费预测" in text and "2026-12-31" in text and "暂无预测" in text
    assert "Renewal forecast" not in text and "No projection" not in text


def test_the_forecast_page_filters_by_days_and_course(client, org, history, course):
    client.force_login(org.rep1)
    with time_machine.travel(NOW, tick=False):
        within_30 = client.get(reverse("resources:renewals"), {"days": "30"}).context["rows"]
        within_90 = client.get(reverse("resources:renewals"), {"days": "90", "course": course.pk}).context["rows"]
        other = client.get(reverse("resources:renewals"), {"course": course.pk + 1000}).context["rows"]
    assert [r.enrolment.customer.name for r in within_30] == ["王小红"]
    assert [r.enrolment.customer.name for r in within_90] == ["王小红", "李小明"]
    assert len(other) == 3  # an unknown course is no filter


def test_a_rep_sees_only_his_own_students(client, org, history, make_class):
    theirs = CustomerFactory(name="周小周", owner=org.rep3, department=org.sales2)
    _enrol(make_class(name="数学4班"), theirs, local(datetime.date(2026, 11, 2), 9))
    client.force_login(org.rep1)
    with time_machine.travel(NOW, tick=False):
        mine = client.get(reverse("resources:renewals"))
    client.force_login(org.rep3)
    with time_machine.travel(NOW, tick=False):
        his = client.get(reverse("resources:renewals"))
    assert sorted(r.enrolment.customer.name for r in mine.context["rows"]) == ["张小军", "李小明", "王小红"]
    assert [r.enrolment.customer.name for r in his.context["rows"]] == ["周小周"]
    assert "周小周" not in mine.content.decode()


def test_the_export_is_a_spreadsheet_of_the_rows_and_logged(client, org, history):
    from io import BytesIO

    from openpyxl import load_workbook

    client.force_login(org.rep1)
    with time_machine.travel(NOW, tick=False):
        response = client.get(reverse("resources:renewals"), {"export": "xlsx", "days": "90"})
    sheet = load_workbook(BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:5] == ("学员", "家长", "课程", "班级", "剩余课时")
    assert [(r[0], r[4], r[8].date()) for r in rows[1:]] == [
        ("王小红", 7, datetime.date(2026, 12, 31)),
        ("李小明", 19, datetime.date(2027, 2, 5)),
    ]
    assert AccessLog.objects.get(user=org.rep1).count == 2


#: the session, the user and the page shell's one; the courses, the enrolments, their weekly use (one
#: grouped query) and the parents
QUERIES = 7


def _page_queries(client):
    with time_machine.travel(NOW, tick=False), CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("resources:renewals")).status_code == 200
    return len(queries)


def test_the_page_reads_the_same_number_of_queries_for_2_or_8_students(client, org, make_class):
    school_class = make_class(capacity=20)
    students = [CustomerFactory(name=f"学员{i}", owner=org.rep1, department=org.team1) for i in range(8)]
    for student in students[:2]:
        _use(_enrol(school_class, student, local(datetime.date(2026, 11, 2), 9)), local(MONDAY, 10))
    client.force_login(org.rep1)
    _page_queries(client)  # the session and cached choices are read once
    few = _page_queries(client)
    for student in students[2:]:
        _use(_enrol(school_class, student, local(datetime.date(2026, 11, 2), 9)), local(MONDAY, 10))
    many = _page_queries(client)
    assert (few, many) == (QUERIES, QUERIES)


def test_a_capped_page_says_how_many_it_leaves_out_and_the_export_holds_them_all(client, org, history, monkeypatch):
    from io import BytesIO

    from openpyxl import load_workbook

    from resources import selectors

    monkeypatch.setattr(selectors, "MAX_ROWS", 2)
    client.force_login(org.rep1)
    with time_machine.travel(NOW, tick=False):
        page = client.get(reverse("resources:renewals"))
        sheet = load_workbook(BytesIO(client.get(reverse("resources:renewals"), {"export": "xlsx"}).content)).active
    assert [r.enrolment.customer.name for r in page.context["rows"]] == ["王小红", "李小明"]
    text = " ".join(page.content.decode().split())
    assert "共 3 名学员，此处列出最先降至续费线的 2 名" in text
    assert [row[0] for row in list(sheet.iter_rows(values_only=True))[1:]] == ["王小红", "李小明", "张小军"]
    monkeypatch.setattr(selectors, "MAX_ROWS", 3)
    with time_machine.travel(NOW, tick=False):
        assert 'data-testid="forecast-capped"' not in client.get(reverse("resources:renewals")).content.decode()
