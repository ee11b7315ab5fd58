"""Check-in evidence: the signed bundle of each clock-in and visit, what breaks it, offline drafts
(stored unverified with the phone's time, refused with a forged page token) and the check-in radius
learned from a customer's first verified visit."""

import datetime
import json
from decimal import Decimal

import time_machine
from django.utils import timezone

from customers.tests.factories import CustomerFactory
from field import evidence
from field.models import CheckInRadius, ClockIn, Visit
from field.services.clock import clock
from field.services.visits import check_in, check_out

from .conftest import CUSTOMER_AT, OFFICE

PHONE_UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Mobile/15E148"


def _draft_post(client, url, data, *, user, client_time, token=None):
    data = {**data, "client_time": client_time.isoformat(), "evidence_token": token or evidence.issue_token(user)}
    return client.post(url, data, HTTP_X_FIELD_DRAFT="1", HTTP_USER_AGENT=PHONE_UA)


def test_an_online_clock_in_carries_a_signed_bundle_and_is_verified(client, org, office):
    client.force_login(org.rep1)
    page = client.get("/field/clock/").content.decode()
    token = page.split('name="evidence_token" value="')[1].split('"')[0]
    assert evidence.token_issued_at(token, org.rep1) is not None
    client.post(
        "/field/clock/submit/",
        {
            "kind": "start",
            "consent": "on",
            "latitude": str(OFFICE[0]),
            "longitude": str(OFFICE[1]),
            "accuracy": "15",
            "signals": json.dumps({"position_age_s": 2, "mocked": False, "extra": "dropped"}),
            "evidence_token": token,
        },
        HTTP_USER_AGENT=PHONE_UA,
    )
    record = ClockIn.objects.get(user=org.rep1)
    bundle = record.evidence
    assert (bundle["latitude"], bundle["longitude"], bundle["accuracy_m"]) == ("31.170200", "121.397800", 15)
    assert bundle["signals"] == {"position_age_s": 2} and bundle["device"] == PHONE_UA
    assert bundle["offline"] is False and bundle["client_at"] is None and bundle["server_at"]
    assert record.evidence_signature == evidence.sign(bundle)
    assert record.evidence_check == ("verified", [])
    assert 'data-evidence="verified"' in client.get("/field/clock/").content.decode()


def test_a_changed_bundle_or_a_changed_column_shows_as_altered(org, office, customer, client):
    record = clock(user=org.rep1, kind="start", latitude=OFFICE[0], longitude=OFFICE[1], accuracy=15)
    assert record.evidence_status == "verified"
    moved = {**record.evidence, "latitude": "31.000000"}
    ClockIn.objects.filter(pk=record.pk).update(evidence=moved)  # the bundle edited in the database
    assert ClockIn.objects.get(pk=record.pk).evidence_check == ("altered", ["signature"])
    visit = check_in(user=org.rep1, customer=customer, latitude=CUSTOMER_AT[0], longitude=CUSTOMER_AT[1], accuracy=10)
    Visit.objects.filter(pk=visit.pk).update(latitude=Decimal("31.000000"))  # the column moved, the bundle not
    assert Visit.objects.get(pk=visit.pk).evidence_check == ("altered", ["latitude"])
    with_other_key = Visit.objects.get(pk=visit.pk)
    with_other_key.latitude = CUSTOMER_AT[0]
    assert with_other_key.evidence_status == "verified"
    from django.test import override_settings

    with override_settings(FIELD_EVIDENCE_KEY="another-key"):
        assert Visit.objects.get(pk=visit.pk).evidence_check[1] == ["signature"]
    client.force_login(org.manager1)
    page = client.get("/field/visits/team/").content.decode()
    assert 'data-evidence="altered"' in page and "证据不符" in page


def test_signals_and_a_missing_position_leave_an_entry_unverified(org, office, customer):
    coarse = clock(user=org.rep1, kind="start", latitude=OFFICE[0], longitude=OFFICE[1], accuracy=800)
    assert coarse.evidence_check == ("unverified", ["low_accuracy"])
    nowhere = clock(user=org.rep2, kind="start")
    assert nowhere.evidence_check == ("unverified", ["no_position"])
    mocked = check_in(
        user=org.rep1,
        customer=customer,
        latitude=CUSTOMER_AT[0],
        longitude=CUSTOMER_AT[1],
        accuracy=10,
        signals=evidence.parse_signals('{"mocked": true, "position_age_s": 600}'),
    )
    assert mocked.evidence_check == ("unverified", ["mocked", "stale"])


