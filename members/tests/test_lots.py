"""Points expire per award at the period's end, are spent oldest-expiring first, and the notice
before expiry is sent once."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from crm.errors import DomainError
from crm.models import Notification
from crm.tests.factories import OrgFixture
from crm.tests.parallel import run_parallel
from customers.tests.factories import CustomerFactory
from members.models import Member, PointsEntry, Tier, TierChange
from members.services import points


def local(day, hour=9):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


@pytest.fixture
def tiers(db):
    return [
        Tier.objects.create(name=name, position=i, min_spend=Decimal(spend), min_points=pts)
        for i, (name, spend, pts) in enumerate([("普通", "0", None), ("银卡", "5000", 1000), ("金卡", "20000", 3000)])
    ]


@pytest.fixture
def member(tiers):
    org = OrgFixture()
    return points.member_for(CustomerFactory(name="周杰", owner=org.rep1, department=org.team1))


def test_an_award_expires_at_the_end_of_the_month_twelve_months_on():
    assert (
        points.expiry_for(datetime.date(2026, 3, 15)),
        points.expiry_for(datetime.date(2026, 12, 31)),
        points.expiry_for(datetime.date(2027, 2, 1)),
    ) == (datetime.date(2027, 3, 31), datetime.date(2027, 12, 31), datetime.date(2028, 2, 29))


def test_a_spend_takes_the_oldest_expiring_points_first(member):
    with time_machine.travel(local(datetime.date(2026, 1, 10)), tick=False):
        old = points.earn(member=member, points=100, reason="签到", reference="a")
    with time_machine.travel(local(datetime.date(2026, 5, 10)), tick=False):
        new = points.earn(member=member, points=100, reason="签到", reference="b")
        points.spend(member=member, points=130, reason="兑换", reference="s")
    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.remaining, new.remaining, old.expires_on, new.expires_on) == (
        0,
        70,
        datetime.date(2027, 1, 31),
        datetime.date(2027, 5, 31),
    )


def test_points_expire_the_day_after_their_last_day_and_not_before(member):
    with time_machine.travel(local(datetime.date(2026, 1, 10)), tick=False):
        points.earn(member=member, points=100, reason="签到", reference="a")
    with time_machine.travel(local(datetime.date(2026, 6, 10)), tick=False):
        points.earn(member=member, points=40, reason="签到", reference="b")
        points.spend(member=member, points=30, reason="兑换", reference="s")
    on_last_day = points.expire_points(datetime.date(2027, 1, 31))
    day_after = points.expire_points(datetime.date(2027, 2, 1))
    again = points.expire_points(datetime.date(2027, 2, 1))
    member.refresh_from_db()
    expired = PointsEntry.objects.get(kind="expire")
    assert (on_last_day, day_after, again, member.points) == (0, 70, 0, 40)
    assert (expired.delta, expired.balance_after, expired.reason) == (-70, 40, "过期（2026-01-10 获得）")


def test_the_expiry_notice_is_sent_once_to_the_owner(member):
    with time_machine.travel(local(datetime.date(2026, 1, 10)), tick=False):
        points.earn(member=member, points=1200, reason="订单", reference="a")
    early = points.notice_expiring_points(datetime.date(2026, 12, 31))
    first = points.notice_expiring_points(datetime.date(2027, 1, 1))
    second = points.notice_expiring_points(datetime.date(2027, 1, 2))
    note = Notification.objects.get(kind="points_expiring")
    assert (early, first, second) == (0, 1, 0)
    assert (note.recipient.username, note.title, note.url) == (
        "rep1",
        "周杰：1,200 积分将于 2027-01-31 过期",
        member.get_absolute_url(),
    )


def test_a_tier_change_is_kept_with_its_reason(member):
    points.earn(member=member, points=1500, reason="活动", reference="a")
    points.recompute_tier(member, reason="每日评级")
    points.spend(member=member, points=1000, reason="兑换", reference="s")
    member.refresh_from_db()
    changed = points.recompute_tiers()
    history = [(c.from_tier and c.from_tier.name, c.to_tier.name, c.reason) for c in TierChange.objects.order_by("id")]
    assert (changed, history) == (1, [(None, "银卡", "每日评级"), ("银卡", "普通", "每日评级")])


@pytest.mark.django_db(transaction=True)
def test_parallel_spends_over_several_lots_never_go_below_zero_and_lots_match(postgres):
    Tier.objects.create(name="普通", position=0)
    member = points.member_for(CustomerFactory())
    for i in range(3):
        points.earn(member=member, points=20, reason="签到", reference=f"e{i}")

    def spend(index):
        return lambda: points.spend(member=member, points=15, reason="兑换", reference=f"s{index}").balance_after

    results = run_parallel([spend(i) for i in range(6)], refusals=[(DomainError, lambda exc: exc.code)])
    member.refresh_from_db()
    left = sum(PointsEntry.objects.filter(member=member).values_list("remaining", flat=True))
    assert sorted(str(r) for r in results) == ["0", "15", "30", "45"] + ["insufficient_points"] * 2
    assert (member.points, left) == (0, 0)
    assert Member.objects.get(pk=member.pk).points == 0


def test_reaching_a_tier_the_first_time_grants_its_free_service(member, tiers):
    from catalog.models import Entitlement
    from catalog.tests.factories import SkuFactory

    silver = tiers[1]
    silver.benefit_sku = SkuFactory(name="免费试听课")
    silver.benefit_quantity = 2
    silver.save()
    points.earn(member=member, points=1500, reason="活动", reference="a")
    points.recompute_tier(member, reason="订单")
    points.spend(member=member, points=1000, reason="兑换", reference="s")
    points.recompute_tier(member, reason="每日评级")
    points.earn(member=member, points=900, reason="活动", reference="b")
    points.recompute_tier(member, reason="订单")
    granted = list(Entitlement.objects.values_list("name", "quantity", "customer_id"))
    assert granted == [("银卡权益：免费试听课", 2, member.customer_id)]
