import datetime
import json
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from coupons import services
from coupons.models import Batch, BudgetAccount, Coupon
from coupons.services import codes
from coupons.tests.factories import make_batch, make_budget
from crm import services as crm_services
from crm.api.errors import BusinessRuleError
from customers.models import Order
from customers.tests.factories import CustomerFactory, make_order


@pytest.fixture
def api(db):
    client = crm_services.create_api_client(name="mini")
    _, raw = crm_services.issue_token(client=client, scopes=["coupons", "orders"])
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def call(client, path, body, headers):
    return client.post(path, json.dumps(body), content_type="application/json", **headers)


# ------------------------------------------------------------ configuration
def test_claim_window_of_90_days_passes_and_longer_needs_a_fixed_promotion(org):
    batch = make_batch(org, status="draft")
    batch.claim_end = batch.claim_start + datetime.timedelta(days=90)
    services.validate_batch(batch)
    batch.claim_end += datetime.timedelta(seconds=1)
    with pytest.raises(ValidationError) as exc:
        services.validate_batch(batch)
    assert "claim_end" in exc.value.message_dict
    batch.fixed_promotion = True
    services.validate_batch(batch)


def test_use_window_of_7_days_passes_8_is_refused(org):
    batch = make_batch(org, status="draft", use_days=7)
    services.validate_batch(batch)
    batch.use_days = 8
    with pytest.raises(ValidationError) as exc:
        services.validate_batch(batch)
    assert "use_days" in exc.value.message_dict


def test_zero_value_coupon_is_refused(org):
    batch = make_batch(org, status="draft", amount=Decimal("0"))
    with pytest.raises(ValidationError) as exc:
        services.validate_batch(batch)
    assert "amount" in exc.value.message_dict


def test_margin_check_rejects_a_threshold_that_sells_below_cost(org):
    # goods cost 60% of the price: ¥20 off needs a minimum spend of ¥50
    batch = make_batch(org, status="draft", amount=Decimal("20"), threshold=Decimal("49.99"))
    with pytest.raises(ValidationError) as exc:
        services.validate_batch(batch)
    assert "¥50.00" in exc.value.message_dict["threshold"][0]
    batch.threshold = Decimal("50")
    services.validate_batch(batch)


def test_percentage_needs_a_cap_and_a_margin(org):
    batch = make_batch(org, status="draft", discount_type="percent", percent=Decimal("45"), amount=0, cap=None)
    with pytest.raises(ValidationError) as exc:
        services.validate_batch(batch)
    assert {"percent", "cap"} <= set(exc.value.message_dict)
    batch.percent, batch.cap = Decimal("40"), Decimal("30")
    services.validate_batch(batch)


def test_maximum_subsidy_must_fit_the_budget(org):
    account = make_budget(org, total="1999.99")
    batch = make_batch(org, account=account, status="draft", quantity=100)  # 100 × ¥20 = ¥2,000
    with pytest.raises(ValidationError) as exc:
        services.validate_batch(batch)
    assert "quantity" in exc.value.message_dict
    services.allocate(actor=org.admin, account=account, amount="0.01")
    services.validate_batch(batch)


def test_approval_flow_with_rejection_and_production(org, django_capture_on_commit_callbacks):
    batch = make_batch(org, status="draft", production=Batch.Production.ON_APPROVAL, quantity=50)
    services.submit(actor=org.marketing, batch=batch)
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.approve(actor=org.rep1, batch=batch)
    with pytest.raises(PermissionDenied):  # routed to one approver: head office has no manager, so a director
        services.approve(actor=org.manager1, batch=batch)
    with pytest.raises(ValidationError):
        services.reject(actor=org.director, batch=batch, reason=" ")
    services.reject(actor=org.director, batch=batch, reason="面额太大")
    batch.refresh_from_db()
    assert batch.status == "rejected" and batch.reject_reason == "面额太大"
    services.submit(actor=org.marketing, batch=batch)
    with django_capture_on_commit_callbacks(execute=True):
        services.approve(actor=org.director, batch=batch)
    batch.refresh_from_db()
    assert batch.status == "approved" and batch.produced == 50
    assert Coupon.objects.filter(batch=batch).count() == 50
    with pytest.raises(BusinessRuleError) as exc:  # approved but not active yet
        services.claim(batch_code=batch.code, customer=CustomerFactory(), channel="app")
    assert exc.value.error_code == "batch_not_active"
    services.change_status(actor=org.marketing, batch=batch, action="activate")
    coupon = services.claim(batch_code=batch.code, customer=CustomerFactory(), channel="app")
    assert coupon.batch == batch and Coupon.objects.filter(batch=batch, status="available").count() == 49


