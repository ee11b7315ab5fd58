import datetime
import json
import re
from decimal import Decimal

import pytest
from django.utils import timezone

from catalog.tests.factories import SkuFactory
from crm import services as crm_services
from customers.models import Customer, Order
from customers.tests.factories import CustomerFactory, make_order


def catalogue_sku(code, price):
    """A SKU of the catalogue: order lines name SKUs the catalogue knows (an unknown one is 422)."""
    return SkuFactory(code=code, list_price=Decimal(price))


@pytest.fixture
def orders_token(db):
    catalogue_sku("MATH-01", "299.00")
    client = crm_services.create_api_client(name="shop")
    _, raw = crm_services.issue_token(client=client, scopes=["orders"])
    return client, {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def post(client, url, body, headers):
    return client.post(url, json.dumps(body), content_type="application/json", **headers)


ORDER = {
    "external_id": "SHOP-1001",
    "customer": {"mobile": "13800138000", "name": "赵六"},
    "amount": "299.00",
    "cost": "120.00",
    "placed_at": "2026-11-20T10:00:00+08:00",
    "items": [{"sku": "MATH-01", "category": "课程", "quantity": 1, "price": "299.00"}],
}


def test_order_push_creates_customer_and_refreshes_figures(client, orders_token):
    _, headers = orders_token
    response = post(client, "/api/v1/orders", ORDER, headers)
    assert response.status_code == 201
    body = response.json()
    assert body["amount"] == "299.00" and body["status"] == "paid" and body["items"][0]["sku"] == "MATH-01"
    customer = Customer.objects.get(mobile="13800138000")
    assert customer.name == "赵六" and customer.source == Customer.Source.API
    assert customer.order_count == 1 and customer.total_amount == Decimal("299.00")
    assert customer.lifecycle_stage == "first_order" and customer.value_segment == "low"


def test_same_order_again_is_200_and_stores_nothing_new(client, orders_token):
    _, headers = orders_token
    first = post(client, "/api/v1/orders", ORDER, headers)
    again = post(client, "/api/v1/orders", ORDER, headers)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert Order.objects.count() == 1
    assert Customer.objects.get(mobile="13800138000").order_count == 1


def test_same_external_id_with_another_body_is_409(client, orders_token):
    _, headers = orders_token
    post(client, "/api/v1/orders", ORDER, headers)
    response = post(client, "/api/v1/orders", {**ORDER, "amount": "1.00"}, headers)
    assert response.status_code == 409


def test_cancel_gives_figures_back_and_is_idempotent(client, orders_token):
    _, headers = orders_token
    post(client, "/api/v1/orders", ORDER, headers)
    response = post(client, "/api/v1/orders/SHOP-1001/cancel", {}, headers)
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert post(client, "/api/v1/orders/SHOP-1001/cancel", {}, headers).status_code == 200
    customer = Customer.objects.get(mobile="13800138000")
    assert customer.order_count == 0 and customer.total_amount == 0


def test_cancel_unknown_order_is_404(client, orders_token):
    _, headers = orders_token
    assert post(client, "/api/v1/orders/NOPE/cancel", {}, headers).status_code == 404


def test_invalid_order_is_422_naming_fields(client, orders_token):
    _, headers = orders_token
    response = post(client, "/api/v1/orders", {**ORDER, "amount": "-5", "customer": {"mobile": "123"}}, headers)
    assert response.status_code == 422
    fields = response.json()["error"]["fields"]
    assert "amount" in fields and "customer" in fields


def test_unknown_coupon_refuses_the_order_and_stores_nothing(client, orders_token):
    _, headers = orders_token
    response = post(client, "/api/v1/orders", {**ORDER, "coupon_code": "NOSUCHCODE"}, headers)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "not_found"
    assert not Order.objects.exists() and not Customer.objects.exists()


def test_orders_scope_is_required(client, db):
    api = crm_services.create_api_client(name="reader")
    _, raw = crm_services.issue_token(client=api, scopes=["customers:read"])
    response = post(client, "/api/v1/orders", ORDER, {"HTTP_AUTHORIZATION": f"Bearer {raw}"})
    assert response.status_code == 403


def test_value_figures_follow_orders(db):
    customer = CustomerFactory()
    start = timezone.now() - datetime.timedelta(days=40)
    make_order(customer, "100.00", placed_at=start)
    make_order(customer, "300.00", placed_at=start + datetime.timedelta(days=10))
    third = make_order(customer, "200.00", placed_at=start + datetime.timedelta(days=30))
    customer.refresh_from_db()
    assert customer.order_count == 3 and customer.total_amount == Decimal("600.00")
    assert customer.avg_order_value == Decimal("200.00")
    assert customer.median_interval_days == Decimal("15.0")
    assert customer.first_order_at == start and customer.last_order_at == third.placed_at
    from customers.services import cancel_order

    cancel_order(order=third)
    customer.refresh_from_db()
    assert customer.order_count == 2 and customer.total_amount == Decimal("400.00")
    assert customer.median_interval_days == Decimal("10.0")


def test_rep_records_an_order_in_the_browser_form(client, org):
    catalogue_sku("ART-1", "48.00")
    customer = CustomerFactory(owner=org.rep1)
    client.force_login(org.rep1)
    response = client.post(
        f"/customers/{customer.pk}/orders/new/",
        {
            "amount": "88.00",
            "channel": "sales",
            "external_id": "",
            "lines-TOTAL_FORMS": "1",
            "lines-INITIAL_FORMS": "0",
            "lines-0-sku": "ART-1",
            "lines-0-category": "美术",
            "lines-0-quantity": "2",
            "lines-0-price": "44.00",
        },
    )
    assert response.status_code == 302
    order = Order.objects.get(customer=customer)
    assert order.lines.get().sku == "ART-1"
    customer.refresh_from_db()
    assert customer.total_amount == Decimal("88.00")


def test_rep_cannot_see_or_cancel_another_reps_order(client, org):
    order = make_order(CustomerFactory(owner=org.rep3), "50.00")
    client.force_login(org.rep1)
    assert client.get(f"/customers/orders/{order.pk}/").status_code == 404
    assert client.post(f"/customers/orders/{order.pk}/cancel/").status_code == 404
    assert client.post(f"/customers/{order.customer_id}/orders/new/", {"amount": "1"}).status_code == 404
    assert str(order.customer.name) not in client.get("/customers/orders/").content.decode()


def test_order_list_query_count_is_bounded(client, org, django_assert_max_num_queries):
    customer = CustomerFactory(owner=org.rep1)
    for _ in range(30):
        make_order(customer, "10.00")
    client.force_login(org.manager1)
    with django_assert_max_num_queries(12):
        assert client.get("/customers/orders/").status_code == 200


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_concurrent_pushes_of_one_new_order_store_it_once(postgres):
    import threading

    from django.db import connection
    from django.test import Client

    api = crm_services.create_api_client(name="pos")
    _, raw = crm_services.issue_token(client=api, scopes=["orders"])
    catalogue_sku("MATH-01", "299.00")
    barrier, codes = threading.Barrier(6), []

    def push():
        try:
            barrier.wait()
            codes.append(post(Client(), "/api/v1/orders", ORDER, {"HTTP_AUTHORIZATION": f"Bearer {raw}"}).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=push) for _ in range(6)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted(codes) == [200] * 5 + [201]
    assert Order.objects.count() == 1 and Customer.objects.filter(mobile="13800138000").count() == 1
    assert Customer.objects.get(mobile="13800138000").order_count == 1


def test_every_input_of_the_order_lines_is_named_with_its_line(client, org):
    customer = CustomerFactory(owner=org.rep1)
    client.force_login(org.rep1)
    text = client.get(f"/customers/{customer.pk}/orders/new/").content.decode()
    inputs = re.findall(r'<input[^>]*name="lines-(\d)-(\w+)"[^>]*>', text)
    assert len(inputs) == 12  # three empty lines of four fields
    for tag in re.findall(r'<input[^>]*name="lines-\d-\w+"[^>]*>', text):
        assert 'aria-label="' in tag, tag
    labels = re.findall(
        r'aria-label="([^"]+)"[^>]*name="lines-1-sku"|name="lines-1-sku"[^>]*aria-label="([^"]+)"', text
    )
    assert [a or b for a, b in labels] in (["SKU, line 2"], ["第 2 行库存单位"])
