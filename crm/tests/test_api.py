import json

import pytest
from django.core.management import call_command

from crm import services
from crm.models import ApiToken, IdempotencyRecord
from customers.tests.factories import CustomerFactory


@pytest.fixture
def api_client_token(db):
    client = services.create_api_client(name="shop")
    token, raw = services.issue_token(client=client, scopes=["customers:read"])
    return client, raw


def bearer(raw):
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_missing_token_is_401_with_error_shape(client, db):
    response = client.get("/api/v1/ping")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


def test_bad_token_is_401(client, db):
    response = client.get("/api/v1/ping", **bearer("crm_nonsense"))
    assert response.status_code == 401


def test_revoked_token_is_401(client, api_client_token):
    _, raw = api_client_token
    services.revoke_token(token=ApiToken.objects.get())
    assert client.get("/api/v1/ping", **bearer(raw)).status_code == 401


def test_scope_missing_is_403(client, db):
    api = services.create_api_client(name="pos")
    _, raw = services.issue_token(client=api, scopes=["orders"])
    response = client.get("/api/v1/customers/1", **bearer(raw))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_customer_by_id_and_by_mobile_with_masked_mobile(client, api_client_token):
    customer = CustomerFactory(name="王五", mobile="13912345678")
    _, raw = api_client_token
    body = client.get(f"/api/v1/customers/{customer.pk}", **bearer(raw)).json()
    assert body["name"] == "王五" and body["mobile"] == "139****5678"
    assert body["order_count"] == 0 and body["total"] == "0.00" and body["tags"] == []
    found = client.get("/api/v1/customers?mobile=+86 139 1234 5678", **bearer(raw)).json()
    assert [c["id"] for c in found] == [customer.pk]


def test_unknown_customer_is_404_with_error_shape(client, api_client_token):
    _, raw = api_client_token
    response = client.get("/api/v1/customers/999999", **bearer(raw))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_bad_mobile_is_422_naming_the_field(client, api_client_token):
    _, raw = api_client_token
    response = client.get("/api/v1/customers?mobile=123", **bearer(raw))
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid"
    assert "mobile" in response.json()["error"]["fields"]


def test_unknown_api_path_is_json_404(client, db):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_rate_limit_is_429(client, api_client_token, settings):
    from django.core.cache import cache
    from rest_framework.settings import api_settings

    from crm.api.auth import ClientRateThrottle

    cache.clear()
    _, raw = api_client_token
    original = ClientRateThrottle.THROTTLE_RATES
    ClientRateThrottle.THROTTLE_RATES = {"client": "3/min"}
    try:
        codes = [client.get("/api/v1/ping", **bearer(raw)).status_code for _ in range(5)]
    finally:
        ClientRateThrottle.THROTTLE_RATES = original
    assert codes[:3] == [200, 200, 200] and codes[3] == 429
    assert api_settings  # settings module loaded


def test_schema_and_docs_are_served(admin_client, db):
    schema = admin_client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/customers/{id}" in schema.content
    docs = admin_client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower()


def test_create_api_token_command_prints_token_last(db, capsys):
    call_command("create_api_token", "mini-program", "--scopes", "leads,orders,coupons,customers:read")
    raw = capsys.readouterr().out.strip().splitlines()[-1]
    token = ApiToken.objects.get()
    assert raw.startswith("crm_") and token.prefix == raw[:12]
    assert token.scopes == ["coupons", "customers:read", "leads", "orders"]


def test_create_api_token_command_rejects_unknown_scope(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("create_api_token", "x", "--scopes", "everything")


# --- Idempotency-Key, exercised through a small write view defined for the test

from django.urls import path  # noqa: E402
from rest_framework.response import Response  # noqa: E402
from rest_framework.views import APIView  # noqa: E402

from crm.api.base import idempotent  # noqa: E402
from customers.models import Customer  # noqa: E402


class _CreateCustomer(APIView):
    @idempotent
    def post(self, request):
        customer = Customer.objects.create(name=request.data["name"])
        return Response({"id": customer.pk}, status=201)


urlpatterns = [path("api/v1/test-create", _CreateCustomer.as_view())]


@pytest.mark.urls("crm.tests.test_api")
def test_same_idempotency_key_replays_the_first_response(client, api_client_token):
    _, raw = api_client_token
    headers = {**bearer(raw), "HTTP_IDEMPOTENCY_KEY": "k-1"}
    first = client.post("/api/v1/test-create", json.dumps({"name": "甲"}), content_type="application/json", **headers)
    again = client.post("/api/v1/test-create", json.dumps({"name": "甲"}), content_type="application/json", **headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert Customer.objects.filter(name="甲").count() == 1
    assert IdempotencyRecord.objects.count() == 1


@pytest.mark.urls("crm.tests.test_api")
def test_same_key_with_other_body_is_409(client, api_client_token):
    _, raw = api_client_token
    headers = {**bearer(raw), "HTTP_IDEMPOTENCY_KEY": "k-2"}
    client.post("/api/v1/test-create", json.dumps({"name": "乙"}), content_type="application/json", **headers)
    other = client.post("/api/v1/test-create", json.dumps({"name": "丙"}), content_type="application/json", **headers)
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_conflict"
    assert not Customer.objects.filter(name="丙").exists()


@pytest.mark.urls("crm.tests.test_api")
def test_malformed_json_is_400(client, api_client_token):
    _, raw = api_client_token
    response = client.post("/api/v1/test-create", "{not json", content_type="application/json", **bearer(raw))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed"


@pytest.mark.services
@pytest.mark.urls("crm.tests.test_api")
@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_idempotency_key_write_once(postgres):
    """Eight threads send the same key at once: one write, eight identical answers."""
    import threading

    from django.db import connection
    from django.test import Client

    api = services.create_api_client(name="concurrent")
    _, raw = services.issue_token(client=api, scopes=["customers:read"])
    results, barrier = [], threading.Barrier(8)

    def send():
        try:
            barrier.wait()
            response = Client().post(
                "/api/v1/test-create",
                json.dumps({"name": "并发"}),
                content_type="application/json",
                HTTP_IDEMPOTENCY_KEY="same",
                **bearer(raw),
            )
            results.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Customer.objects.filter(name="并发").count() == 1
    assert len(results) == 8 and all(r == results[0] for r in results) and results[0][0] == 201
