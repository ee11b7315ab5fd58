"""The claim runs as two statements on PostgreSQL (lock the customer and read the batch; then count
what the customer holds, reserve the budget, take the stock and take a produced code, each only if
the one before allowed it). These tests fire claims at batches with produced codes and at lazy
batches in parallel on PostgreSQL, and check every rule."""

import json
from decimal import Decimal

import pytest
from django.db.models import Sum

from coupons import services
from coupons.models import Batch, BudgetAccount, Coupon
from coupons.services import production
from coupons.tests.factories import make_batch, make_budget
from crm import services as crm_services
from crm.api.errors import BusinessRuleError
from crm.tests.parallel import run_parallel as _run_parallel
from customers.models import Customer
from customers.tests.factories import CustomerFactory

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def run_parallel(targets):
    return _run_parallel(targets, refusals=[(BusinessRuleError, lambda exc: exc.error_code)])


@pytest.fixture
def org(postgres):
    from crm.tests.factories import OrgFixture

    return OrgFixture()


def produced_batch(org, count=None, **overrides):
    batch = make_batch(org, production=Batch.Production.MANUAL, **overrides)
    production.produce(batch, count)
    return batch


def claimed(batch):
    return Coupon.objects.filter(batch=batch).exclude(status=Coupon.Status.AVAILABLE)


def test_parallel_claims_take_distinct_produced_codes_and_never_more_than_the_quantity(org):
    batch = produced_batch(org, quantity=10, per_customer_limit=1)
    results = run_parallel(
        [
            lambda c=c: services.claim(batch_code=batch.code, customer=c, channel="app").code
            for c in [CustomerFactory() for _ in range(30)]
        ]
    )
    codes = [r for r in results if r != "sold_out"]
    assert results.count("sold_out") == 20 and len(set(codes)) == 10
    assert claimed(batch).count() == 10 == Batch.objects.get(pk=batch.pk).issued
    # (a claim that finds every free code locked by others issues a new code, as before; the stock
    # row still bounds the batch: a produced code may stay free while a new one was claimed)


def test_more_claims_than_produced_codes_issue_new_codes_up_to_the_quantity(org):
    batch = produced_batch(org, count=3, quantity=6, per_customer_limit=1)
    results = run_parallel(
        [
            lambda c=c: services.claim(batch_code=batch.code, customer=c, channel="app").code
            for c in [CustomerFactory() for _ in range(10)]
        ]
    )
    assert results.count("sold_out") == 4
    assert claimed(batch).count() == 6 == Batch.objects.get(pk=batch.pk).issued


def test_one_customer_in_parallel_never_passes_the_limits_on_produced_codes(org):
    batch = produced_batch(org, quantity=100, per_customer_limit=3, per_day_limit=2)
    customer = CustomerFactory()
    results = run_parallel(
        [lambda: services.claim(batch_code=batch.code, customer=customer, channel="app") for _ in range(12)]
    )
    assert results.count("daily_limit") == 10
    assert claimed(batch).filter(customer=customer).count() == 2 == Batch.objects.get(pk=batch.pk).issued


def test_reserving_claims_on_two_batches_of_one_budget_never_take_it_below_zero(org):
    account = make_budget(org, total="100.00")
    batches = [produced_batch(org, account=account, quantity=50, budget_mode="reserve") for _ in range(2)]
    results = run_parallel(
        [
            lambda i=i: services.claim(batch_code=batches[i % 2].code, customer=CustomerFactory(), channel="app")
            for i in range(16)
        ]
    )
    account.refresh_from_db()
    assert results.count("budget_exhausted") == 11
    assert account.reserved == Decimal("100.00") and account.balance == 0
    assert Coupon.objects.filter(status="claimed").aggregate(s=Sum("reserved"))["s"] == Decimal("100.00")
    assert (
        sum(Batch.objects.get(pk=b.pk).issued for b in batches) == 5 == Coupon.objects.filter(status="claimed").count()
    )


def test_decay_and_its_reservation_by_claim_count(org):
    batch = produced_batch(
        org,
        quantity=20,
        per_customer_limit=5,
        per_day_limit=5,
        decay_factor=Decimal("0.5"),
        decay_floor=Decimal("6"),
        new_customer_bonus=Decimal("1.50"),
        budget_mode="reserve",
        platform_share=50,
    )
    customer = CustomerFactory()  # no orders: new, gets the bonus
    coupons = [services.claim(batch_code=batch.code, customer=customer, channel="red-packet") for _ in range(5)]
    assert [c.amount for c in coupons] == [Decimal(x) for x in ("21.50", "11.50", "7.50", "7.50", "7.50")]
    stored = {c.code: (c.amount, c.reserved) for c in claimed(batch)}
    assert stored == {c.code: (c.amount, c.reserved) for c in coupons}
    assert [c.reserved for c in coupons] == [Decimal(x) for x in ("10.75", "5.75", "3.75", "3.75", "3.75")]
    assert BudgetAccount.objects.get().reserved == Decimal("27.75")
    with pytest.raises(BusinessRuleError) as exc:
        services.claim(batch_code=batch.code, customer=customer, channel="red-packet")
    assert exc.value.error_code == "per_customer_limit"
    assert Batch.objects.get(pk=batch.pk).issued == 5


def test_redeem_mode_claim_refused_when_the_balance_cannot_cover_it_takes_nothing(org):
    account = make_budget(org, total="10.00")
    batch = produced_batch(org, account=account, quantity=5)  # ¥20 face, charged at redemption
    with pytest.raises(BusinessRuleError) as exc:
        services.claim(batch_code=batch.code, customer=CustomerFactory(), channel="app")
    assert exc.value.error_code == "budget_exhausted"
    assert not claimed(batch).exists() and Batch.objects.get(pk=batch.pk).issued == 0


