"""``GET /api/v1/products`` and ``POST /api/v1/entitlements/{id}/consume``."""

import datetime
import json

import pytest
from django.utils import timezone

from catalog.models import EntitlementUse, Product
from catalog.services import entitlements
from catalog.tests.factories import ProductFactory, SkuFactory, category
from crm import services
from customers.tests.factories import CustomerFactory


def bearer(raw):
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.fixture
def token(db):
    client = services.create_api_client(name="shop")
    _token, raw = services.issue_token(client=client, scopes=["products:read", "entitlements"])
    return raw


@pytest.fixture
def shelf(db):
    edu = category("教育培训")
    one = category("一对一", edu)
    home = category("家政服务")
    on_sale = SkuFactory(code="EDU-48", product=ProductFactory(code="EDU", name="数学", category=one))
    SkuFactory(code="HOME-1", product=ProductFactory(code="HOME", category=home))
    SkuFactory(
        code="DRAFT-1",
        product=ProductFactory(status=Product.Status.DRAFT, sale_from=None, category=home),
    )
    SkuFactory(code="OFF-1", is_active=False, product=on_sale.product)
    return {"edu": edu, "home": home, "sku": on_sale}


def test_products_lists_the_active_skus_on_sale(client, token, shelf):
    response = client.get("/api/v1/products", **bearer(token))
    body = response.json()
    assert (
        response.status_code,
        body["count"],
        [row["code"] for row in body["results"]],
    ) == (200, 2, ["EDU-48", "HOME-1"])
    first = body["results"][0]
    assert {
        key: first[key]
        for key in (
            "code",
            "product_code",
            "category_path",
            "list_price",
            "unit",
            "status",
        )
    } == {
        "code": "EDU-48",
        "product_code": "EDU",
        "category_path": "教育培训/一对一",
        "list_price": "1000.00",
        "unit": "件",
        "status": "on_sale",
    }


def test_products_filter_by_category_includes_the_categories_below(client, token, shelf):
    body = client.get(f"/api/v1/products?category={shelf['edu'].pk}", **bearer(token)).json()
    assert [row["code"] for row in body["results"]] == ["EDU-48"]


def test_products_filter_by_updated_since(client, token, shelf):
    later = (timezone.now() + datetime.timedelta(minutes=5)).isoformat()
    body = client.get("/api/v1/products", {"updated_since": later}, **bearer(token)).json()
    assert body["count"] == 0


@pytest.mark.parametrize(
    "query,field",
    [
        ("category=abc", "category"),
        ("category=999999", "category"),
        ("updated_since=yesterday", "updated_since"),
        ("updated_since=2026-01-01T00:00:00", "updated_since"),
    ],
)
def test_bad_filters_are_422_naming_the_parameter(client, token, shelf, query, field):
    response = client.get(f"/api/v1/products?{query}", **bearer(token))
    assert (
        response.status_code,
        response.json()["error"]["code"],
        list(response.json()["error"]["fields"]),
    ) == (422, "invalid", [field])


def test_products_are_paginated(client, token, shelf):
    body = client.get("/api/v1/products?page_size=1&page=2", **bearer(token)).json()
    assert (body["count"], [row["code"] for row in body["results"]], body["next"]) == (
        2,
        ["HOME-1"],
        None,
    )


def test_products_query_count_is_flat(client, token, shelf, django_assert_max_num_queries):
    for index in range(30):
        SkuFactory(product=shelf["sku"].product)
    with django_assert_max_num_queries(6):
        body = client.get("/api/v1/products?page_size=100", **bearer(token)).json()
    assert body["count"] == 32


def test_a_token_without_the_scope_is_403(client, shelf):
    api = services.create_api_client(name="other")
    _token, raw = services.issue_token(client=api, scopes=["orders"])
    response = client.get("/api/v1/products", **bearer(raw))
    assert (response.status_code, response.json()["error"]["code"]) == (
        403,
        "forbidden",
    )


