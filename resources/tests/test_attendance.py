import pytest

from catalog.models import EntitlementUse
from crm.errors import DomainError
from resources.models import Attendance, RenewalRequest, Room, Teacher
from resources.services import attendance, enrolments, schedule
from sales.models import Opportunity


@pytest.fixture
def seated(make_class, students):
    school_class = make_class(capacity=3)
    sessions = schedule.generate_sessions(school_class=school_class)
    enrolment = enrolments.enrol(school_class=school_class, customer=students[0])
    return school_class, sessions, enrolment


def test_present_and_absent_use_an_hour_and_leave_none(seated):
    school_class, sessions, enrolment = seated
    for session, status in zip(sessions, ["present", "absent", "leave"]):
        attendance.record(session=session, enrolment=enrolment, status=status)
    enrolment.entitlement.refresh_from_db()
    assert enrolment.entitlement.balance == 8
    assert sorted(EntitlementUse.objects.values_list("reference", flat=True)) == [
        f"session:{sessions[0].pk}",
        f"session:{sessions[1].pk}",
    ]


def test_attendance_is_recorded_once_per_session(seated):
    _, sessions, enrolment = seated
    attendance.record(session=sessions[0], enrolment=enrolment, status="present")
    with pytest.raises(DomainError) as refused:
        attendance.record(session=sessions[0], enrolment=enrolment, status="absent")
    enrolment.entitlement.refresh_from_db()
    assert (refused.value.code, enrolment.entitlement.balance) == ("already_recorded", 9)


def test_a_session_of_another_class_is_refused_unless_it_is_a_make_up(seated, make_class, org):
    _, sessions, enrolment = seated
    other = make_class(
        name="数学3班(周二)",
        weekdays=(1,),
        teacher=Teacher.objects.create(name="李老师", department=org.sales1),
        room=Room.objects.create(name="302", department=org.sales1),
    )
    other_sessions = schedule.generate_sessions(school_class=other, count=2)
    with pytest.raises(DomainError) as refused:
        attendance.record(session=other_sessions[0], enrolment=enrolment, status="present")
    assert refused.value.code == "wrong_class"
    attendance.record(session=sessions[0], enrolment=enrolment, status="leave")
    makeup = attendance.record(session=other_sessions[0], enrolment=enrolment, status="present", is_makeup=True)
    enrolment.entitlement.refresh_from_db()
    assert (makeup.is_makeup, enrolment.entitlement.balance) == (True, 9)


def test_a_make_up_needs_a_free_seat(seated, make_class, org, students):
    _, _, enrolment = seated
    full = make_class(
        name="数学满班",
        capacity=1,
        weekdays=(1,),
        teacher=Teacher.objects.create(name="李老师", department=org.sales1),
        room=Room.objects.create(name="302", department=org.sales1),
    )
    enrolments.enrol(school_class=full, customer=students[1])
    session = schedule.generate_sessions(school_class=full, count=1)[0]
    with pytest.raises(DomainError) as refused:
        attendance.record(session=session, enrolment=enrolment, status="present", is_makeup=True)
    assert refused.value.code == "no_free_seat"
    assert Attendance.objects.count() == 0


def test_reaching_the_threshold_opens_one_renewal_opportunity_for_the_owner(seated, org):
    _, sessions, enrolment = seated
    for session in sessions[:9]:
        attendance.record(session=session, enrolment=enrolment, status="present")
    opportunity = Opportunity.objects.get()
    assert (opportunity.name, opportunity.owner, opportunity.customer.name, opportunity.amount) == (
        "续费：三年级数学",
        org.rep1,
        "李小明",
        4800,
    )
    assert list(RenewalRequest.objects.values_list("threshold", flat=True)) == [2]


def test_no_hours_left_refuses_attendance_that_uses_one(seated):
    _, sessions, enrolment = seated
    for session in sessions[:10]:
        attendance.record(session=session, enrolment=enrolment, status="present")
    extra = schedule.add_session(
        school_class=sessions[0].school_class,
        starts_at=sessions[-1].starts_at.replace(year=2027, month=3),
        ends_at=sessions[-1].ends_at.replace(year=2027, month=3),
    )
    with pytest.raises(DomainError) as refused:
        attendance.record(session=extra, enrolment=enrolment, status="present")
    assert (refused.value.code, Attendance.objects.filter(session=extra).count()) == ("insufficient_balance", 0)
