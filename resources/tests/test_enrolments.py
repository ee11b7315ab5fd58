import datetime

import pytest

from catalog.models import Entitlement
from crm.errors import DomainError
from crm.tests.parallel import run_parallel
from customers.tests.factories import CustomerFactory
from resources.models import Course, Enrolment, Room, SchoolClass, Teacher
from resources.services import enrolments

from .conftest import MONDAY


def test_enrolling_takes_a_seat_and_grants_the_courses_lesson_hours(make_class, students):
    school_class = make_class()
    enrolment = enrolments.enrol(school_class=school_class, customer=students[0])
    school_class.refresh_from_db()
    assert (enrolment.status, school_class.enrolled) == ("enrolled", 1)
    held = Entitlement.objects.get(customer=students[0])
    assert (held.name, held.quantity, held.balance, held.sku.code) == ("课时：三年级数学", 10, 10, "MATH-3-20")
    assert enrolment.entitlement == held


def test_past_capacity_students_wait_in_order_and_get_no_hours(make_class, students):
    school_class = make_class(capacity=3)
    statuses = [enrolments.enrol(school_class=school_class, customer=s).status for s in students]
    school_class.refresh_from_db()
    assert statuses == ["enrolled", "enrolled", "enrolled", "waiting", "waiting"]
    assert (school_class.enrolled, Entitlement.objects.count()) == (3, 3)


def test_a_student_is_enrolled_once(make_class, students):
    school_class = make_class()
    enrolments.enrol(school_class=school_class, customer=students[0])
    with pytest.raises(DomainError) as refused:
        enrolments.enrol(school_class=school_class, customer=students[0])
    assert refused.value.code == "already_enrolled"
    assert refused.value.fields == {"customer": ["已在本班。"]}


def test_a_freed_seat_goes_to_the_first_waiting_student_with_hours(make_class, students):
    school_class = make_class(capacity=3)
    taken = [enrolments.enrol(school_class=school_class, customer=s) for s in students]
    moved = enrolments.withdraw(enrolment=taken[1])
    school_class.refresh_from_db()
    assert moved.customer.name == "赵小燕"
    assert (moved.status, moved.entitlement.balance, school_class.enrolled) == ("enrolled", 10, 3)
    assert list(school_class.enrolments.filter(status="waiting").values_list("customer__name", flat=True)) == ["陈小东"]


def test_a_waiting_student_leaving_frees_no_seat(make_class, students):
    school_class = make_class(capacity=1)
    enrolments.enrol(school_class=school_class, customer=students[0])
    waiting = enrolments.enrol(school_class=school_class, customer=students[1])
    assert enrolments.withdraw(enrolment=waiting) is None
    school_class.refresh_from_db()
    assert (school_class.enrolled, Enrolment.objects.get(pk=waiting.pk).status) == (1, "left")


@pytest.mark.django_db(transaction=True)
def test_twelve_students_at_once_fill_five_seats_and_seven_wait(postgres):
    from crm.tests.factories import OrgFixture

    org = OrgFixture()
    course = Course.objects.create(name="数学", subject="数学", lesson_count=8)
    school_class = SchoolClass.objects.create(
        course=course,
        name="数学1班",
        department=org.sales1,
        teacher=Teacher.objects.create(name="王老师", department=org.sales1),
        room=Room.objects.create(name="301", department=org.sales1),
        capacity=5,
        weekdays=[0],
        start_time=datetime.time(10),
        first_day=MONDAY,
    )
    customers = [CustomerFactory(name=f"学生{i}") for i in range(12)]

    def enrol(customer):
        return lambda: enrolments.enrol(school_class=school_class, customer=customer).status

    results = run_parallel([enrol(c) for c in customers])
    school_class.refresh_from_db()
    assert sorted(results) == ["enrolled"] * 5 + ["waiting"] * 7
    assert (school_class.enrolled, Entitlement.objects.count()) == (5, 5)
