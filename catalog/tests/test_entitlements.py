"""Customer entitlements: grant, consume (idempotent, never below zero, also under concurrency),
the renewal task once, and the grant on an order."""

import datetime
from decimal import Decimal

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from catalog.models import Entitlement, EntitlementUse
from catalog.services import entitlements
from catalog.tests.factories import SkuFactory
from crm.errors import DomainError
from crm.tests.parallel import run_parallel
from customers import registry
from customers.tests.factories import CustomerFactory, make_order

#: the renewal tasks land in sales (through customers.hooks); read by label, not imported
Task = apps.get_model("sales", "Task")


@pytest.fixture
def held(org):
    customer = CustomerFactory(name="王小明", owner=org.rep1)
    return entitlements.grant(
        customer=customer,
        name="课时",
        quantity=10,
        renewal_threshold=2,
        expires_on=datetime.date(2099, 1, 1),
    )


def test_a_use_takes_the_quantity_and_records_the_balance_it_left(held, org):
    use = entitlements.consume(entitlement=held, quantity=3, reference="lesson-1", actor=org.rep1)
    held.refresh_from_db()
    assert (held.balance, use.balance_after, use.quantity, use.used_by) == (
        7,
        7,
        3,
        org.rep1,
    )


def test_the_same_reference_again_takes_nothing(held):
    first = entitlements.consume(entitlement=held, quantity=3, reference="lesson-1")
    again = entitlements.consume(entitlement=held, quantity=3, reference="lesson-1")
    held.refresh_from_db()
    assert (again.pk, held.balance, EntitlementUse.objects.count()) == (first.pk, 7, 1)


def test_more_than_the_balance_is_refused_and_nothing_changes(held):
    with pytest.raises(DomainError) as caught:
        entitlements.consume(entitlement=held, quantity=11, reference="x")
    held.refresh_from_db()
    assert (caught.value.code, held.balance, EntitlementUse.objects.count()) == (
        "insufficient_balance",
        10,
        0,
    )


def test_an_expired_entitlement_cannot_be_used(held):
    Entitlement.objects.filter(pk=held.pk).update(expires_on=datetime.date(2020, 1, 1))
    with pytest.raises(DomainError) as caught:
        entitlements.consume(entitlement=held, quantity=1, on=datetime.date(2020, 1, 2))
    assert caught.value.code == "expired"


def test_it_can_be_used_on_its_last_day(held):
    Entitlement.objects.filter(pk=held.pk).update(expires_on=datetime.date(2030, 1, 1))
    assert entitlements.consume(entitlement=held, quantity=1, on=datetime.date(2030, 1, 1)).balance_after == 9


@pytest.mark.parametrize("quantity", [0, -1, 1.5, "2", True, 100_001])
def test_a_quantity_that_is_not_a_positive_whole_number_is_refused_on_its_field(held, quantity):
    with pytest.raises(ValidationError) as caught:
        entitlements.consume(entitlement=held, quantity=quantity)
    assert list(caught.value.message_dict) == ["quantity"]


def test_the_database_refuses_a_negative_balance(held):
    with pytest.raises(IntegrityError), transaction.atomic():
        Entitlement.objects.filter(pk=held.pk).update(balance=-1)


def test_reaching_the_threshold_creates_one_renewal_task_for_the_owner(held, org):
    entitlements.consume(entitlement=held, quantity=7, reference="a")
    assert Task.objects.count() == 0
    entitlements.consume(entitlement=held, quantity=1, reference="b")  # balance 2 = threshold
    entitlements.consume(entitlement=held, quantity=1, reference="c")  # below: no second task
    tasks = list(Task.objects.values_list("assignee__username", "title", "customer__name", "by_rule"))
    assert tasks == [("rep1", "Renewal: 王小明 has 2 课时 left", "王小明", "entitlement_renewal")]
    held.refresh_from_db()
    assert held.renewal_flagged_at is not None


def test_without_an_owner_no_task_is_made_until_the_customer_has_one(org):
    customer = CustomerFactory(owner=None)
    held = entitlements.grant(customer=customer, name="次数", quantity=3, renewal_threshold=1)
    entitlements.consume(entitlement=held, quantity=2, reference="a")
    assert Task.objects.count() == 0
    customer.owner = org.rep2
    customer.save()
    entitlements.consume(entitlement=held, quantity=1, reference="b")
    assert list(Task.objects.values_list("assignee__username", flat=True)) == ["rep2"]