def test_claim_by_mobile_or_id_in_the_statement_and_unknown_customer(org):
    batch = produced_batch(org, quantity=5, per_customer_limit=1)
    customer = CustomerFactory(mobile="13800005555")
    coupon = services.claim(batch_code=batch.code, customer_mobile="13800005555", channel="app")
    assert Coupon.objects.get(code=coupon.code).customer_id == customer.pk
    with pytest.raises(Customer.DoesNotExist):
        services.claim(batch_code=batch.code, customer_id=10**9, channel="app")
    with pytest.raises(BusinessRuleError) as exc:
        services.claim(batch_code="no-such-batch", customer_id=customer.pk, channel="app")
    assert exc.value.error_code == "batch_not_active"


def test_api_claim_takes_three_statements_and_answers_the_contract(org, client, django_assert_max_num_queries):
    batch = produced_batch(org, quantity=5, per_customer_limit=1)
    api_client = crm_services.create_api_client(name="mini")
    _, raw = crm_services.issue_token(client=api_client, scopes=["coupons"])
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    body = {"batch": batch.code, "customer": {"id": CustomerFactory().pk}, "channel": "app"}
    client.post(
        "/api/v1/coupons/claim",
        json.dumps({**body, "customer": {"id": CustomerFactory().pk}}),
        content_type="application/json",
        **headers,
    )  # the token's last_used_at is written once
    with django_assert_max_num_queries(5) as captured:
        response = client.post("/api/v1/coupons/claim", json.dumps(body), content_type="application/json", **headers)
    statements = [q["sql"] for q in captured.captured_queries if q["sql"] not in ("BEGIN", "COMMIT")]
    # token, lock customer + read batch, the claim (counts, stock, produced code)
    assert len(statements) == 3
    assert response.status_code == 201
    data = response.json()
    assert set(data) == {
        "code",
        "batch",
        "discount_type",
        "amount",
        "percent",
        "threshold",
        "valid_from",
        "valid_until",
        "channel",
    }
    assert data["batch"] == batch.code and data["amount"] == "20.00" and data["channel"] == "app"
    assert Coupon.objects.get(code=data["code"]).status == Coupon.Status.CLAIMED
    again = client.post("/api/v1/coupons/claim", json.dumps(body), content_type="application/json", **headers)
    assert again.status_code == 409 and again.json()["error"]["code"] == "per_customer_limit"
    missing = client.post(
        "/api/v1/coupons/claim",
        json.dumps({**body, "customer": {"id": 10**9}}),
        content_type="application/json",
        **headers,
    )
    assert missing.status_code == 404


@pytest.fixture(params=["postgresql", "sqlite"])
def any_org(request, db):
    """The refusals below on PostgreSQL (the one-statement claim) and on SQLite (one statement per
    step): the same answers, and a refused claim changes nothing."""
    from django.db import connection

    from crm.tests.factories import OrgFixture

    if request.param != connection.vendor:
        pytest.skip(f"runs when the tests run on {request.param}")
    return OrgFixture()


def test_a_refused_claim_takes_no_code_no_stock_and_no_budget(any_org):
    account = make_budget(any_org, total="25.00")
    batch = produced_batch(any_org, account=account, quantity=3, per_customer_limit=1, budget_mode="reserve")
    holder, other = CustomerFactory(), CustomerFactory()
    services.claim(batch_code=batch.code, customer=holder, channel="app")  # reserves ¥20 of ¥25
    for customer, refusal in [(holder, "per_customer_limit"), (other, "budget_exhausted")]:
        with pytest.raises(BusinessRuleError) as exc:
            services.claim(batch_code=batch.code, customer=customer, channel="app")
        assert exc.value.error_code == refusal
    account.refresh_from_db()
    assert account.reserved == Decimal("20.00") and account.balance == Decimal("5.00")
    assert claimed(batch).count() == 1 == Batch.objects.get(pk=batch.pk).issued


def test_the_customers_limit_is_answered_before_sold_out(any_org):
    batch = produced_batch(any_org, quantity=1, per_customer_limit=1)
    holder = CustomerFactory()
    services.claim(batch_code=batch.code, customer=holder, channel="app")
    answers = []
    for customer in (holder, CustomerFactory()):
        with pytest.raises(BusinessRuleError) as exc:
            services.claim(batch_code=batch.code, customer=customer, channel="app")
        answers.append(exc.value.error_code)
    assert answers == ["per_customer_limit", "sold_out"]
    assert claimed(batch).count() == 1 == Batch.objects.get(pk=batch.pk).issued


def test_a_compensation_coupon_passes_the_limits_and_reserves_its_amount(any_org):
    account = make_budget(any_org, total="100.00")
    batch = produced_batch(any_org, account=account, quantity=5, per_customer_limit=1, platform_share=100)
    customer = CustomerFactory()
    services.claim(batch_code=batch.code, customer=customer, channel="app")  # redeem mode: nothing reserved
    coupon = services.claim(batch_code=batch.code, customer=customer, channel="care", compensation=Decimal("7.5"))
    assert coupon.amount == Decimal("7.50") and coupon.reserved == Decimal("7.50")
    assert BudgetAccount.objects.get(pk=account.pk).reserved == Decimal("7.50")
    assert claimed(batch).filter(customer=customer).count() == 2 == Batch.objects.get(pk=batch.pk).issued
