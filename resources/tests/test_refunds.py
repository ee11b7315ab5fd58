"""Refunds of lesson hours (退费): a ledger line with a negative quantity and its reason, never
below zero (also under concurrency), audit-logged, shown in the parent-readable ledger, and
counted by the balance, the renewal asks and the renewal rate."""

import pytest
from auditlog.models import LogEntry
from django.core.exceptions import ValidationError
from django.urls import reverse

from catalog.models import Entitlement, EntitlementUse
from crm.errors import DomainError
from crm.tests.parallel import run_parallel
from resources import bi
from resources.models import Enrolment, RenewalRequest
from resources.services import attendance, enrolments, refunds, schedule


@pytest.fixture
def seated(make_class, students):
    school_class = make_class(capacity=1)
    sessions = schedule.generate_sessions(school_class=school_class)
    enrolment = enrolments.enrol(school_class=school_class, customer=students[0])
    return school_class, sessions, enrolment


def test_a_partial_refund_is_a_negative_ledger_line_with_its_reason(seated, org):
    _, sessions, enrolment = seated
    attendance.record(session=sessions[0], enrolment=enrolment, status="present")
    refunds.refund_hours(enrolment=enrolment, hours=3, reason="搬家转学", actor=org.rep1)
    lines = bi.hour_ledger(enrolment)
    assert [(line["kind"], line["label"], line["change"], line["balance"]) for line in lines] == [
        ("grant", "课时发放", 10, 10),
        ("lesson", "出勤", -1, 9),
        ("refund", "退费：搬家转学", -3, 6),
    ]
    enrolment.refresh_from_db()
    assert (enrolment.status, Entitlement.objects.get().balance) == ("enrolled", 6)


def test_a_refund_is_audit_logged_on_the_enrolment_and_the_ledger_line(seated, org):
    _, _, enrolment = seated
    line = refunds.refund_hours(enrolment=enrolment, hours=2, reason="课时调整", actor=org.rep1)
    entry = LogEntry.objects.get_for_object(Enrolment.objects.get(pk=enrolment.pk)).get(actor=org.rep1)
    assert (entry.actor, entry.changes_dict) == (
        org.rep1,
        {"refunded_hours": ["", "2"], "refund_reason": ["", "课时调整"]},
    )
    assert LogEntry.objects.get_for_object(line).count() == 1


def test_refunding_more_than_is_left_is_refused_and_takes_nothing(seated):
    _, _, enrolment = seated
    with pytest.raises(DomainError) as refused:
        refunds.refund_hours(enrolment=enrolment, hours=11, reason="退费")
    assert (refused.value.code, Entitlement.objects.get().balance, EntitlementUse.objects.count()) == (
        "insufficient_balance",
        10,
        0,
    )


def test_a_refund_needs_a_reason(seated):
    _, _, enrolment = seated
    with pytest.raises(ValidationError) as refused:
        refunds.refund_hours(enrolment=enrolment, hours=1, reason="  ")
    assert refused.value.message_dict == {"reason": ["请填写退费原因。"]}


def test_refunding_the_whole_enrolment_takes_every_hour_left_and_frees_the_seat(seated, students):
    school_class, sessions, enrolment = seated
    waiting = enrolments.enrol(school_class=school_class, customer=students[1])
    attendance.record(session=sessions[0], enrolment=enrolment, status="present")
    line = refunds.refund_hours(enrolment=enrolment, hours=None, reason="不再上课")
    enrolment.refresh_from_db()
    waiting.refresh_from_db()
    assert (line.quantity, line.balance_after, enrolment.status, waiting.status) == (9, 0, "left", "enrolled")


def test_a_retried_refund_with_the_same_reference_takes_once(seated):
    _, _, enrolment = seated
    first = refunds.refund_hours(enrolment=enrolment, hours=2, reason="退费", reference="R-1")
    again = refunds.refund_hours(enrolment=enrolment, hours=2, reason="退费", reference="R-1")
    assert (first.pk == again.pk, Entitlement.objects.get().balance) == (True, 8)


