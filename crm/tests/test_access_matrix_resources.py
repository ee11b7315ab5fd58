"""The access matrix of courses and classes (resources): for every role, a GET is 200 for the
roles ``crm.permissions.ACTIONS`` allows and 403 for the others; a refused POST changes nothing;
a student or an opportunity outside the user's scope is 404."""

import datetime

import pytest
from django.test import Client
from django.urls import reverse

from crm import permissions
from crm.models import Role
from crm.tests.factories import UserFactory
from customers.tests.factories import CustomerFactory
from resources.models import Attendance, Course, Enrolment, Holiday, Room, SchoolClass, Session, Teacher, TrialLesson
from resources.services import enrolments, schedule
from sales.services.opportunities import ensure_default_stages, open_opportunity

ROLES = [Role.REP, Role.MANAGER, Role.DIRECTOR, Role.MARKETING, Role.ADMIN]


def _things(org, user):
    customer = CustomerFactory(name="矩阵学生", owner=user, department=user.department)
    teacher = Teacher.objects.create(name="矩阵老师", department=org.sales1)
    room = Room.objects.create(name="矩阵教室", department=org.sales1)
    holiday = Holiday.objects.create(day=datetime.date(2030, 1, 1), name="元旦")
    course = Course.objects.create(name="矩阵课程", subject="数学", lesson_count=3)
    school_class = SchoolClass.objects.create(
        course=course,
        name="矩阵班",
        department=org.sales1,
        teacher=teacher,
        room=room,
        capacity=5,
        weekdays=[0],
        start_time=datetime.time(10),
        first_day=datetime.date(2030, 1, 7),
    )
    session = schedule.generate_sessions(school_class=school_class)[0]
    enrolment = enrolments.enrol(school_class=school_class, customer=customer)
    ensure_default_stages()
    opportunity = (
        open_opportunity(actor=user, customer=customer, name="矩阵商机")
        if user.role != Role.MARKETING
        else open_opportunity(actor=org.rep1, customer=customer, name="矩阵商机")
    )
    trial = TrialLesson.objects.create(opportunity=opportunity, session=session)
    return {
        "customer": customer,
        "teacher": teacher,
        "room": room,
        "holiday": holiday,
        "course": course,
        "class": school_class,
        "session": session,
        "enrolment": enrolment,
        "opportunity": opportunity,
        "trial": trial,
    }


#: (name, url of the things, ACTIONS entry, whether to try a POST: True, False or "only")
PAGES = [
    ("overview", lambda t: reverse("resources:overview"), "resources.view", False),
    ("renewals", lambda t: reverse("resources:renewals"), "resources.view", False),
    ("renewals_export", lambda t: reverse("resources:renewals") + "?export=xlsx", "customers.export", False),
    ("calendar", lambda t: reverse("resources:calendar") + f"?teacher={t['teacher'].pk}", "resources.view", False),
    ("class", lambda t: reverse("resources:class", args=[t["class"].pk]), "resources.view", False),
    ("session", lambda t: reverse("resources:session", args=[t["session"].pk]), "resources.view", False),
    ("class_new", lambda t: reverse("resources:class_create"), "resources.manage", True),
    ("class_edit", lambda t: reverse("resources:class_edit", args=[t["class"].pk]), "resources.manage", True),
    ("generate", lambda t: reverse("resources:generate", args=[t["class"].pk]), "resources.manage", "only"),
    (
        "session_cancel",
        lambda t: reverse("resources:session_cancel", args=[t["session"].pk]),
        "resources.manage",
        "only",
    ),
    ("enrol", lambda t: reverse("resources:enrol", args=[t["class"].pk]), "resources.enrol", "only"),
    ("withdraw", lambda t: reverse("resources:withdraw", args=[t["enrolment"].pk]), "resources.enrol", "only"),
    ("attendance", lambda t: reverse("resources:attendance", args=[t["session"].pk]), "resources.enrol", "only"),
    ("trial_book", lambda t: reverse("resources:trial_book", args=[t["opportunity"].pk]), "resources.enrol", True),
    ("trial_mark", lambda t: reverse("resources:trial_mark", args=[t["trial"].pk]), "resources.enrol", "only"),
    ("course_new", lambda t: reverse("resources:course_create"), "resources.manage", True),
    ("course_edit", lambda t: reverse("resources:course_edit", args=[t["course"].pk]), "resources.manage", True),
    ("teacher_new", lambda t: reverse("resources:teacher_create"), "resources.manage", True),
    ("teacher_edit", lambda t: reverse("resources:teacher_edit", args=[t["teacher"].pk]), "resources.manage", True),
    ("room_new", lambda t: reverse("resources:room_create"), "resources.manage", True),
    ("room_edit", lambda t: reverse("resources:room_edit", args=[t["room"].pk]), "resources.manage", True),
    ("holiday_new", lambda t: reverse("resources:holiday_create"), "resources.manage", True),
    ("holiday_edit", lambda t: reverse("resources:holiday_edit", args=[t["holiday"].pk]), "resources.manage", True),
]


