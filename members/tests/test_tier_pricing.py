"""A membership tier's price benefit (会员价): a sales policy for members of a tier prices the order
form, the orders API and the order import, recorded on the order line; the member card names it."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog.models import SalesPolicy
from catalog.services.pricing import price_for, price_orders
from catalog.tests.factories import PolicyFactory, ProductFactory, SkuFactory, category
from crm import services as crm_services
from crm.tests.factories import OrgFixture
from customers.models import Order, OrderLine
from customers.tests.factories import CustomerFactory
from customers.tests.test_imports import commit, upload
from members.models import Member, Tier


@pytest.fixture
def org(db):
    return OrgFixture()


@pytest.fixture
def shelf(db):
    product = ProductFactory(category=category("一对一", category("教育培训")))
    math = SkuFactory(product=product, code="MATH-48", list_price=Decimal("10000.00"), cost=Decimal("4000.00"))
    tiers = {
        name: Tier.objects.create(name=name, position=i, min_spend=Decimal(spend))
        for i, (name, spend) in enumerate([("普通", "0"), ("银卡", "50000"), ("金卡", "100000"), ("钻石", "300000")])
    }
    gold_price = PolicyFactory(name="金卡会员价", percent_off=Decimal(12), member_tier="金卡")
    return {"math": math, "tiers": tiers, "gold_price": gold_price}


def member(tier, **customer):
    return Member.objects.create(customer=CustomerFactory(**customer), tier=tier).customer


def test_a_gold_member_gets_the_tier_price_and_a_silver_member_the_list_price(shelf):
    gold = member(shelf["tiers"]["金卡"])
    silver = member(shelf["tiers"]["银卡"])
    quotes = [price_for(sku=shelf["math"], customer=c) for c in (gold, silver, CustomerFactory())]
    assert [(q.price, q.policy_name) for q in quotes] == [
        (Decimal("8800.00"), "金卡会员价"),
        (Decimal("10000.00"), ""),
        (Decimal("10000.00"), ""),
    ]


def test_the_tier_counts_as_one_condition_in_the_precedence(shelf):
    gold = member(shelf["tiers"]["金卡"])
    PolicyFactory(name="全场九五折", percent_off=Decimal(5), priority=99)
    PolicyFactory(name="门店九折", percent_off=Decimal(10), channel="store")  # as specific as the tier: ties
    PolicyFactory(name="金卡门店八折", percent_off=Decimal(20), channel="store", member_tier="金卡")
    assert price_for(sku=shelf["math"], customer=gold).policy_name == "金卡会员价"  # beats the unconditioned
    assert price_for(sku=shelf["math"], customer=gold, channel="store").policy_name == "金卡门店八折"
    assert price_for(sku=shelf["math"], customer=member(shelf["tiers"]["普通"]), channel="store").policy_name == (
        "门店九折"
    )


def test_a_tier_and_a_channel_policy_of_equal_specificity_are_decided_by_priority(shelf):
    gold = member(shelf["tiers"]["金卡"])
    PolicyFactory(name="门店九折", percent_off=Decimal(10), channel="store", priority=5)
    assert price_for(sku=shelf["math"], customer=gold, channel="store").policy_name == "门店九折"


def test_an_api_order_of_a_gold_member_is_charged_the_tier_price_and_the_line_records_it(client, shelf):
    gold = member(shelf["tiers"]["金卡"], mobile="13800138001")
    api_client = crm_services.create_api_client(name="shop")
    _token, raw = crm_services.issue_token(client=api_client, scopes=["orders"])
    response = client.post(
        "/api/v1/orders",
        {"external_id": "WX-1", "customer": {"id": gold.pk}, "amount": "8800.00", "items": [{"sku": "MATH-48"}]},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert response.status_code == 201, response.content
    policy = shelf["gold_price"]
    assert response.json()["items"][0]["policy"] == {"id": policy.pk, "name": "金卡会员价", "price": "8800.00"}
    assert list(OrderLine.objects.values_list("price", "policy_id", "policy_name")) == [
        (Decimal("8800.00"), policy.pk, "金卡会员价")
    ]


def test_the_order_form_charges_a_gold_member_the_tier_price(client, org, shelf):
    gold = member(shelf["tiers"]["金卡"], owner=org.rep1, department=org.team1)
    client.force_login(org.rep1)
    response = client.post(
        reverse("customers:order_create", args=[gold.pk]),
        {
            "amount": "8800.00",
            "channel": "sales",
            "lines-TOTAL_FORMS": "1",
            "lines-INITIAL_FORMS": "0",
            "lines-0-sku": "MATH-48",
            "lines-0-quantity": "1",
        },
    )
    assert response.status_code == 302
    assert list(OrderLine.objects.values_list("price", "policy_name")) == [(Decimal("8800.00"), "金卡会员价")]


def test_imported_orders_are_priced_by_each_customers_tier(client, org, shelf, django_capture_on_commit_callbacks):
    member(shelf["tiers"]["金卡"], owner=org.rep1, mobile="13800138001")
    member(shelf["tiers"]["银卡"], owner=org.rep1, mobile="13800138002")
    client.force_login(org.rep1)
    job = upload(
        client,
        "orders",
        "订单号,手机,姓名,金额,渠道,下单时间,商品编码,数量,单价\n"
        "SO-1,13800138001,,8800,门店,2026-03-10 10:30,MATH-48,1,\n"
        "SO-2,13800138002,,10000,门店,2026-03-10 10:30,MATH-48,1,\n",
    )
    commit(client, job, django_capture_on_commit_callbacks)
    rows = OrderLine.objects.order_by("order__external_id").values_list("order__external_id", "price", "policy_name")
    assert list(rows) == [("SO-1", Decimal("8800.00"), "金卡会员价"), ("SO-2", Decimal("10000.00"), "")]
    assert Order.objects.count() == 2


def test_a_chunk_of_orders_with_a_tier_policy_costs_three_queries(shelf, django_assert_num_queries):
    customers = [member(shelf["tiers"]["金卡" if i % 2 else "普通"]) for i in range(6)]
    orders = [{"lines": [{"sku": "MATH-48"}], "customer": c, "on": timezone.localdate()} for c in customers]
    with django_assert_num_queries(3):  # the SKUs, the policies, the customers' tiers
        priced = price_orders(orders=orders)
    assert [lines[0]["policy_name"] for lines in priced] == ["", "金卡会员价"] * 3


def test_the_member_card_on_the_360_view_names_the_tiers_price_benefit(client, org, shelf):
    gold = member(shelf["tiers"]["金卡"], name="周杰", owner=org.rep1, department=org.team1)
    client.force_login(org.rep1)
    response = client.get(reverse("customers:detail", args=[gold.pk]))
    card = response.content.decode().split('data-testid="member-price-benefit">', 1)[1].split("</div>", 1)[0]
    assert " ".join(re.sub(r"<[^>]+>", "", card).split()) == "金卡会员价： 金卡会员价 (优惠 12%)"


def test_the_policy_form_offers_the_tiers_and_saves_the_tier(client, org, shelf):
    client.force_login(org.marketing)
    page = client.get(reverse("catalog:policy_create"))
    assert [value for value, _label in page.context["form"].fields["member_tier"].choices] == [
        "",
        "普通",
        "银卡",
        "金卡",
        "钻石",
    ]
    response = client.post(
        reverse("catalog:policy_create"),
        {"name": "钻石八折", "kind": "percent", "percent_off": "20", "member_tier": "钻石", "priority": "0"},
    )
    assert response.status_code == 302
    assert SalesPolicy.objects.get(name="钻石八折").member_tier == "钻石"
