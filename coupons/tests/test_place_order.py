"""One ``place_order``: the customer, the order with its lines and the coupon in one transaction,
the same rows whether the orders API or the order form placed it."""

import json
from decimal import Decimal

import pytest

from catalog.tests.factories import PolicyFactory, ProductFactory, SkuFactory, category
from coupons import services as coupon_services
from coupons.models import BudgetAccount, Coupon, Redemption
from coupons.tests.factories import make_batch
from crm import services as crm_services
from crm.errors import Conflict
from customers.models import Customer, Order, OrderLine
from customers.services import place_order
from customers.tests.factories import CustomerFactory

LINES = [{"sku": "M1", "category": "数学", "quantity": 2, "price": "150.00"}]


@pytest.fixture
def api(db):
    client = crm_services.create_api_client(name="shop")
    _, raw = crm_services.issue_token(client=client, scopes=["coupons", "orders"])
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def _coupon_for(org, customer, **overrides):
    batch = make_batch(org, **overrides)
    return coupon_services.claim(batch_code=batch.code, customer=customer, channel="app")


def test_a_refused_coupon_leaves_no_order_and_no_new_customer(org):
    holder = CustomerFactory(mobile="13800003333")
    coupon = _coupon_for(org, holder)
    with pytest.raises(Conflict) as refused:  # a new mobile: the customer would be created
        place_order(
            customer_ref={"mobile": "13900001111", "name": "王芳"},
            new_customer={"actor": org.rep1},
            amount="300.00",
            cost="100.00",
            lines=LINES,
            coupon_code=coupon.code,
            actor=org.rep1,
        )
    assert refused.value.code == "not_owner"
    assert Customer.objects.filter(mobile="13900001111").count() == 0
    assert Order.objects.count() == 0
    assert OrderLine.objects.count() == 0
    assert Redemption.objects.count() == 0
    assert Coupon.objects.get(pk=coupon.pk).status == Coupon.Status.CLAIMED


def test_a_budget_refused_at_redemption_rolls_the_order_back(org):
    customer = CustomerFactory(mobile="13800003333")
    coupon = _coupon_for(org, customer)
    BudgetAccount.objects.update(total=Decimal("0.00"))
    with pytest.raises(Conflict) as refused:
        place_order(customer=customer, amount="300.00", cost="100.00", lines=LINES, coupon_code=coupon.code)
    assert refused.value.code == "budget_exhausted"
    assert Order.objects.count() == 0
    assert Coupon.objects.get(pk=coupon.pk).status == Coupon.Status.CLAIMED


def test_place_order_with_a_new_mobile_creates_the_customer_and_redeems(org):
    holder = CustomerFactory(mobile="13800003333")
    coupon = _coupon_for(org, holder)
    order = place_order(
        customer_ref={"mobile": "138 0000 3333"},
        amount="300.00",
        cost="100.00",
        lines=LINES,
        coupon_code=coupon.code,
        actor=org.rep1,
    )
    assert order.customer_id == holder.pk
    assert order.discount == Decimal("20.00")
    assert order.redemption.discount == Decimal("20.00")
    assert Customer.objects.count() == 1


def test_an_unknown_customer_id_is_refused_on_the_customer_field(org):
    from crm.errors import Invalid

    with pytest.raises(Invalid) as refused:
        place_order(customer_ref={"id": 987654}, amount="10.00")
    assert refused.value.status == 422
    assert refused.value.fields == {"customer": ["No customer with this id."]}


def _rows(order):
    order.refresh_from_db()
    redemption = Redemption.objects.get(order=order)
    return {
        "order": (order.amount, order.cost, order.discount, order.channel, order.status, order.external_id),
        "lines": [
            (line.sku, line.category, line.quantity, line.price, line.policy_id, line.policy_price, line.cost)
            for line in order.lines.order_by("sku")
        ],
        "redemption": (
            redemption.order_amount,
            redemption.discount,
            redemption.subsidy,
            redemption.platform_amount,
            redemption.merchant_amount,
            redemption.agent_amount,
        ),
        "customer": (order.customer.order_count, order.customer.total_amount),
    }


def test_the_api_and_the_form_place_the_same_rows(client, org, api):
    # both refuse a SKU the catalogue does not know: M1 is in it, priced by a sales policy
    SkuFactory(product=ProductFactory(category=category("数学")), code="M1", list_price=Decimal("160.00"))
    PolicyFactory(name="九五折", percent_off=Decimal(5))
    by_api = CustomerFactory(owner=org.rep1, mobile="13800003333")
    by_form = CustomerFactory(owner=org.rep1, mobile="13800004444")
    api_coupon = _coupon_for(org, by_api)
    form_coupon = coupon_services.claim(batch_code=api_coupon.batch.code, customer=by_form, channel="app")
    body = {
        "external_id": "SHOP-1",
        "customer": {"id": by_api.pk},
        "amount": "300.00",
        "cost": "100.00",
        "channel": "sales",
        "items": LINES,
        "coupon_code": api_coupon.code,
    }
    response = client.post("/api/v1/orders", json.dumps(body), content_type="application/json", **api)
    assert response.status_code == 201, response.content.decode()
    client.force_login(org.rep1)
    page = client.post(
        f"/customers/{by_form.pk}/orders/new/",
        {
            "amount": "300.00",
            "cost": "100.00",
            "channel": "sales",
            "external_id": "SHOP-1",
            "coupon_code": form_coupon.code.lower(),
            "lines-TOTAL_FORMS": "1",
            "lines-INITIAL_FORMS": "0",
            "lines-0-sku": "M1",
            "lines-0-category": "数学",
            "lines-0-quantity": "2",
            "lines-0-price": "150.00",
        },
    )
    assert page.status_code == 302
    from_api = _rows(Order.objects.get(customer=by_api))
    from_form = _rows(Order.objects.get(customer=by_form))
    assert from_api == from_form
    assert from_api["order"][2] == Decimal("20.00")
    assert from_api["customer"] == (1, Decimal("300.00"))


def test_the_redeem_api_places_a_new_order_with_the_coupon_in_one_call(client, org, api):
    customer = CustomerFactory(mobile="13800003333")
    coupon = _coupon_for(org, customer)
    body = {
        "code": coupon.code,
        "order": {"external_id": "O-9", "amount": "300.00", "cost": "150.00"},
        "customer": {"mobile": "13800003333"},
    }
    response = client.post("/api/v1/coupons/redeem", json.dumps(body), content_type="application/json", **api)
    assert response.status_code == 200
    assert response.json() == {"code": coupon.code, "discount": "20.00", "payable": "280.00", "subsidy": "20.00"}
    order = Order.objects.get(external_id="O-9")
    assert order.discount == Decimal("20.00")
    assert order.customer_id == customer.pk
