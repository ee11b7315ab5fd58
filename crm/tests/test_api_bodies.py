"""Hostile API bodies (issue 14, item 7): malformed JSON, JSON nested thousands deep (5,000 ``[``
was a 500), NaN, and oversized bodies get the contract's error shape — 400 ``malformed`` or 413
``too_large`` — for every write endpoint, and nothing is written."""

import json

import pytest

from crm import services
from crm.models import ApiScope
from customers.models import Customer, Order
from sales.models import Lead

WRITES = ["/api/v1/leads", "/api/v1/orders", "/api/v1/coupons/claim", "/api/v1/coupons/redeem"]


@pytest.fixture
def auth(org):
    client = services.create_api_client(name="shop", department=org.company)
    raw = services.issue_token(client=client, scopes=list(ApiScope.values))[1]
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def written():
    return Lead.objects.count(), Order.objects.count(), Customer.objects.count()


def post(client, url, body, auth):
    return client.post(url, data=body, content_type="application/json", **auth)


@pytest.mark.parametrize("url", WRITES)
@pytest.mark.parametrize(
    "body,message",
    [
        ("[" * 5000, "the body nests deeper than 20 levels"),
        ('{"name": ' + "[" * 900 + "]" * 900 + "}", "the body nests deeper than 20 levels"),
        (
            json.dumps({"name": "x", "tags": [[[[[[[[[[[[[[[[[[[[["deep"]]]]]]]]]]]]]]]]]]]]]}),
            "the body nests deeper than 20 levels",
        ),
        ('{"name": "x", "mobile": ', "JSON parse error"),
        ('{"amount": NaN}', "NaN is not valid JSON"),
        ("\xff\xfe{}", "JSON parse error"),
    ],
)
def test_malformed_or_too_deep_json_is_400(client, auth, url, body, message):
    before = written()
    response = post(client, url, body.encode("latin-1") if body.startswith("\xff") else body, auth)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "malformed" and message in error["message"]
    assert written() == before


@pytest.mark.parametrize("url", WRITES)
def test_an_oversized_body_is_413(client, auth, settings, url):
    settings.API_MAX_BODY_BYTES = 10_000
    before = written()
    response = post(client, url, json.dumps({"name": "x", "note": "y" * 20_000}), auth)
    assert response.status_code == 413
    assert response.json()["error"] == {"code": "too_large", "message": "The request body is larger than 10000 bytes."}
    assert written() == before


def test_an_ordinary_body_within_the_limits_is_accepted(client, auth):
    response = post(
        client, "/api/v1/leads", json.dumps({"name": "张伟", "mobile": "13800138001", "source": "website"}), auth
    )
    assert response.status_code == 201
    assert Lead.objects.get().name == "张伟"