def test_codes_are_unique_well_formed_and_catch_typos():
    sample = {codes.new_code() for _ in range(5000)}
    assert len(sample) == 5000 and all(codes.is_well_formed(c) for c in sample)
    code = next(iter(sample))
    for position in range(len(code)):
        for replacement in codes.ALPHABET:
            if replacement != code[position]:
                typo = code[:position] + replacement + code[position + 1 :]
                assert not codes.is_well_formed(typo)
    assert not set("01OIL") & set(codes.ALPHABET)


# ------------------------------------------------------------ claim
def test_claim_through_the_api(client, org, api):
    batch = make_batch(org)
    customer = CustomerFactory(mobile="13800001111")
    response = call(
        client,
        "/api/v1/coupons/claim",
        {"batch": batch.code, "customer": {"mobile": "13800001111"}, "channel": "mini_program"},
        api,
    )
    assert response.status_code == 201
    body = response.json()
    assert body["batch"] == batch.code and body["amount"] == "20.00" and body["threshold"] == "200.00"
    assert body["channel"] == "mini_program" and codes.is_well_formed(body["code"])
    assert Coupon.objects.get(code=body["code"]).customer == customer
    batch.refresh_from_db()
    assert batch.issued == 1


@pytest.mark.parametrize(
    "setup, code",
    [
        ({"status": "paused"}, "batch_not_active"),
        ({"claim_start_days": 1}, "batch_not_active"),
        ({"quantity": 0}, "sold_out"),
        ({"audience": "existing"}, "not_eligible"),
        ({"channels": "store"}, "not_eligible"),
    ],
)
def test_claim_refusals_use_the_contract_codes(client, org, api, setup, code):
    overrides = {k: v for k, v in setup.items() if k != "claim_start_days"}
    batch = make_batch(org, **overrides)
    if "claim_start_days" in setup:
        Batch.objects.filter(pk=batch.pk).update(claim_start=timezone.now() + datetime.timedelta(days=1))
    CustomerFactory(mobile="13800002222")
    response = call(
        client,
        "/api/v1/coupons/claim",
        {"batch": batch.code, "customer": {"mobile": "13800002222"}, "channel": "app"},
        api,
    )
    assert response.status_code == 409 and response.json()["error"]["code"] == code


def test_per_customer_and_daily_limits(org):
    batch = make_batch(org, per_customer_limit=2, per_day_limit=1)
    customer = CustomerFactory()
    now = timezone.now()
    services.claim(batch_code=batch.code, customer=customer, channel="app", now=now)
    with pytest.raises(BusinessRuleError) as exc:
        services.claim(batch_code=batch.code, customer=customer, channel="app", now=now)
    assert exc.value.error_code == "daily_limit"
    with time_machine.travel(now + datetime.timedelta(days=1), tick=False):
        services.claim(batch_code=batch.code, customer=customer, channel="app")
    with time_machine.travel(now + datetime.timedelta(days=2), tick=False):
        with pytest.raises(BusinessRuleError) as exc:
            services.claim(batch_code=batch.code, customer=customer, channel="app")
    assert exc.value.error_code == "per_customer_limit"


def test_reserve_mode_budget_runs_out(org):
    account = make_budget(org, total="40.00")
    batch = make_batch(org, account=account, budget_mode="reserve", per_customer_limit=5, per_day_limit=5)
    services.claim(batch_code=batch.code, customer=CustomerFactory(), channel="app")
    services.claim(batch_code=batch.code, customer=CustomerFactory(), channel="app")
    with pytest.raises(BusinessRuleError) as exc:
        services.claim(batch_code=batch.code, customer=CustomerFactory(), channel="app")
    assert exc.value.error_code == "budget_exhausted"
    account.refresh_from_db()
    assert account.reserved == Decimal("40.00") and account.balance == 0
    batch.refresh_from_db()
    assert batch.issued == 2  # the refused claim gave its stock back


def test_repeated_claims_in_one_channel_decay(org):
    batch = make_batch(
        org,
        per_customer_limit=5,
        per_day_limit=5,
        decay_factor=Decimal("0.5"),
        decay_floor=Decimal("6"),
        new_customer_bonus=Decimal("0"),
    )
    customer = CustomerFactory()
    amounts = [services.claim(batch_code=batch.code, customer=customer, channel="red-packet").amount for _ in range(4)]
    assert amounts == [Decimal("20.00"), Decimal("10.00"), Decimal("6.00"), Decimal("6.00")]
    assert services.claim(batch_code=batch.code, customer=customer, channel="other").amount == Decimal("20.00")