def test_an_order_grants_its_skus_entitlements_once(org):
    sku = SkuFactory(
        code="HOME-12",
        grants_name="保洁次数",
        grants_quantity=12,
        grants_valid_days=365,
        renewal_threshold=2,
    )
    SkuFactory(code="PLAIN-1")
    customer = CustomerFactory(owner=org.rep1)
    order = make_order(
        customer,
        Decimal("3960.00"),
        placed_at=datetime.datetime(2026, 3, 1, 2, tzinfo=datetime.UTC),
        lines=[
            {"sku": "HOME-12", "quantity": 2, "price": "1980"},
            {"sku": "PLAIN-1", "price": "10"},
            {"sku": "UNKNOWN", "price": "5"},
        ],
    )
    registry.order_placed(order)
    registry.order_placed(order)  # a retry grants nothing more
    rows = list(
        Entitlement.objects.values_list(
            "customer_id",
            "sku_id",
            "name",
            "quantity",
            "balance",
            "expires_on",
            "renewal_threshold",
            "order_id",
        )
    )
    assert rows == [
        (
            customer.pk,
            sku.pk,
            "保洁次数",
            24,
            24,
            datetime.date(2027, 3, 1),
            2,
            order.pk,
        )
    ]


def test_a_cancelled_order_grants_nothing(org):
    SkuFactory(code="HOME-12", grants_name="保洁次数", grants_quantity=12)
    order = make_order(CustomerFactory(), Decimal(1980), lines=[{"sku": "HOME-12", "price": "1980"}])
    order.status = "cancelled"
    assert entitlements.grant_for_order(order) == []


# --- concurrency, on PostgreSQL ---------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_uses_never_take_the_balance_below_zero(postgres):
    customer = CustomerFactory()
    held = entitlements.grant(customer=customer, name="课时", quantity=5)

    def use(index):
        return lambda: entitlements.consume(entitlement=held, quantity=1, reference=f"r{index}").balance_after

    results = run_parallel(
        [use(index) for index in range(12)],
        refusals=[(DomainError, lambda exc: exc.code)],
    )
    held.refresh_from_db()
    assert sorted(str(r) for r in results) == ["0", "1", "2", "3", "4"] + ["insufficient_balance"] * 7
    assert (held.balance, EntitlementUse.objects.count()) == (0, 5)


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_with_one_reference_take_once(postgres):
    customer = CustomerFactory()
    held = entitlements.grant(customer=customer, name="课时", quantity=10)

    def retry():
        return entitlements.consume(entitlement=held, quantity=3, reference="same").pk

    results = run_parallel([retry for _ in range(8)])
    held.refresh_from_db()
    assert (len(set(results)), held.balance, EntitlementUse.objects.count()) == (
        1,
        7,
        1,
    )


@pytest.mark.django_db(transaction=True)
def test_concurrent_uses_across_the_threshold_make_one_renewal_task(postgres):
    from crm.tests.factories import UserFactory

    owner = UserFactory(username="owner")
    customer = CustomerFactory(owner=owner)
    held = entitlements.grant(customer=customer, name="课时", quantity=6, renewal_threshold=3)

    def use(index):
        return lambda: entitlements.consume(entitlement=held, quantity=1, reference=f"r{index}").balance_after

    run_parallel([use(index) for index in range(6)])
    assert Task.objects.filter(assignee=owner).count() == 1


def test_an_imported_order_grants_its_skus_entitlements_as_a_placed_one_does(
    client, org, django_capture_on_commit_callbacks
):
    from customers.models import Order
    from customers.tests.test_imports import commit, upload

    SkuFactory(code="HOME-12", grants_name="保洁次数", grants_quantity=12, grants_valid_days=365)
    customer = CustomerFactory(owner=org.rep1, mobile="13800138001")
    client.force_login(org.rep1)
    job = upload(
        client,
        "orders",
        "订单号,手机,姓名,金额,渠道,下单时间,商品编码,数量,单价\n"
        "SO-9,13800138001,,3960,门店,2026-03-01 10:30,HOME-12,2,1980\n"
        "SO-10,13800138001,,100,门店,2026-03-02 10:30,PLAIN-1,1,100\n",
    )
    commit(client, job, django_capture_on_commit_callbacks)
    order = Order.objects.get(external_id="SO-9")
    assert list(Entitlement.objects.values_list("customer_id", "order_id", "name", "quantity", "balance")) == [
        (customer.pk, order.pk, "保洁次数", 24, 24)
    ]
