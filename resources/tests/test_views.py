import datetime
import re

import pytest
import time_machine
from django.urls import reverse

from resources.models import Attendance, Enrolment, Session, TrialLesson
from resources.services import enrolments, schedule
from sales.services.opportunities import ensure_default_stages, open_opportunity

from .conftest import MONDAY, local


@pytest.fixture
def full_class(make_class, students):
    school_class = make_class(capacity=3)
    schedule.generate_sessions(school_class=school_class)
    for student in students:
        enrolments.enrol(school_class=school_class, customer=student)
    return school_class


def test_the_overview_shows_fill_rate_and_teacher_load(client, org, full_class, django_assert_max_num_queries):
    client.force_login(org.admin)
    with time_machine.travel(local(MONDAY, 8), tick=False), django_assert_max_num_queries(12):
        response = client.get(reverse("resources:overview"))
    text = response.content.decode()
    assert response.status_code == 200
    assert "3 / 3" in text and "100%" in text
    row = next(r for r in response.context["load"] if r["teacher"].name == "王老师")
    assert (row["booked_hours"], row["available_hours"], row["load"]) == (3.0, 18.0, 17)
    assert response.context["classes"][0].waiting == 2


def test_a_rep_enrols_his_customer_and_the_next_one_waits(client, org, make_class, students):
    school_class = make_class(capacity=1)
    client.force_login(org.rep1)
    response = client.post(
        reverse("resources:enrol", args=[school_class.pk]), {"customer": students[0].pk}, follow=True
    )
    assert "李小明 已报名。" in response.content.decode()
    response = client.post(
        reverse("resources:enrol", args=[school_class.pk]), {"customer": students[1].pk}, follow=True
    )
    assert "班级已满：王小红 已进入候补名单。" in response.content.decode()
    assert list(Enrolment.objects.order_by("id").values_list("status", flat=True)) == ["enrolled", "waiting"]


def test_a_rep_cannot_enrol_another_reps_customer(client, org, make_class):
    from customers.tests.factories import CustomerFactory

    theirs = CustomerFactory(name="周小周", owner=org.rep3, department=org.sales2)
    client.force_login(org.rep1)
    response = client.post(reverse("resources:enrol", args=[make_class().pk]), {"customer": theirs.pk})
    assert (response.status_code, Enrolment.objects.count()) == (404, 0)


def test_the_class_page_lists_students_and_waiting_in_bounded_queries(
    client, org, full_class, django_assert_max_num_queries
):
    client.force_login(org.rep1)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("resources:class", args=[full_class.pk]))
    roster = response.context["roster"]
    assert [e.customer.name for e in roster["enrolled"]] == ["李小明", "王小红", "张小军"]
    assert [e.customer.name for e in roster["waiting"]] == ["赵小燕", "陈小东"]
    assert len(response.context["sessions"]) == 10


def test_a_manager_of_another_department_sees_no_names_on_the_roster(client, org, full_class):
    client.force_login(org.manager2)
    response = client.get(reverse("resources:class", args=[full_class.pk]))
    assert (response.context["roster"]["enrolled"], response.context["roster"]["waiting_total"]) == ([], 2)


def test_recording_attendance_on_the_session_page(client, org, full_class):
    session = full_class.sessions.order_by("starts_at").first()
    enrolment = Enrolment.objects.filter(status="enrolled").order_by("id").first()
    client.force_login(org.rep1)
    response = client.post(
        reverse("resources:attendance", args=[session.pk]),
        {"enrolment": enrolment.pk, "status": "present"},
        follow=True,
    )
    enrolment.entitlement.refresh_from_db()
    assert "考勤已记录。" in response.content.decode()
    assert (Attendance.objects.get().status, enrolment.entitlement.balance) == ("present", 9)


def test_the_week_grid_shows_a_teachers_sessions_by_day(client, org, full_class, django_assert_max_num_queries):
    client.force_login(org.rep1)
    url = reverse("resources:calendar") + f"?week=2026-12-09&teacher={full_class.teacher.pk}"
    with django_assert_max_num_queries(10):
        response = client.get(url)
    days = response.context["days"]
    assert days[0]["day"] == MONDAY
    assert [len(d["sessions"]) for d in days] == [1, 0, 1, 0, 0, 0, 0]
    assert response.content.decode().count("data-session") == 2