@time_machine.travel(datetime.datetime(2026, 3, 10, 9, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=8))))
def test_an_offline_clock_in_is_stored_unverified_with_the_phones_time(client, org, office):
    # at 09:00 the phone's clock-in half an hour ago is today's, whenever the suite runs
    client.force_login(org.rep1)
    token = evidence.issue_token(org.rep1, now=timezone.now() - datetime.timedelta(minutes=40))
    made = timezone.now() - datetime.timedelta(minutes=30)
    response = _draft_post(
        client,
        "/field/clock/submit/",
        {"kind": "start", "consent": "on", "latitude": str(OFFICE[0]), "longitude": str(OFFICE[1]), "accuracy": "12"},
        user=org.rep1,
        client_time=made,
        token=token,
    )
    assert response.status_code == 200 and response.json()["ok"] is True
    record = ClockIn.objects.get(user=org.rep1)
    assert record.at == record.client_at == made.replace(microsecond=made.microsecond)
    assert record.evidence["offline"] is True and record.evidence["client_at"] == made.isoformat()
    assert record.evidence_check == ("unverified", ["offline"])
    page = client.get("/field/clock/").content.decode()
    assert 'data-evidence="unverified"' in page and "待校验" in page and 'data-evidence="verified"' not in page


def test_an_offline_draft_with_a_forged_token_or_an_impossible_time_is_refused(client, org, office):
    client.force_login(org.rep1)
    data = {"kind": "start", "consent": "on", "latitude": str(OFFICE[0]), "longitude": str(OFFICE[1])}
    now = timezone.now()
    forged = evidence.issue_token(org.rep1)[:-4] + "0000"
    for token, made in (
        (forged, now - datetime.timedelta(minutes=5)),  # a signature that does not check out
        (evidence.issue_token(org.rep2), now - datetime.timedelta(minutes=5)),  # another user's page
        (evidence.issue_token(org.rep1), now - datetime.timedelta(hours=2)),  # before the page was served
        (evidence.issue_token(org.rep1), now + datetime.timedelta(hours=1)),  # in the future
    ):
        response = _draft_post(client, "/field/clock/submit/", data, user=org.rep1, client_time=made, token=token)
        assert response.status_code == 400 and response.json()["errors"]
    assert ClockIn.objects.count() == 0
    # an online form whose token is forged is refused too
    client.post("/field/clock/submit/", {**data, "evidence_token": forged})
    assert ClockIn.objects.count() == 0


def test_an_offline_visit_is_unverified_and_teaches_no_radius(client, org, customer):
    client.force_login(org.rep1)
    made = timezone.now() - datetime.timedelta(minutes=3)
    response = _draft_post(
        client,
        f"/field/visits/new/?customer={customer.pk}",
        {"consent": "on", "latitude": str(CUSTOMER_AT[0]), "longitude": str(CUSTOMER_AT[1]), "accuracy": "20"},
        user=org.rep1,
        client_time=made - datetime.timedelta(seconds=0),
        token=evidence.issue_token(org.rep1, now=made - datetime.timedelta(minutes=1)),
    )
    visit = Visit.objects.get()
    assert response.json() == {"ok": True, "url": f"/field/visits/{visit.pk}/"}
    assert visit.started_at == visit.client_at and visit.evidence_status == "unverified"
    assert not CheckInRadius.objects.filter(customer=customer).exists()


def test_the_first_verified_visit_teaches_the_customers_radius(org, customer, settings):
    settings.FIELD_VISIT_RADIUS_M = 500
    near = CUSTOMER_AT[0] + Decimal("0.0054")  # about 600 m north: outside the default radius...
    first = check_in(user=org.rep1, customer=customer, latitude=near, longitude=CUSTOMER_AT[1], accuracy=25)
    learned = CheckInRadius.objects.get(customer=customer)
    # ...but the first verified visit says where the customer really receives visitors
    assert (first.distance_m, learned.radius_m, learned.learned_from, first.is_outside) == (600, 650, first, False)
    check_out(visit=first, user=org.rep1)
    far = check_in(
        user=org.rep1,
        customer=customer,
        latitude=CUSTOMER_AT[0] + Decimal("0.009"),
        longitude=CUSTOMER_AT[1],
        accuracy=10,
    )
    assert far.distance_m == 1001 and far.is_outside is True
    assert CheckInRadius.objects.get(customer=customer).radius_m == 650  # learned once


def test_a_coarse_first_visit_teaches_nothing(org):
    shop = CustomerFactory(owner=org.rep1, latitude=CUSTOMER_AT[0], longitude=CUSTOMER_AT[1])
    check_in(user=org.rep1, customer=shop, latitude=CUSTOMER_AT[0], longitude=CUSTOMER_AT[1], accuracy=400)
    assert not CheckInRadius.objects.filter(customer=shop).exists()
