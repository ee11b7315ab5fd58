import datetime

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from crm.errors import DomainError
from resources.models import Holiday, Room, Session, Teacher, TeacherLeave
from resources.services import schedule

from .conftest import MONDAY, local


def test_the_rule_generates_the_courses_lessons_on_its_weekdays_skipping_holidays_and_leave(make_class, teacher):
    Holiday.objects.create(day=MONDAY + datetime.timedelta(days=7), name="校庆")
    TeacherLeave.objects.create(
        teacher=teacher,
        starts_on=MONDAY + datetime.timedelta(days=9),
        ends_on=MONDAY + datetime.timedelta(days=9),
        reason="病假",
    )
    school_class = make_class()
    sessions = schedule.generate_sessions(school_class=school_class)
    days = [
        s.starts_at.astimezone(datetime.timezone(datetime.timedelta(hours=8))).strftime("%m-%d %a %H:%M")
        for s in sessions
    ]
    assert days == [
        "12-07 Mon 10:00",
        "12-09 Wed 10:00",
        "12-21 Mon 10:00",
        "12-23 Wed 10:00",
        "12-28 Mon 10:00",
        "12-30 Wed 10:00",
        "01-04 Mon 10:00",
        "01-06 Wed 10:00",
        "01-11 Mon 10:00",
        "01-13 Wed 10:00",
    ]
    assert [s.number for s in sessions] == list(range(1, 11))
    assert (sessions[0].ends_at - sessions[0].starts_at) == datetime.timedelta(minutes=90)


def test_generating_again_adds_nothing_once_the_course_is_scheduled(make_class):
    school_class = make_class()
    schedule.generate_sessions(school_class=school_class)
    assert schedule.generate_sessions(school_class=school_class) == []
    assert Session.objects.count() == 10


def test_a_teacher_is_never_booked_twice_and_the_refusal_names_the_class(make_class, org, teacher):
    schedule.generate_sessions(school_class=make_class())
    other_room = Room.objects.create(name="302 教室", department=org.sales1)
    clash = make_class(name="数学4班", room=other_room, hour=11)
    with pytest.raises(DomainError) as refused:
        schedule.generate_sessions(school_class=clash)
    assert refused.value.code == "double_booked"
    explained = "王老师 在 2026-12-07 10:00–11:30 已有 数学3班 的课。 可排时段：12-07 11:30–13:00、12-07 13:00–14:30、12-07 14:30–16:00。"
    assert str(refused.value.message) == explained
    assert refused.value.fields == {"teacher": [explained]}
    assert Session.objects.filter(school_class=clash).count() == 0


def test_a_room_is_never_booked_twice(make_class, org):
    schedule.generate_sessions(school_class=make_class())
    other = Teacher.objects.create(name="李老师", department=org.sales1)
    clash = make_class(name="英语1班", teacher=other, hour=11)
    with pytest.raises(DomainError) as refused:
        schedule.generate_sessions(school_class=clash)
    assert refused.value.fields == {
        "room": [
            "301 教室 在 2026-12-07 10:00–11:30 已被 数学3班 占用。 可排时段：12-07 11:30–13:00、12-07 13:00–14:30、12-07 14:30–16:00。"
        ]
    }


def test_back_to_back_sessions_and_a_cancelled_one_do_not_clash(make_class, org):
    first = make_class()
    session = schedule.add_session(school_class=first, starts_at=local(MONDAY, 10), ends_at=local(MONDAY, 11))
    schedule.add_session(school_class=first, starts_at=local(MONDAY, 11), ends_at=local(MONDAY, 12))
    schedule.cancel_session(session=session)
    again = schedule.add_session(school_class=first, starts_at=local(MONDAY, 10), ends_at=local(MONDAY, 11))
    assert (again.number, Session.objects.exclude(status="cancelled").count()) == (3, 2)


def test_the_database_refuses_an_overlap_the_service_did_not_see(postgres, make_class):
    school_class = make_class()
    schedule.add_session(school_class=school_class, starts_at=local(MONDAY, 10), ends_at=local(MONDAY, 12))
    with pytest.raises(IntegrityError, match="resources_teacher_no_overlap"), transaction.atomic():
        Session.objects.create(
            school_class=school_class,
            number=9,
            teacher=school_class.teacher,
            room=Room.objects.create(name="另一间", department=school_class.department),
            starts_at=local(MONDAY, 11),
            ends_at=local(MONDAY, 13),
        )


@pytest.mark.django_db(transaction=True)
def test_two_bookings_of_the_same_hour_at_once_make_one_session(postgres):
    from crm.tests.parallel import run_parallel

    from .conftest import OrgFixture

    org = OrgFixture()
    teacher = Teacher.objects.create(name="王老师", department=org.sales1)
    room = Room.objects.create(name="301", department=org.sales1)
    from resources.models import Course, SchoolClass

    course = Course.objects.create(name="数学", subject="数学", lesson_count=4)
    classes = [
        SchoolClass.objects.create(
            course=course,
            name=f"班{i}",
            department=org.sales1,
            teacher=teacher,
            room=room,
            capacity=5,
            weekdays=[0],
            start_time=datetime.time(10),
            first_day=MONDAY,
        )
        for i in range(4)
    ]

    def book(school_class):
        return lambda: (
            schedule.add_session(
                school_class=school_class, starts_at=local(MONDAY, 10), ends_at=local(MONDAY, 11)
            ).school_class.name
        )

    results = run_parallel([book(c) for c in classes], refusals=[(DomainError, lambda exc: exc.code)])
    assert sorted(results).count("double_booked") == 3
    assert Session.objects.count() == 1


def test_the_next_free_slots_skip_the_teachers_sessions_and_hours(make_class, org, teacher, room):
    schedule.generate_sessions(school_class=make_class(hour=10))
    start = timezone.make_aware(datetime.datetime(2026, 12, 7, 16, 30))
    slots = schedule.next_free_slots(
        teacher=teacher, room=room, starts_at=start, ends_at=start + datetime.timedelta(minutes=90), count=2
    )
    # Monday ends at 18:00 for 王老师 and Tuesday is not one of his days: Wednesday 9:00 is taken
    # until 11:30 by 数学3班
    assert schedule.format_slots(slots) == "12-09 11:30–13:00、12-09 13:00–14:30"