def state():
    return (
        list(Course.objects.values_list("pk", "name").order_by("pk")),
        list(Teacher.objects.values_list("pk", "name").order_by("pk")),
        list(Room.objects.values_list("pk", "name").order_by("pk")),
        list(Holiday.objects.values_list("pk", "name").order_by("pk")),
        list(SchoolClass.objects.values_list("pk", "name", "enrolled").order_by("pk")),
        list(Session.objects.values_list("pk", "status").order_by("pk")),
        list(Enrolment.objects.values_list("pk", "status").order_by("pk")),
        list(TrialLesson.objects.values_list("pk", "status").order_by("pk")),
        Attendance.objects.count(),
    )


@pytest.mark.parametrize("role", ROLES)
def test_every_resources_page_answers_as_the_role_allows(org, role):
    user = UserFactory(username=f"resources-{role}", role=role, department=org.sales1)
    things = _things(org, user)
    client = Client(raise_request_exception=False)
    client.force_login(user)
    failures = []
    for name, url_of, action, post in PAGES:
        url = url_of(things)
        ok = role in permissions.ACTIONS[action]
        if post != "only":
            status = client.get(url).status_code
            if status != (200 if ok else 403):
                failures.append(f"GET {name} {url}: {status}, expected {200 if ok else 403}")
        if post and not ok:
            before = state()
            status = client.post(
                url,
                {
                    "name": "changed",
                    "customer": things["customer"].pk,
                    "status": "present",
                    "enrolment": things["enrolment"].pk,
                    "session": things["session"].pk,
                    "attended": "1",
                    "subject": "x",
                    "lesson_count": "5",
                    "department": org.sales1.pk,
                    "seats": "3",
                    "day": "2030-02-01",
                },
            ).status_code
            if status != 403:
                failures.append(f"POST {name} {url}: {status}, expected 403")
            if state() != before:
                failures.append(f"POST {name} {url}: FORBIDDEN WRITE")
    assert failures == []


def test_a_rep_touches_no_student_or_opportunity_of_another_rep(client, org):
    theirs = _things(org, org.rep3)
    client.force_login(org.rep1)
    before = state()
    assert client.get(reverse("resources:trial_book", args=[theirs["opportunity"].pk])).status_code == 404
    for url, data in (
        (reverse("resources:withdraw", args=[theirs["enrolment"].pk]), {}),
        (reverse("resources:trial_mark", args=[theirs["trial"].pk]), {"attended": "1"}),
        (
            reverse("resources:attendance", args=[theirs["session"].pk]),
            {"enrolment": theirs["enrolment"].pk, "status": "present"},
        ),
        (reverse("resources:enrol", args=[theirs["class"].pk]), {"customer": theirs["customer"].pk}),
    ):
        assert client.post(url, data).status_code == 404, url
    assert state() == before
