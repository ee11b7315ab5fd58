"""A service's DomainError: the API answers it in the contract's shape, a page shows it beside the field."""

import json
import re

import pytest
from django.test import RequestFactory
from rest_framework.views import APIView

from coupons.tests.factories import make_batch
from crm import services as crm_services
from crm.api.errors import exception_handler
from crm.errors import Conflict, DomainError, Invalid, NotFound
from crm.tests.factories import OrgFixture
from customers.models import Order
from customers.tests.factories import CustomerFactory


@pytest.fixture
def org(db):
    return OrgFixture()


@pytest.fixture
def api(db):
    client = crm_services.create_api_client(name="shop")
    _, raw = crm_services.issue_token(client=client, scopes=["coupons", "orders"])
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def _handled(exc):
    request = RequestFactory().post("/api/v1/x")
    return exception_handler(exc, {"view": APIView(), "request": request})


def test_a_conflict_is_409_with_its_code_and_message():
    response = _handled(Conflict("sold_out", "This batch has no coupons left."))
    assert response.status_code == 409
    assert response.data == {"error": {"code": "sold_out", "message": "This batch has no coupons left."}}


def test_a_domain_error_with_fields_carries_them():
    response = _handled(DomainError("not_owner", "Not yours.", fields={"coupon_code": "Not yours."}))
    assert response.status_code == 409
    assert response.data == {
        "error": {"code": "not_owner", "message": "Not yours.", "fields": {"coupon_code": ["Not yours."]}}
    }


def test_not_found_is_404_and_invalid_is_422():
    missing = _handled(NotFound("No customer with this id or mobile."))
    assert missing.status_code == 404
    assert missing.data == {"error": {"code": "not_found", "message": "No customer with this id or mobile."}}
    invalid = _handled(Invalid(fields={"customer": ["No customer with this id."]}))
    assert invalid.status_code == 422
    assert invalid.data == {
        "error": {
            "code": "invalid",
            "message": "Some fields are not valid.",
            "fields": {"customer": ["No customer with this id."]},
        }
    }


def test_the_redeem_api_answers_an_unknown_customer_in_the_contracts_shape(client, api):
    body = {
        "code": "ABCDEFGHJK",
        "order": {"external_id": "O-1", "amount": "10.00"},
        "customer": {"mobile": "13800009999"},
    }
    response = client.post("/api/v1/coupons/redeem", json.dumps(body), content_type="application/json", **api)
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "No customer with this id or mobile."}}


def test_the_orders_api_answers_an_unknown_customer_id_on_the_customer_field(client, api):
    body = {"external_id": "O-1", "customer": {"id": 987654}, "amount": "10.00"}
    response = client.post("/api/v1/orders", json.dumps(body), content_type="application/json", **api)
    assert response.status_code == 422
    assert response.json() == {
        "error": {
            "code": "invalid",
            "message": "Some fields are not valid.",
            "fields": {"customer": ["No customer with this id."]},
        }
    }
    assert Order.objects.count() == 0


def test_the_orders_api_answers_a_refused_coupon_with_its_code(client, org, api):
    from coupons import services as coupon_services

    holder = CustomerFactory(mobile="13800003333")
    coupon = coupon_services.claim(batch_code=make_batch(org).code, customer=holder, channel="app")
    body = {"external_id": "O-1", "customer": {"mobile": "13800004444"}, "amount": "300.00", "coupon_code": coupon.code}
    response = client.post("/api/v1/orders", json.dumps(body), content_type="application/json", **api)
    assert response.status_code == 409
    assert response.json() == {"error": {"code": "not_owner", "message": "This coupon belongs to another customer."}}
    assert Order.objects.count() == 0


def _order_form(client, customer, coupon_code):
    return client.post(
        f"/customers/{customer.pk}/orders/new/",
        {
            "amount": "300.00",
            "channel": "sales",
            "coupon_code": coupon_code,
            "lines-TOTAL_FORMS": "0",
            "lines-INITIAL_FORMS": "0",
        },
    )


def _coupon_field(html):
    """The coupon code's input, and the page from it up to the next field."""
    match = re.search(r'<input[^>]*name="coupon_code"[^>]*>', html)
    rest = html[match.end() :]
    return match.group(0), rest[: rest.find("<input")]


def test_the_order_form_shows_a_refused_coupon_beside_the_coupon_field(client, org, settings):
    from coupons import services as coupon_services

    customer = CustomerFactory(owner=org.rep1, mobile="13800004444")
    holder = CustomerFactory(mobile="13800003333")
    coupon = coupon_services.claim(batch_code=make_batch(org).code, customer=holder, channel="app")
    client.force_login(org.rep1)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = _order_form(client, customer, coupon.code)
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors == {"coupon_code": ["This coupon belongs to another customer."]}
    field, after = _coupon_field(response.content.decode())
    assert "is-invalid" in field
    assert (
        '<div class="invalid-feedback d-block" id="id_coupon_code_error"><div>This coupon belongs to another customer.'
        in after
    )
    assert Order.objects.count() == 0


def test_the_order_form_shows_the_refusal_in_chinese(client, org):
    customer = CustomerFactory(owner=org.rep1)
    client.force_login(org.rep1)
    response = _order_form(client, customer, "ABCDEFGHJK")
    assert response.status_code == 200
    assert response.context["form"].errors == {"coupon_code": ["没有这个券码的优惠券。"]}
    field, after = _coupon_field(response.content.decode())
    assert "is-invalid" in field
    assert "没有这个券码的优惠券。" in after
