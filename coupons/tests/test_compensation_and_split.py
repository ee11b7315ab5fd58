"""Compensation limits per period (count, total, the same order twice) and the split of a
redemption's discount among its funders on odd cents."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from coupons import services
from coupons.models import Batch, BudgetAccount, Compensation, CompensationRule, Redemption
from coupons.services import compensation as rules
from coupons.services.claims import split_discount
from coupons.tests.factories import make_batch, make_budget
from crm.tests.parallel import run_parallel
from customers.tests.factories import CustomerFactory, make_order


@pytest.fixture
def rule(org):
    batch = make_batch(org, code="comp", quantity=100, status=Batch.Status.ACTIVE)
    return CompensationRule.objects.create(
        department=org.region,
        batch=batch,
        max_amount_per_coupon=Decimal("50"),
        period_days=30,
        max_count_per_period=3,
        max_amount_per_period=Decimal("100"),
    )


def ask(actor, amount, customer=None, order=None):
    customer = customer or CustomerFactory(owner=actor)
    return rules.request_compensation(actor=actor, customer=customer, amount=amount, reason="课程延期", order=order)


def test_the_count_per_period_sends_the_fourth_request_to_review(org, rule):
    results = [ask(org.rep1, "10") for _ in range(4)]
    assert [r.status for r in results] == ["approved", "approved", "approved", "review"]
    assert results[3].review_reasons == ["count_over_limit"]
    assert results[3].coupon is None
    assert ask(org.rep2, "10").status == "approved"  # the limits are per rep


def test_the_total_per_period_counts_every_request_not_rejected(org, rule):
    assert ask(org.rep1, "45").status == "approved"
    second = ask(org.rep1, "45")
    assert second.status == "approved"
    third = ask(org.rep1, "10.01")  # ¥100.01 in the period
    assert third.status == "review" and third.review_reasons == ["total_over_limit"]
    rules.decide(actor=org.manager1, compensation=third, approve=False, comment="超出本期限额")
    assert ask(org.rep1, "10").status == "approved"  # the rejected ¥10.01 does not count: exactly ¥100


def test_requests_older_than_the_period_no_longer_count(org, rule):
    with time_machine.travel(timezone.now() - datetime.timedelta(days=31), tick=False):
        for _ in range(3):
            assert ask(org.rep1, "30").status == "approved"
    fresh = ask(org.rep1, "30")
    assert fresh.status == "approved" and fresh.review_reasons == []


def test_the_same_order_compensated_twice_goes_to_review(org, rule):
    customer = CustomerFactory(owner=org.rep1)
    order = make_order(customer, "300.00")
    assert ask(org.rep1, "20", customer, order).status == "approved"
    again = ask(org.rep2, "20", customer, order)  # another rep, same order
    assert again.status == "review" and again.review_reasons == ["order_compensated_before"]
    other_order = ask(org.rep1, "20", customer, make_order(customer, "100.00"))
    assert other_order.status == "approved"


def test_a_coupon_over_the_single_cap_and_every_other_limit_lists_each_reason(org, rule):
    customer = CustomerFactory(owner=org.rep1)
    order = make_order(customer, "300.00")
    for n in range(3):
        ask(org.rep1, "30", customer, order if n == 0 else None)
    late = ask(org.rep1, "60", customer, order)
    assert late.review_reasons == [
        "amount_over_cap",
        "count_over_limit",
        "total_over_limit",
        "order_compensated_before",
    ]


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_two_reps_compensating_one_order_at_once_give_one_coupon(postgres):
    from crm.tests.factories import OrgFixture

    org = OrgFixture()
    batch = make_batch(org, code="comp", quantity=100)
    CompensationRule.objects.create(department=org.region, batch=batch, max_amount_per_coupon=Decimal("50"))
    customer = CustomerFactory(owner=org.rep1)
    order = make_order(customer, "300.00")
    reps = [org.rep1, org.rep2, org.rep3, org.rep1]
    results = run_parallel([lambda rep=rep: ask(rep, "20", customer, order).status for rep in reps])
    assert sorted(results) == ["approved", "review", "review", "review"]
    assert Compensation.objects.filter(order=order, coupon__isnull=False).count() == 1


# ------------------------------------------------------------ the split of a redemption
def test_a_half_shared_discount_of_odd_cents_splits_exactly_without_a_negative_part(org):
    account = make_budget(org, total="1000.00")
    batch = make_batch(
        org,
        account=account,
        amount=Decimal("9.99"),
        threshold=Decimal("100"),
        platform_share=50,
        merchant_share=50,
        agent_share=0,
    )
    customer = CustomerFactory()
    coupon = services.claim(batch_code=batch.code, customer=customer, channel="app")
    services.redeem(code=coupon.code, customer=customer, order=make_order(customer, "300.00", cost="100.00"))
    redemption = Redemption.objects.get()
    parts = (redemption.platform_amount, redemption.merchant_amount, redemption.agent_amount)
    assert redemption.discount == Decimal("9.99")
    assert parts == (Decimal("5.00"), Decimal("4.99"), Decimal("0.00"))
    assert redemption.subsidy == Decimal("5.00")
    assert BudgetAccount.objects.get(pk=account.pk).used == Decimal("5.00")


def test_a_three_way_split_of_odd_cents_gives_the_agent_the_rest(org):
    batch = Batch(platform_share=33, merchant_share=33, agent_share=34)
    assert split_discount(Decimal("0.10"), batch) == (Decimal("0.03"), Decimal("0.03"), Decimal("0.04"))
    assert split_discount(Decimal("0.01"), batch) == (Decimal("0.00"), Decimal("0.00"), Decimal("0.01"))
    assert split_discount(Decimal("12.35"), Batch(platform_share=70, merchant_share=30, agent_share=0)) == (
        Decimal("8.65"),
        Decimal("3.70"),
        Decimal("0.00"),
    )


SHARES = st.integers(0, 100).flatmap(lambda p: st.tuples(st.just(p), st.integers(0, 100 - p)))


@given(cents=st.integers(1, 10_000_000), shares=SHARES)
def test_the_split_always_adds_up_to_the_discount_and_no_part_is_negative(cents, shares):
    platform_share, merchant_share = shares
    batch = Batch(
        platform_share=platform_share, merchant_share=merchant_share, agent_share=100 - platform_share - merchant_share
    )
    discount = Decimal(cents) / 100
    platform, merchant, agent = split_discount(discount, batch)
    assert platform + merchant + agent == discount
    assert min(platform, merchant, agent) >= 0
    for part, share in (
        (platform, platform_share),
        (merchant, merchant_share),
        (agent, 100 - platform_share - merchant_share),
    ):
        assert abs(part - discount * share / 100) <= Decimal("0.01")  # each within a cent of its share
    assert platform == (discount * platform_share / 100).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