# ------------------------------------------------------------ redeem
def _claimed(org, **overrides):
    batch = make_batch(org, **overrides)
    customer = CustomerFactory(mobile="13800003333")
    return services.claim(batch_code=batch.code, customer=customer, channel="app"), customer


def redeem_body(coupon, amount="300.00", cost="150.00", external_id="O-1", mobile="13800003333"):
    return {
        "code": coupon.code,
        "order": {"external_id": external_id, "amount": amount, "cost": cost},
        "customer": {"mobile": mobile},
    }


def test_redeem_then_cancel_gives_the_budget_back(client, org, api):
    coupon, customer = _claimed(org)
    response = call(client, "/api/v1/coupons/redeem", redeem_body(coupon), api)
    assert response.status_code == 200
    assert response.json() == {"code": coupon.code, "discount": "20.00", "payable": "280.00", "subsidy": "20.00"}
    account = BudgetAccount.objects.get()
    assert account.used == Decimal("20.00") and account.gmv == Decimal("300.00")
    again = call(client, "/api/v1/coupons/redeem", redeem_body(coupon, external_id="O-2"), api)
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_redeemed"
    cancel = call(client, "/api/v1/orders/O-1/cancel", {}, api)
    assert cancel.status_code == 200
    account.refresh_from_db()
    coupon.refresh_from_db()
    assert account.used == 0 and account.gmv == 0 and coupon.status == "claimed"


@pytest.mark.parametrize(
    "body_change, code",
    [
        ({"amount": "199.99"}, "threshold_not_met"),
        ({"cost": "290.00"}, "negative_margin"),
        ({"mobile": "13800009999"}, "not_owner"),
        ({"code": "ABCDEFGHJK2"}, "not_found"),
    ],
)
def test_redeem_refusals_use_the_contract_codes(client, org, api, body_change, code):
    coupon, _customer = _claimed(org)
    CustomerFactory(mobile="13800009999")
    body = redeem_body(coupon, **{k: v for k, v in body_change.items() if k != "code"})
    if "code" in body_change:
        body["code"] = body_change["code"]
    response = call(client, "/api/v1/coupons/redeem", body, api)
    assert response.status_code == 409 and response.json()["error"]["code"] == code
    assert BudgetAccount.objects.get().used == 0


def test_expired_and_not_yet_valid(org):
    coupon, customer = _claimed(org)
    order = make_order(customer, "300.00", cost="100.00")
    with time_machine.travel(coupon.valid_until + datetime.timedelta(seconds=1), tick=False):
        with pytest.raises(BusinessRuleError) as exc:
            services.redeem(code=coupon.code, customer=customer, order=order)
        assert exc.value.error_code == "expired"
    Coupon.objects.filter(pk=coupon.pk).update(valid_from=timezone.now() + datetime.timedelta(hours=1))
    with pytest.raises(BusinessRuleError) as exc:
        services.redeem(code=coupon.code, customer=customer, order=order)
    assert exc.value.error_code == "not_yet_valid"


def test_one_coupon_per_order(org):
    first, customer = _claimed(org, per_customer_limit=2, per_day_limit=2)
    second = services.claim(batch_code=first.batch.code, customer=customer, channel="app")
    order = make_order(customer, "300.00", cost="100.00")
    services.redeem(code=first.code, customer=customer, order=order)
    with pytest.raises(BusinessRuleError) as exc:
        services.redeem(code=second.code, customer=customer, order=order)
    assert exc.value.error_code == "order_has_coupon"


def test_order_api_with_a_refused_coupon_stores_no_order(client, org, api):
    coupon, _customer = _claimed(org)
    body = {
        "external_id": "SHOP-9",
        "customer": {"mobile": "13800003333"},
        "amount": "100.00",
        "cost": "50.00",
        "coupon_code": coupon.code,
    }
    response = call(client, "/api/v1/orders", body, api)
    assert response.status_code == 409 and response.json()["error"]["code"] == "threshold_not_met"
    assert not Order.objects.filter(external_id="SHOP-9").exists()
    body["amount"] = "250.00"
    ok = call(client, "/api/v1/orders", body, api)
    assert ok.status_code == 201 and ok.json()["discount"] == "20.00"


def test_category_scope_counts_only_matching_lines(org):
    coupon, customer = _claimed(org, scope="categories", scope_values="数学")
    order = make_order(
        customer,
        "300.00",
        cost="100.00",
        lines=[
            {"sku": "M1", "category": "数学", "quantity": 1, "price": "150.00"},
            {"sku": "E1", "category": "英语", "quantity": 1, "price": "150.00"},
        ],
    )
    with pytest.raises(BusinessRuleError) as exc:
        services.redeem_for_order(code=coupon.code, customer=customer, order=order)
    assert exc.value.error_code == "threshold_not_met"
