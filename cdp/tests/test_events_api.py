"""``POST /api/v1/events``: batches, idempotency by event id, a reason for every refused event."""

import datetime
import json

import pytest
from django.utils import timezone

from cdp.models import Event, Identity, IdentityKind
from cdp.services import events
from crm import services
from crm.tests.parallel import run_parallel
from customers.tests.factories import CustomerFactory


def bearer(raw):
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.fixture
def api_client(db):
    return services.create_api_client(name="app")


@pytest.fixture
def token(api_client):
    _token, raw = services.issue_token(client=api_client, scopes=["events"])
    return raw


def post(client, token, body):
    return client.post("/api/v1/events", data=json.dumps(body), content_type="application/json", **bearer(token))


def event(event_id, customer, kind="live_watch", at=None, **extra):
    at = at or timezone.now() - datetime.timedelta(hours=1)
    return {"id": event_id, "type": kind, "at": at.isoformat(), "customer": customer, **extra}


def test_a_batch_is_stored_and_the_same_event_id_again_adds_no_row(client, token):
    customer = CustomerFactory(mobile="13800138000")
    body = [event("e1", {"id": customer.pk}), event("e2", {"mobile": "138 0013 8000"}, kind="page_view")]
    first = post(client, token, body)
    again = post(client, token, body)
    assert (first.status_code, first.json(), again.json(), Event.objects.filter(customer=customer).count()) == (
        200,
        {"accepted": 2, "duplicates": 0, "refused": []},
        {"accepted": 2, "duplicates": 2, "refused": []},
        2,
    )


def test_each_refused_event_is_answered_with_its_reason(client, token):
    customer = CustomerFactory()
    now = timezone.now()
    body = [
        event("ok", {"id": customer.pk}),
        event("bad-type", {"id": customer.pk}, kind="purchase"),
        event("nobody", {"id": 999_999}),
        event("ahead", {"id": customer.pk}, at=now + datetime.timedelta(days=2)),
        event("old", {"id": customer.pk}, at=now - datetime.timedelta(days=800)),
        event("custom", {"id": customer.pk}, kind="custom"),
        {"type": "click", "at": now.isoformat(), "customer": {"id": customer.pk}},
        event("who", {"name": "张三"}),
    ]
    response = post(client, token, body)
    refused = [(r["index"], r["id"], r["code"]) for r in response.json()["refused"]]
    assert (response.status_code, response.json()["accepted"], refused) == (
        200,
        1,
        [
            (1, "bad-type", "invalid_type"),
            (2, "nobody", "unknown_customer"),
            (3, "ahead", "in_future"),
            (4, "old", "too_old"),
            (5, "custom", "invalid_name"),
            (6, None, "invalid_id"),
            (7, "who", "invalid_customer"),
        ],
    )
    assert Event.objects.count() == 1


def test_a_batch_of_500_is_taken_and_501_is_refused_whole(client, token):
    customer = CustomerFactory()
    batch = [event(f"e{i}", {"id": customer.pk}, kind="click") for i in range(501)]
    too_many = post(client, token, batch)
    assert (too_many.status_code, too_many.json()["error"]["code"], Event.objects.count()) == (413, "too_large", 0)
    full = post(client, token, batch[:500])
    assert (full.status_code, full.json()["accepted"], Event.objects.count()) == (200, 500, 500)


def test_events_need_the_events_scope(client, api_client):
    _token, raw = services.issue_token(client=api_client, scopes=["leads"])
    assert post(client, raw, []).status_code == 403


def test_an_identity_names_the_customer_and_an_external_id_is_the_clients_own(client, token, api_client):
    customer = CustomerFactory()
    Identity.objects.create(customer=customer, kind=IdentityKind.EXTERNAL, issuer=str(api_client.pk), value="u-7")
    Identity.objects.create(customer=customer, kind=IdentityKind.EXTERNAL, issuer="999", value="u-8")
    body = [
        event("a", {"identity": {"kind": "external", "value": "u-7"}}),
        event("b", {"identity": {"kind": "external", "value": "u-8"}}),
    ]
    response = post(client, token, body)
    assert (response.json()["accepted"], [r["code"] for r in response.json()["refused"]]) == (1, ["unknown_customer"])


@pytest.mark.django_db(transaction=True)
def test_the_same_event_id_sent_in_parallel_is_stored_once(postgres):
    customer = CustomerFactory()
    client = services.create_api_client(name="parallel")
    batch = [event(f"p{i}", {"id": customer.pk}) for i in range(20)]

    def send():
        result = events.ingest(client_id=client.pk, events=batch)
        return (result.accepted, len(result.refused))

    results = run_parallel([send for _ in range(6)])
    assert (results, Event.objects.count()) == ([(20, 0)] * 6, 20)


def test_an_events_time_is_kept_as_one_instant_whatever_offset_the_client_sent(client, token):
    """The idempotency key keeps the event's instant as the database keeps times (SQLite: UTC text),
    so the nightly clean-up compares it like every other time: a key sent as 05:00-05:00 is 10:00
    UTC, after a 09:00 UTC cut-off, and stays (the same event sent again is a duplicate)."""
    from cdp.models import EventKey

    customer = CustomerFactory()
    sent = timezone.now().replace(microsecond=0) - datetime.timedelta(hours=3)
    minus_five = datetime.timezone(datetime.timedelta(hours=-5))
    body = [
        {
            "id": "late-night",
            "type": "page_view",
            "at": sent.astimezone(minus_five).isoformat(),
            "customer": {"id": customer.pk},
        }
    ]
    assert post(client, token, body).json() == {"accepted": 1, "duplicates": 0, "refused": []}
    key = EventKey.objects.get(key="late-night")
    assert key.at == sent
    assert not EventKey.objects.filter(at__lt=sent - datetime.timedelta(hours=1)).exists()
    assert EventKey.objects.filter(at__lt=sent + datetime.timedelta(hours=1)).count() == 1
    assert post(client, token, body).json() == {"accepted": 1, "duplicates": 1, "refused": []}
