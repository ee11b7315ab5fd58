import datetime
from decimal import Decimal

from django.utils import timezone

from coupons.models import Batch, BudgetAccount, Campaign, Compensation, CompensationRule, Coupon, FiscalPeriod
from coupons.tests.factories import make_batch, make_budget
from customers.tests.factories import CustomerFactory


def test_marketing_admin_flow_from_budget_to_produced_codes(client, org, django_capture_on_commit_callbacks):
    client.force_login(org.marketing)
    client.post(
        "/coupons/budgets/periods/new/",
        {"name": "2026Q4", "kind": "quarter", "start": "2026-10-01", "end": "2026-12-31"},
    )
    period = FiscalPeriod.objects.get()
    response = client.post(
        "/coupons/budgets/new/",
        {
            "period": period.pk,
            "department": org.sales1.pk,
            "owner": org.manager1.pk,
            "target_gmv": "500000",
            "low_balance_alert": "0",
        },
    )
    account = BudgetAccount.objects.get()
    assert response.status_code == 302
    client.post(f"/coupons/budgets/{account.pk}/allocate/", {"amount": "50000", "note": "Q4"})
    account.refresh_from_db()
    assert account.total == Decimal("50000") and account.allocations.count() == 1
    client.post(
        "/coupons/campaigns/new/",
        {
            "name": "寒假招生",
            "budget_account": account.pk,
            "goal": "新生",
            "target_gmv": "200000",
            "start": "2026-11-01",
            "end": "2026-12-31",
        },
    )
    campaign = Campaign.objects.get()
    now = timezone.localtime()
    fmt = "%Y-%m-%dT%H:%M"
    form = {
        "code": "winter20",
        "name": "满100减20",
        "discount_type": "threshold",
        "amount": "20",
        "threshold": "40",
        "percent": "0",
        "scope": "all",
        "audience": "everyone",
        "quantity": "1000",
        "per_customer_limit": "1",
        "per_day_limit": "1",
        "claim_start": now.strftime(fmt),
        "claim_end": (now + datetime.timedelta(days=30)).strftime(fmt),
        "use_days": "7",
        "budget_mode": "redeem",
        "production": "auto",
        "platform_share": "100",
        "merchant_share": "0",
        "agent_share": "0",
        "expected_cost_ratio": "0.60",
        "decay_factor": "1.00",
        "decay_floor": "0",
        "new_customer_bonus": "0",
        "low_stock_alert": "0",
        "stacks_with_promotions": "on",
    }
    refused = client.post(f"/coupons/campaigns/{campaign.pk}/batches/new/", form)
    assert refused.status_code == 200 and "¥50.00" in refused.content.decode()  # margin check, beside the field
    assert not Batch.objects.exists()
    form["threshold"] = "100"
    saved = client.post(f"/coupons/campaigns/{campaign.pk}/batches/new/", form)
    batch = Batch.objects.get()
    assert saved.status_code == 302 and batch.status == "draft"
    client.post(f"/coupons/batches/{batch.pk}/submit/")
    client.force_login(org.director)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/coupons/batches/{batch.pk}/approve/")
    batch.refresh_from_db()
    assert batch.status == "approved" and batch.produced == 1000
    assert Coupon.objects.filter(batch=batch).count() == 1000
    page = client.get(f"/coupons/batches/{batch.pk}/").content.decode()
    assert 'data-testid="production-count">1,000 / 1,000<' in page
    assert "100%" in client.get(f"/coupons/batches/{batch.pk}/progress/").content.decode()


def test_reps_cannot_open_coupon_administration(client, org):
    batch = make_batch(org)
    client.force_login(org.rep1)
    assert client.get("/coupons/").status_code == 403
    assert client.get(f"/coupons/batches/{batch.pk}/").status_code == 403


def test_other_department_manager_cannot_see_the_batch(client, org):
    batch = make_batch(org)
    client.force_login(org.manager2)
    assert client.get(f"/coupons/batches/{batch.pk}/").status_code == 404
    assert client.post(f"/coupons/batches/{batch.pk}/approve/").status_code == 404


def test_rep_claims_on_a_customers_behalf(client, org):
    batch = make_batch(org)
    customer = CustomerFactory(owner=org.rep1)
    client.force_login(org.rep1)
    response = client.post(f"/coupons/customers/{customer.pk}/claim/", {"batch": batch.pk})
    assert response.status_code == 302
    coupon = Coupon.objects.get(customer=customer)
    assert coupon.channel == "sales"
    again = client.post(f"/coupons/customers/{customer.pk}/claim/", {"batch": batch.pk})
    assert again.status_code == 200 and "is-invalid" in again.content.decode()
    other = CustomerFactory(owner=org.rep3)
    assert client.post(f"/coupons/customers/{other.pk}/claim/", {"batch": batch.pk}).status_code == 404


def test_compensation_within_limits_is_issued_and_over_the_cap_goes_to_review(client, org):
    account = make_budget(org)
    batch = make_batch(org, account=account, code="comp", quantity=100)
    CompensationRule.objects.create(department=org.region, batch=batch, max_amount_per_coupon=Decimal("50"))
    customer = CustomerFactory(owner=org.rep1)
    client.force_login(org.rep1)
    client.post(f"/coupons/customers/{customer.pk}/compensate/", {"amount": "30", "reason": "课程延期"})
    first = Compensation.objects.get()
    assert first.status == "approved" and first.coupon.customer == customer and first.coupon.status == "claimed"
    client.post(f"/coupons/customers/{customer.pk}/compensate/", {"amount": "80", "reason": "严重投诉"})
    second = Compensation.objects.exclude(pk=first.pk).get()
    assert second.status == "review" and "amount_over_cap" in second.review_reasons and second.coupon is None
    client.force_login(org.manager1)
    assert "严重投诉" in client.get("/coupons/compensations/").content.decode()
    client.post(f"/coupons/compensations/{second.pk}/decide/", {"approve": "1"})
    second.refresh_from_db()
    assert second.status == "approved" and second.coupon.amount == Decimal("80.00")
