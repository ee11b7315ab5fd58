from decimal import Decimal

import pytest

from crm.errors import DomainError
from crm.tests.parallel import run_parallel
from customers.services.orders import place_order
from customers.tests.factories import CustomerFactory
from members.models import Member, PointsEntry, Tier
from members.services import points


@pytest.fixture
def tiers(db):
    return [
        Tier.objects.create(name=name, position=i, min_spend=Decimal(spend), min_points=pts, points_per_yuan=rate)
        for i, (name, spend, pts, rate) in enumerate(
            [("普通", "0", None, "1"), ("银卡", "5000", 8000, "1"), ("金卡", "20000", None, "1.5")]
        )
    ]


def test_an_order_earns_a_point_per_yuan_once_and_lifts_the_tier(tiers):
    customer = CustomerFactory(name="周杰")
    order = place_order(customer=customer, amount=Decimal("6200.50"))
    member = Member.objects.get(customer=customer)
    assert (member.points, member.tier.name) == (6200, "银卡")
    points.earn_for_order(order)
    member.refresh_from_db()
    assert (member.points, PointsEntry.objects.count()) == (6200, 1)


def test_spending_more_than_held_is_refused_and_changes_nothing(tiers):
    member = points.member_for(CustomerFactory())
    points.earn(member=member, points=100, reason="签到", reference="checkin:1")
    with pytest.raises(DomainError) as refused:
        points.spend(member=member, points=101, reason="兑换", reference="spend:1")
    member.refresh_from_db()
    assert (refused.value.code, member.points) == ("insufficient_points", 100)


def test_a_retried_spend_takes_once(tiers):
    member = points.member_for(CustomerFactory())
    points.earn(member=member, points=100, reason="签到", reference="checkin:1")
    first = points.spend(member=member, points=30, reason="兑换", reference="spend:1")
    again = points.spend(member=member, points=30, reason="兑换", reference="spend:1")
    member.refresh_from_db()
    assert (first.pk == again.pk, member.points) == (True, 70)


@pytest.mark.django_db(transaction=True)
def test_concurrent_spends_never_take_points_below_zero(postgres):
    member = points.member_for(CustomerFactory())
    points.earn(member=member, points=50, reason="签到", reference="checkin:1")

    def spend(index):
        return lambda: points.spend(member=member, points=10, reason="兑换", reference=f"s{index}").balance_after

    results = run_parallel([spend(i) for i in range(9)], refusals=[(DomainError, lambda exc: exc.code)])
    member.refresh_from_db()
    assert sorted(str(r) for r in results) == ["0", "10", "20", "30", "40"] + ["insufficient_points"] * 4
    assert member.points == 0
