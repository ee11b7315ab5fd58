"""Points for attendance: a member marked present earns the points of the tier's earning rule
for lessons attended, once per attendance."""

from decimal import Decimal

import pytest

from members.models import EarnRule, Member, PointsEntry, Tier
from members.services import points
from resources.services import attendance, enrolments, schedule


@pytest.fixture
def tiers(db):
    return {
        name: Tier.objects.create(name=name, position=i, min_spend=Decimal(spend))
        for i, (name, spend) in enumerate([("普通", "0"), ("金卡", "100000")])
    }


@pytest.fixture
def seated(make_class, students, tiers):
    school_class = make_class(capacity=3)
    sessions = schedule.generate_sessions(school_class=school_class)
    gold = Member.objects.create(customer=students[0], tier=tiers["金卡"])
    plain = Member.objects.create(customer=students[1], tier=tiers["普通"])
    EarnRule.objects.create(source="attendance", tier=tiers["金卡"], points=25)
    return sessions, [enrolments.enrol(school_class=school_class, customer=m.customer) for m in (gold, plain)]


def test_present_earns_the_tiers_attendance_points_and_absent_earns_none(seated):
    sessions, (gold, plain) = seated
    attendance.record(session=sessions[0], enrolment=gold, status="present")
    attendance.record(session=sessions[0], enrolment=plain, status="present")
    attendance.record(session=sessions[1], enrolment=gold, status="absent")
    rows = PointsEntry.objects.order_by("member__customer__name").values_list(
        "member__customer__name", "delta", "reason"
    )
    assert list(rows) == [("李小明", 25, "上课出勤"), ("王小红", 10, "上课出勤")]  # 10: the default


def test_the_points_of_an_attendance_are_earned_once(seated):
    sessions, (gold, _plain) = seated
    record = attendance.record(session=sessions[0], enrolment=gold, status="present")
    again = points.award(customer=gold.customer, kind="attendance", reference=f"attendance:{record.pk}")
    assert (PointsEntry.objects.count(), again.delta, Member.objects.get(customer=gold.customer).points) == (1, 25, 25)


def test_a_tier_whose_rule_gives_no_points_earns_none(seated, tiers):
    sessions, (_gold, plain) = seated
    EarnRule.objects.create(source="attendance", tier=tiers["普通"], points=0)
    attendance.record(session=sessions[0], enrolment=plain, status="present")
    assert PointsEntry.objects.count() == 0