def test_an_admin_creates_a_class_and_its_sessions_are_scheduled(client, org, course, teacher, room):
    client.force_login(org.admin)
    response = client.post(
        reverse("resources:class_create"),
        {
            "course": course.pk,
            "name": "数学5班",
            "department": org.sales1.pk,
            "teacher": teacher.pk,
            "room": room.pk,
            "capacity": "8",
            "weekdays": ["5"],
            "start_time": "09:00",
            "minutes": "60",
            "first_day": "2026-12-12",
        },
    )
    assert response.status_code == 302
    assert Session.objects.filter(school_class__name="数学5班").count() == 10


def test_a_clashing_class_is_refused_beside_the_teacher_field(client, org, full_class, course, room):
    client.force_login(org.admin)
    response = client.post(
        reverse("resources:class_create"),
        {
            "course": course.pk,
            "name": "数学6班",
            "department": org.sales1.pk,
            "teacher": full_class.teacher.pk,
            "room": room.pk,
            "capacity": "8",
            "weekdays": ["0"],
            "start_time": "10:30",
            "minutes": "60",
            "first_day": "2026-12-07",
        },
    )
    assert response.status_code == 200
    assert response.context["form"].errors["teacher"] == [
        "王老师 在 2026-12-07 10:00–11:30 已有 数学3班 的课。"
        " 可排时段：12-07 11:30–12:30、12-07 12:30–13:30、12-07 13:30–14:30。"
    ]
    assert not Session.objects.filter(school_class__name="数学6班").exists()


@time_machine.travel(local(MONDAY - datetime.timedelta(days=1), 9), tick=False)
def test_a_rep_books_a_trial_from_his_opportunity(client, org, make_class, students):
    session = schedule.generate_sessions(school_class=make_class(capacity=4), count=1)[0]
    ensure_default_stages()
    opportunity = open_opportunity(actor=org.rep1, customer=students[4], name="陈小东 数学课")
    client.force_login(org.rep1)
    page = client.get(reverse("resources:trial_book", args=[opportunity.pk]))
    assert [s.pk for s in page.context["sessions"]] == [session.pk]
    response = client.post(reverse("resources:trial_book", args=[opportunity.pk]), {"session": session.pk})
    assert response.status_code == 302
    assert TrialLesson.objects.get().session == session


@pytest.mark.parametrize("kind", ["course", "teacher", "room", "holiday"])
def test_the_setup_forms_draw_their_fields_as_bootstrap_controls(client, org, kind):
    client.force_login(org.admin)
    form = client.get(reverse(f"resources:{kind}_create")).context["form"]
    classes = [f.field.widget.attrs.get("class", "") for f in form.visible_fields()]
    assert all(("form-" in css) for css in classes), classes


def test_an_empty_waiting_list_is_not_numbered_and_a_full_one_is(client, org, make_class, students):
    school_class = make_class(capacity=1)
    client.force_login(org.rep1)
    url = reverse("resources:enrol", args=[school_class.pk])
    empty = client.post(url, {"customer": students[0].pk}, follow=True).content.decode()
    waiting = client.post(url, {"customer": students[1].pk}, follow=True).content.decode()
    numbered = [re.search(r'<ol class="([^"]*)" id="waiting">', page).group(1) for page in (empty, waiting)]
    assert ["list-group-numbered" in classes for classes in numbered] == [False, True]


def test_the_class_form_names_the_weekdays_above_their_boxes(client, org):
    client.force_login(org.admin)
    text = client.get(reverse("resources:class_create")).content.decode()
    block = text[text.index("field-weekdays") :]
    assert block.index("上课星期") < block.index('name="weekdays"')


def test_the_enrol_search_marks_students_already_in_the_class_or_waiting(client, org, make_class, students):
    school_class = make_class(capacity=1)
    enrolments.enrol(school_class=school_class, customer=students[0])  # 李小明 takes the seat
    enrolments.enrol(school_class=school_class, customer=students[3])  # 赵小燕 waits
    client.cookies["django_language"] = "zh-hans"
    client.force_login(org.rep1)
    response = client.get(reverse("resources:class", args=[school_class.pk]), {"q": "小"})
    offered = {c.name: c.in_class for c in response.context["candidates"]}
    assert offered == dict.fromkeys(("张小军", "王小红", "陈小东")) | {"李小明": "enrolled", "赵小燕": "waiting"}
    text = response.content.decode()
    rows = {name: text.split(f"<span>{name}</span>")[1].split("</form>")[0] for name in ("李小明", "赵小燕", "王小红")}
    assert "已在本班" in rows["李小明"] and "候补中" in rows["赵小燕"] and "报名" not in rows["李小明"]
    assert "<button" in rows["王小红"] and "<button" not in rows["李小明"] + rows["赵小燕"]
