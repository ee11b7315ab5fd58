"""``GET /api/v1/members/{id}``, ``POST /api/v1/points/earn`` and ``/spend`` (scope ``members``)."""

import json
from decimal import Decimal

import pytest

from crm import services
from customers.tests.factories import CustomerFactory
from members.models import Member, PointsEntry, Tier
from members.services import points


def bearer(raw):
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.fixture
def token(db):
    Tier.objects.create(name="普通", position=0)
    Tier.objects.create(name="银卡", position=1, min_spend=Decimal(5000), min_points=1000)
    client = services.create_api_client(name="mini-program")
    _token, raw = services.issue_token(client=client, scopes=["members"])
    return raw


@pytest.fixture
def customer(db):
    return CustomerFactory(name="周杰", mobile="13800138000")


def _post(client, token, path, body, **headers):
    return client.post(path, json.dumps(body), content_type="application/json", **bearer(token), **headers)


def test_earn_then_spend_answers_the_balance_and_tier(client, token, customer):
    earned = _post(
        client,
        token,
        "/api/v1/points/earn",
        {"customer": {"mobile": "13800138000"}, "points": 1200, "reference": "act-1", "reason": "活动"},
    )
    spent = _post(
        client,
        token,
        "/api/v1/points/spend",
        {"customer": {"id": customer.pk}, "points": 200, "reference": "pos-1", "reason": "兑换"},
    )
    assert (earned.status_code, earned.json()["points"], earned.json()["balance"]) == (200, 1200, 1200)
    assert (spent.status_code, spent.json()["points"], spent.json()["balance"], spent.json()["expires_on"]) == (
        200,
        -200,
        1000,
        None,
    )


def test_a_spend_retried_with_the_same_reference_takes_once(client, token, customer):
    body = {"customer": {"id": customer.pk}, "points": 300, "reference": "pos-9", "reason": "兑换"}
    _post(client, token, "/api/v1/points/earn", {**body, "points": 500, "reference": "e"})
    first = _post(client, token, "/api/v1/points/spend", body)
    again = _post(client, token, "/api/v1/points/spend", body)
    assert (first.json()["balance"], again.json()["entry"] == first.json()["entry"]) == (200, True)
    assert PointsEntry.objects.filter(kind="spend").count() == 1


def test_the_idempotency_key_replays_and_refuses_another_body(client, token, customer):
    body = {"customer": {"id": customer.pk}, "points": 50, "reference": "e1", "reason": "签到"}
    first = _post(client, token, "/api/v1/points/earn", body, HTTP_IDEMPOTENCY_KEY="k1")
    again = _post(client, token, "/api/v1/points/earn", body, HTTP_IDEMPOTENCY_KEY="k1")
    other = _post(client, token, "/api/v1/points/earn", {**body, "points": 60}, HTTP_IDEMPOTENCY_KEY="k1")
    assert (first.json(), again["Idempotent-Replayed"]) == (again.json(), "true")
    assert (other.status_code, other.json()["error"]["code"]) == (409, "idempotency_conflict")


def test_spending_more_than_held_is_409_and_changes_nothing(client, token, customer):
    points.earn(member=points.member_for(customer), points=10, reason="签到", reference="e")
    response = _post(
        client,
        token,
        "/api/v1/points/spend",
        {"customer": {"id": customer.pk}, "points": 11, "reference": "s", "reason": "兑换"},
    )
    assert (response.status_code, response.json()["error"]["code"], Member.objects.get(customer=customer).points) == (
        409,
        "insufficient_points",
        10,
    )


def test_the_member_answers_tier_points_and_what_expires(client, token, customer):
    member = points.member_for(customer)
    points.earn(member=member, points=1200, reason="活动", reference="e")
    points.recompute_tier(member)
    response = client.get(f"/api/v1/members/{member.pk}", **bearer(token))
    data = response.json()
    assert (response.status_code, data["tier"], data["points"], data["next_tier"], data["points_to_next"]) == (
        200,
        "银卡",
        1200,
        None,
        None,
    )
    assert [row["points"] for row in data["expiring"]] == [1200]


def test_an_unknown_member_is_404_and_a_token_without_the_scope_403(client, token, customer):
    other = services.create_api_client(name="shop")
    _t, raw = services.issue_token(client=other, scopes=["orders"])
    missing = client.get("/api/v1/members/999999", **bearer(token))
    refused = client.get("/api/v1/members/1", **bearer(raw))
    assert (missing.status_code, refused.status_code) == (404, 403)


def test_the_schema_documents_the_member_endpoints(admin_client):
    schema = admin_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").content.decode()
    assert ("/api/v1/points/spend" in schema, "insufficient_points" in schema) == (True, True)
