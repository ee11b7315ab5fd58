"""Many parallel claims and redemptions on PostgreSQL: no over-issue, no limit passed, no budget
below zero, no coupon redeemed twice."""

from decimal import Decimal

import pytest
from django.db.models import Sum

from coupons import services
from coupons.models import Batch, BudgetAccount, Coupon, Redemption
from coupons.tests.factories import make_batch, make_budget
from crm.api.errors import BusinessRuleError
from crm.tests.parallel import run_parallel as _run_parallel
from customers.tests.factories import CustomerFactory, make_order

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def run_parallel(targets):
    return _run_parallel(targets, refusals=[(BusinessRuleError, lambda exc: exc.error_code)])


@pytest.fixture
def org(postgres):
    from crm.tests.factories import OrgFixture

    return OrgFixture()


def test_a_batch_never_issues_more_than_its_quantity(org):
    batch = make_batch(org, quantity=10, per_customer_limit=1, per_day_limit=1)
    customers = [CustomerFactory() for _ in range(30)]
    results = run_parallel(
        [lambda c=c: services.claim(batch_code=batch.code, customer=c, channel="app") for c in customers]
    )
    assert results.count("sold_out") == 20
    assert Coupon.objects.filter(batch=batch, status="claimed").count() == 10
    assert Batch.objects.get(pk=batch.pk).issued == 10


def test_one_customer_never_passes_the_limits(org):
    batch = make_batch(org, quantity=100, per_customer_limit=3, per_day_limit=2)
    customer = CustomerFactory()
    results = run_parallel(
        [lambda: services.claim(batch_code=batch.code, customer=customer, channel="app") for _ in range(12)]
    )
    assert Coupon.objects.filter(batch=batch, customer=customer).count() == 2
    assert results.count("daily_limit") == 10
    assert Batch.objects.get(pk=batch.pk).issued == 2


def test_a_budget_never_goes_below_zero_under_reserving_claims(org):
    account = make_budget(org, total="100.00")
    batch = make_batch(org, account=account, quantity=50, budget_mode="reserve")
    results = run_parallel(
        [lambda: services.claim(batch_code=batch.code, customer=CustomerFactory(), channel="app") for _ in range(16)]
    )
    account.refresh_from_db()
    assert results.count("budget_exhausted") == 11
    assert account.reserved == Decimal("100.00") and account.balance == 0
    assert Batch.objects.get(pk=batch.pk).issued == 5


def test_a_coupon_is_redeemed_once_whatever_the_concurrency(org):
    batch = make_batch(org)
    customer = CustomerFactory()
    coupon = services.claim(batch_code=batch.code, customer=customer, channel="app")
    orders = [make_order(customer, "300.00", cost="100.00") for _ in range(8)]
    results = run_parallel([lambda o=o: services.redeem(code=coupon.code, customer=customer, order=o) for o in orders])
    assert Redemption.objects.filter(coupon=coupon).count() == 1
    assert results.count("already_redeemed") == 7
    assert BudgetAccount.objects.get().used == Decimal("20.00")


def test_budget_used_equals_the_sum_of_subsidies_under_parallel_redemptions(org):
    account = make_budget(org, total="100.00")
    batch = make_batch(org, account=account, quantity=50)  # charged at redemption
    pairs = []
    for _ in range(10):
        customer = CustomerFactory()
        pairs.append(
            (
                services.claim(batch_code=batch.code, customer=customer, channel="app"),
                customer,
                make_order(customer, "300.00", cost="100.00"),
            )
        )
    results = run_parallel([lambda p=p: services.redeem(code=p[0].code, customer=p[1], order=p[2]) for p in pairs])
    account.refresh_from_db()
    assert results.count("budget_exhausted") == 5
    assert account.used == Redemption.objects.aggregate(s=Sum("subsidy"))["s"] == Decimal("100.00")
