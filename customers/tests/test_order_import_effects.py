"""The order import runs the ``order_placed`` effects (entitlements, partner attribution, points and
tiers) in one pass over the imported orders, each hook's batch form, and leaves a customer as the
same orders placed one by one would."""

import datetime
from decimal import Decimal

from django.utils import timezone

from catalog.models import Entitlement
from catalog.tests.factories import SkuFactory
from customers import registry
from customers.models import Customer, Order
from customers.services import place_order
from customers.tests.factories import CustomerFactory
from customers.tests.test_imports import commit, upload
from members.models import Member, PointsEntry, Tier, TierChange
from partners.models import Attribution
from partners.services.registrations import register_lead
from partners.tests.factories import PartnerFactory

TIMES = ("2026-11-10 10:30", "2026-11-20 10:30", "2026-11-30 10:30")


def state(customer):
    customer = Customer.objects.get(pk=customer.pk)
    member = Member.objects.select_related("tier").get(customer=customer)
    return {
        "figures": (customer.order_count, customer.total_amount, customer.avg_order_value, customer.last_order_at),
        "classes": (customer.lifecycle_stage, customer.value_segment, customer.grid_class),
        "points": (member.points, member.tier.name),
        "ledger": list(PointsEntry.objects.filter(member=member).order_by("id").values_list("delta", "balance_after")),
        "tiers": list(
            TierChange.objects.filter(member=member).order_by("id").values_list("from_tier__name", "to_tier__name")
        ),
        "attributions": list(
            Attribution.objects.filter(order__customer=customer)
            .order_by("order__placed_at")
            .values_list("partner__name", "reason")
        ),
        "entitlements": sorted(
            Entitlement.objects.filter(customer=customer).values_list("name", "quantity", "balance", "expires_on")
        ),
    }


def test_an_import_of_orders_leaves_the_customer_as_the_same_orders_placed_one_by_one(
    client, org, django_capture_on_commit_callbacks
):
    Tier.objects.create(name="普通", position=0)
    # points, not spend, move the tier (the import stores every order before the hooks run)
    Tier.objects.create(name="银卡", position=1, min_spend=Decimal(10**9), min_points=1000, points_per_yuan=2)
    SkuFactory(code="LESSON-10", grants_name="十次课", grants_quantity=10, grants_valid_days=365)
    partner = PartnerFactory(owner=org.rep1, status="active", grade="B")
    for mobile in ("13800138001", "13800138002"):
        register_lead(partner=partner, name="报备客户", mobile=mobile)  # registered before they became customers
    imported = CustomerFactory(owner=org.rep1, department=org.team1, mobile="13800138001")
    placed = CustomerFactory(owner=org.rep1, department=org.team1, mobile="13800138002")
    client.force_login(org.rep1)
    job = upload(
        client,
        "orders",
        "订单号,手机,姓名,金额,渠道,下单时间,商品编码,数量,单价\n"
        + "".join(f"SO-{n},13800138001,,600,门店,{at},LESSON-10,1,600\n" for n, at in enumerate(TIMES)),
    )
    commit(client, job, django_capture_on_commit_callbacks)
    for n, at in enumerate(TIMES):
        place_order(
            customer=placed,
            amount="600",
            actor=org.rep1,
            placed_at=timezone.make_aware(datetime.datetime.fromisoformat(at)),
            lines=[{"sku": "LESSON-10", "quantity": 1, "price": "600"}],
            external_id=f"ONE-{n}",
        )

    assert state(imported) == state(placed)
    assert state(imported)["points"] == (2400, "银卡")  # 600 + 600, then 1,200 at the silver rate
    assert len(state(imported)["entitlements"]) == 3
    assert state(imported)["attributions"] == [(partner.name, Attribution.Reason.LEAD)] * 3


def test_the_effects_of_many_imported_orders_cost_a_bounded_number_of_queries(org, django_assert_max_num_queries):
    SkuFactory(code="LESSON-10", grants_name="十次课", grants_quantity=10)
    orders = []
    for _n in range(30):
        customer = CustomerFactory(owner=org.rep1, department=org.team1)
        orders.append(
            place_order(customer=customer, amount="100", lines=[{"sku": "LESSON-10", "quantity": 1, "price": "100"}])
        )
    Entitlement.objects.all().delete()  # granted again below, as the import grants them
    orders = list(Order.objects.filter(pk__in=[o.pk for o in orders]).select_related("customer", "created_by"))
    with django_assert_max_num_queries(10):
        registry.orders_placed(orders)
    assert Entitlement.objects.count() == 30