def test_a_refund_asks_for_no_renewal_and_the_next_lesson_counts_from_the_refunded_balance(seated, org):
    _, sessions, enrolment = seated  # the course asks for a renewal at 2 hours left
    refunds.refund_hours(enrolment=enrolment, hours=7, reason="部分退费")
    assert RenewalRequest.objects.count() == 0
    attendance.record(session=sessions[0], enrolment=enrolment, status="present")
    assert list(RenewalRequest.objects.values_list("threshold", flat=True)) == [2]


def test_an_enrolment_emptied_by_a_refund_is_not_counted_as_finished(seated):
    _, sessions, enrolment = seated
    attendance.record(session=sessions[0], enrolment=enrolment, status="present")
    refunds.refund_hours(enrolment=enrolment, hours=None, reason="退费")
    assert bi.renewal_rates(by="course") == []


def test_the_ledger_page_refunds_hours_and_shows_the_line(client, org, seated):
    _, _, enrolment = seated
    client.force_login(org.rep1)
    response = client.post(reverse("resources:hours", args=[enrolment.pk]), {"hours": "4", "reason": "家长申请"})
    assert response.status_code == 302
    page = client.get(reverse("resources:hours", args=[enrolment.pk]))
    text = " ".join(page.content.decode().split())
    assert 'data-kind="refund"' in text
    assert "退费：家长申请" in text
    assert "剩余 6 / 10 课时" in text


def test_the_ledger_page_shows_a_refused_refund_beside_the_hours(client, org, seated):
    _, _, enrolment = seated
    client.force_login(org.rep1)
    response = client.post(reverse("resources:hours", args=[enrolment.pk]), {"hours": "12", "reason": "家长申请"})
    assert response.status_code == 422
    assert response.context["form"].errors == {"hours": ["只剩 10，无法退 12。"]}


@pytest.mark.django_db(transaction=True)
def test_two_parallel_refunds_cannot_take_the_balance_below_zero(postgres):
    from crm.tests.factories import OrgFixture
    from customers.tests.factories import CustomerFactory
    from resources.models import Course, Room, SchoolClass, Teacher

    from .conftest import MONDAY

    org = OrgFixture()
    course = Course.objects.create(name="数学", subject="数学", lesson_count=10)
    school_class = SchoolClass.objects.create(
        course=course,
        name="数学1班",
        department=org.sales1,
        teacher=Teacher.objects.create(name="王老师", department=org.sales1),
        room=Room.objects.create(name="301", department=org.sales1),
        capacity=5,
        weekdays=[0],
        start_time="10:00",
        first_day=MONDAY,
    )
    enrolment = enrolments.enrol(school_class=school_class, customer=CustomerFactory(name="李小明"))

    def refund(index):
        return lambda: refunds.refund_hours(enrolment=enrolment, hours=6, reason=f"退费{index}").balance_after

    results = run_parallel([refund(i) for i in range(4)], refusals=[(DomainError, lambda exc: exc.code)])
    assert sorted(results, key=str) == [4, "insufficient_balance", "insufficient_balance", "insufficient_balance"]
    assert (Entitlement.objects.get().balance, EntitlementUse.objects.filter(kind="refund").count()) == (4, 1)


def test_the_entitlement_page_marks_the_refund_line(client, org, seated):
    _, _, enrolment = seated
    refunds.refund_hours(enrolment=enrolment, hours=2, reason="家长申请")
    client.force_login(org.admin)
    text = client.get(reverse("catalog:entitlement", args=[enrolment.entitlement_id])).content.decode()
    assert '<span class="badge text-bg-warning" data-testid="use-refund">已退费</span> 家长申请' in text


def test_the_refund_form_asks_for_confirmation_first(client, org, seated):
    _, _, enrolment = seated
    client.force_login(org.rep1)
    text = client.get(reverse("resources:hours", args=[enrolment.pk])).content.decode()
    start = text.index('data-testid="refund-form"')
    assert "确定退课时吗" in text[start : text.index(">", start)]
