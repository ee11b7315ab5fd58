"""The load test's reconciliation (bench/loadtest/reconcile.py): it passes on data written through
the services — claims, redemptions, a cancelled order — and it fails when a row is tampered with."""

import datetime
from decimal import Decimal

import pytest
from django.db.models import F

from bench.loadtest.reconcile import failures, reconcile
from coupons import services
from coupons.models import Batch, BudgetAccount, Coupon, Redemption
from coupons.tests.factories import make_batch, make_budget
from crm import services as crm_services
from crm.api.errors import BusinessRuleError
from customers.models import Customer, Order
from customers.services import cancel_order
from customers.tests.factories import CustomerFactory, make_order


@pytest.fixture
def traded(org):
    """Two batches on one budget (one reserving at claim), claims up to the limits, redemptions on
    orders, a cancelled order that gave its coupon and subsidy back, a refused over-limit claim."""
    account = make_budget(org, total="5000.00")
    plain = make_batch(org, account=account, quantity=5, per_customer_limit=2, per_day_limit=2)
    reserving = make_batch(
        org,
        account=account,
        quantity=50,
        per_customer_limit=1,
        per_day_limit=1,
        budget_mode=Batch.BudgetMode.RESERVE_AT_CLAIM,
        amount=Decimal("30"),
        threshold=Decimal("300"),
    )
    customers = [CustomerFactory() for _ in range(4)]
    coupons = [
        services.claim(batch_code=plain.code, customer=customers[0], channel="app"),
        services.claim(batch_code=plain.code, customer=customers[0], channel="app"),
        services.claim(batch_code=plain.code, customer=customers[1], channel="store"),
    ]
    held = [services.claim(batch_code=reserving.code, customer=c, channel="mini_program") for c in customers]
    with pytest.raises(BusinessRuleError):  # the per-customer limit refuses a third one
        services.claim(batch_code=plain.code, customer=customers[0], channel="app")
    orders = []
    for coupon, customer in [(coupons[0], customers[0]), (coupons[2], customers[1]), (held[0], customers[0])]:
        order = make_order(
            customer, Decimal("400.00"), cost=Decimal("200.00"), lines=[{"sku": "A-1", "price": "400.00"}]
        )
        services.redeem(code=coupon.code, customer=customer, order=order)
        orders.append(order)
    cancel_order(order=orders[1])  # coupon back to claimed, subsidy back to the budget
    client = crm_services.create_api_client(name="shop")
    pushed = make_order(
        customers[2],
        Decimal("150.00"),
        lines=[{"sku": "B-1", "price": "50.00", "quantity": 3}],
        external_id="shop-1",
        client=client,
    )
    return {
        "account": account,
        "plain": plain,
        "reserving": reserving,
        "customers": customers,
        "orders": orders,
        "client": client,
        "pushed": pushed,
    }


def test_data_written_through_the_services_reconciles(traded):
    checks = reconcile(
        client_ids=[traded["client"].pk], pushed_with_items=["shop-1"], refused_external_ids=["shop-refused"]
    )
    assert failures(checks) == []
    names = {check.name for check in checks}
    assert "orders pushed with items were stored with them (lines add up to the amount)" in names
    assert "orders whose coupon was refused were not stored" in names
    # the run was not trivial: the budget was used, reserved and given back
    account = BudgetAccount.objects.get(pk=traded["account"].pk)
    assert account.used == Decimal("50.00")  # 20 (plain) + 30 (reserving); the cancelled 20 came back
    assert account.reserved == Decimal("90.00")  # three reserving coupons still held
    assert Redemption.objects.filter(reversed_at__isnull=False).count() == 1


def _failed(**kwargs):
    return {check.name.split(":")[0] for check in failures(reconcile(**kwargs))}


def test_an_issued_counter_out_of_step_with_the_rows_fails(traded):
    Batch.objects.filter(pk=traded["plain"].pk).update(issued=F("issued") - 1)
    assert _failed() == {"issued = claimed coupon rows, per batch"}


def test_a_batch_over_its_quantity_fails(postgres, traded):
    # the CHECK constraint refuses it: drop it to tamper (rolled back with the test's transaction)
    with postgres.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending foreign-key checks before ALTER TABLE
        cursor.execute(f"ALTER TABLE {Batch._meta.db_table} DROP CONSTRAINT batch_never_over_issued")
    Batch.objects.filter(pk=traded["plain"].pk).update(quantity=2)
    assert _failed() == {"stock"}


def test_a_customer_over_the_per_customer_limit_fails(traded):
    extra = Coupon.objects.filter(
        batch=traded["plain"], status=Coupon.Status.CLAIMED, customer=traded["customers"][1]
    ).get()
    Coupon.objects.filter(pk=extra.pk).update(
        customer=traded["customers"][0], claim_day=extra.claim_day - datetime.timedelta(days=1)
    )
    assert _failed() == {"per-customer limit"}


def test_budget_used_other_than_the_sum_of_subsidies_fails(traded):
    BudgetAccount.objects.filter(pk=traded["account"].pk).update(used=F("used") + Decimal("0.01"))
    assert _failed() == {"budget used = Σ subsidies of live redemptions (GMV = Σ their order amounts)"}


def test_a_reservation_not_on_the_budget_fails(traded):
    Coupon.objects.filter(batch=traded["reserving"], status=Coupon.Status.CLAIMED).update(reserved=Decimal("31"))
    assert _failed() == {"budget reserved = Σ reservations of claimed coupons"}


def test_a_cancelled_redemption_still_counted_fails(traded):
    Redemption.objects.filter(reversed_at__isnull=False).update(reversed_at=None)
    failed = _failed()
    assert "budget used = Σ subsidies of live redemptions (GMV = Σ their order amounts)" in failed
    assert "a coupon is 'redeemed' exactly when it has a live redemption" in failed


def test_a_coupon_redeemed_twice_fails(postgres, traded):
    # PostgreSQL's partial unique index refuses a second live redemption: drop it to tamper
    with postgres.cursor() as cursor:
        cursor.execute("DROP INDEX coupon_redeemed_once")
    first = Redemption.objects.filter(reversed_at__isnull=True).first()
    Redemption.objects.create(
        coupon=first.coupon,
        batch=first.batch,
        order=traded["orders"][1],
        account=first.account,
        order_amount=first.order_amount,
        discount=first.discount,
        subsidy=Decimal(0),
        platform_amount=Decimal(0),
        merchant_amount=Decimal(0),
        agent_amount=first.discount,
    )
    assert "each coupon redeemed at most once" in _failed()


def test_customer_figures_out_of_step_with_the_orders_fail(traded):
    Customer.objects.filter(pk=traded["customers"][3].pk).update(order_count=1)
    assert _failed() == {"customer figures = their paid orders (count and total)"}


def test_a_pushed_order_without_its_items_or_a_refused_order_stored_fails(traded):
    traded["pushed"].lines.all().delete()
    failed = _failed(client_ids=[traded["client"].pk], pushed_with_items=["shop-1"], refused_external_ids=["shop-1"])
    assert failed == {
        "orders pushed with items were stored with them (lines add up to the amount)",
        "orders whose coupon was refused were not stored",
    }
    assert Order.objects.filter(external_id="shop-1").exists()