@pytest.fixture
def held(db):
    return entitlements.grant(customer=CustomerFactory(), name="课时", quantity=5)


def _consume(client, token, pk, body, **headers):
    return client.post(
        f"/api/v1/entitlements/{pk}/consume",
        json.dumps(body),
        content_type="application/json",
        **bearer(token),
        **headers,
    )


def test_consume_answers_the_balance_left(client, token, held):
    response = _consume(client, token, held.pk, {"quantity": 2, "reference": "pos-1"})
    assert (response.status_code, response.json()) == (
        200,
        {"entitlement": held.pk, "quantity": 2, "reference": "pos-1", "balance": 3},
    )


def test_consume_again_with_the_same_reference_takes_nothing(client, token, held):
    _consume(client, token, held.pk, {"quantity": 2, "reference": "pos-1"})
    response = _consume(client, token, held.pk, {"quantity": 2, "reference": "pos-1"})
    held.refresh_from_db()
    assert (
        response.status_code,
        response.json()["balance"],
        held.balance,
        EntitlementUse.objects.count(),
    ) == (200, 3, 3, 1)


def test_consume_honours_the_idempotency_key(client, token, held):
    first = _consume(
        client,
        token,
        held.pk,
        {"quantity": 1, "reference": "a"},
        HTTP_IDEMPOTENCY_KEY="k1",
    )
    again = _consume(
        client,
        token,
        held.pk,
        {"quantity": 1, "reference": "a"},
        HTTP_IDEMPOTENCY_KEY="k1",
    )
    other = _consume(
        client,
        token,
        held.pk,
        {"quantity": 2, "reference": "b"},
        HTTP_IDEMPOTENCY_KEY="k1",
    )
    assert (first.json(), again.json(), again["Idempotent-Replayed"]) == (
        {"entitlement": held.pk, "quantity": 1, "reference": "a", "balance": 4},
        {"entitlement": held.pk, "quantity": 1, "reference": "a", "balance": 4},
        "true",
    )
    assert (other.status_code, other.json()["error"]["code"]) == (
        409,
        "idempotency_conflict",
    )


def test_consume_more_than_the_balance_is_409(client, token, held):
    response = _consume(client, token, held.pk, {"quantity": 6, "reference": "x"})
    assert (response.status_code, response.json()["error"]["code"]) == (
        409,
        "insufficient_balance",
    )


def test_consume_an_expired_entitlement_is_409(client, token, held):
    type(held).objects.filter(pk=held.pk).update(expires_on=datetime.date(2020, 1, 1))
    response = _consume(client, token, held.pk, {"quantity": 1, "reference": "x"})
    assert (response.status_code, response.json()["error"]["code"]) == (409, "expired")


@pytest.mark.parametrize(
    "body,field",
    [
        ({"quantity": 0, "reference": "x"}, "quantity"),
        ({"quantity": "two", "reference": "x"}, "quantity"),
        ({"quantity": 1}, "reference"),
    ],
)
def test_consume_a_bad_body_is_422_naming_the_field(client, token, held, body, field):
    response = _consume(client, token, held.pk, body)
    assert (response.status_code, list(response.json()["error"]["fields"])) == (
        422,
        [field],
    )


def test_consume_an_unknown_entitlement_is_404(client, token, db):
    response = _consume(client, token, 999999, {"quantity": 1, "reference": "x"})
    assert (response.status_code, response.json()["error"]["code"]) == (
        404,
        "not_found",
    )


def test_the_schema_documents_both_endpoints(client, db):
    from django.contrib.auth import get_user_model

    admin = get_user_model().objects.create_superuser("root", "root@example.com", "x")
    client.force_login(admin)
    schema = client.get("/api/schema/?format=json").json()
    consume = schema["paths"]["/api/v1/entitlements/{id}/consume"]["post"]
    assert sorted(consume["responses"]) == [
        "200",
        "400",
        "401",
        "403",
        "404",
        "409",
        "415",
        "422",
        "429",
    ]
    assert "/api/v1/products" in schema["paths"]
