"""Login brute-force protection: five wrong passwords lock the (username, address) pair for a while;
the right password is then refused too from that address, and the lock lifts after the cool-off time.
The address is the client's: X-Forwarded-For counts only from a trusted proxy, so one attacker cannot
lock a user out everywhere; an address guessing across many accounts is refused altogether."""

import datetime

import pytest
import time_machine
from django.urls import reverse

from crm.demo import DEMO_PASSWORD

PROXY = "10.0.0.2"
ATTACKER = "198.51.100.7"
VICTIM = "203.0.113.5"


@pytest.fixture
def rep(org):
    org.rep1.set_password(DEMO_PASSWORD)
    org.rep1.save()
    return org.rep1


@pytest.fixture
def behind_proxy(settings):
    settings.TRUSTED_PROXIES = [PROXY]


def attempt(client, username, password, **extra):
    return client.post(reverse("login"), {"username": username, "password": password}, **extra)


def via_proxy(client, username, password, address):
    return attempt(client, username, password, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=address)


def signed_in(client, user):
    return client.session.get("_auth_user_id") == str(user.pk)


def test_five_wrong_passwords_lock_the_account_for_a_while(client, rep):
    start = datetime.datetime(2026, 11, 24, 10, 0, tzinfo=datetime.UTC)
    with time_machine.travel(start, tick=False):
        for _ in range(4):
            assert attempt(client, "rep1", "wrong").status_code == 200
        locked = attempt(client, "rep1", "wrong")
        assert locked.status_code == 429 and 'data-testid="locked-out"' in locked.content.decode()
        refused = attempt(client, "rep1", DEMO_PASSWORD)
        assert refused.status_code == 429
        assert "_auth_user_id" not in client.session
    with time_machine.travel(start + datetime.timedelta(minutes=16), tick=False):
        response = attempt(client, "rep1", DEMO_PASSWORD)
        assert response.status_code == 302 and client.session["_auth_user_id"] == str(rep.pk)


def test_a_success_resets_the_count(client, rep):
    for _ in range(3):
        assert attempt(client, "rep1", "wrong").status_code == 200
    assert attempt(client, "rep1", DEMO_PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        assert attempt(client, "rep1", "wrong").status_code == 200  # counting started again at 0
    assert attempt(client, "rep1", "wrong").status_code == 429  # the fifth since the success


def test_a_locked_user_does_not_lock_another_user_on_the_same_address(client, rep, org):
    for _ in range(5):
        attempt(client, "rep1", "wrong")
    assert attempt(client, "rep1", DEMO_PASSWORD).status_code == 429
    org.rep2.set_password(DEMO_PASSWORD)
    org.rep2.save()
    response = attempt(client, "rep2", DEMO_PASSWORD)
    assert response.status_code == 302 and signed_in(client, org.rep2)


def test_an_attacker_behind_the_proxy_cannot_lock_the_admin_out_of_every_address(client, behind_proxy, org):
    """The attack of issue 14: five wrong passwords for admin, sent through the reverse proxy that
    every user shares. The pair (admin, attacker's address) is locked; the admin, whose requests
    reach the same proxy from another address, still signs in."""
    org.admin.set_password(DEMO_PASSWORD)
    org.admin.save()
    for _ in range(5):
        via_proxy(client, org.admin.username, "wrong", ATTACKER)
    assert via_proxy(client, org.admin.username, DEMO_PASSWORD, ATTACKER).status_code == 429
    response = via_proxy(client, org.admin.username, DEMO_PASSWORD, VICTIM)
    assert response.status_code == 302 and signed_in(client, org.admin)


def test_a_forwarded_address_from_an_untrusted_client_is_ignored(client, behind_proxy, rep):
    """A client that talks to the server directly cannot pick its address by sending the header:
    five failures with five made-up forwarded addresses lock its own address."""
    for n in range(5):
        attempt(client, "rep1", "wrong", REMOTE_ADDR=ATTACKER, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
    assert (
        attempt(client, "rep1", DEMO_PASSWORD, REMOTE_ADDR=ATTACKER, HTTP_X_FORWARDED_FOR="192.0.2.99").status_code
        == 429
    )
    assert attempt(client, "rep1", DEMO_PASSWORD, REMOTE_ADDR=VICTIM).status_code == 302


def test_a_client_cannot_hide_behind_a_forwarded_address_written_before_the_proxys(client, behind_proxy, rep):
    """The proxy appends the real address; what the client wrote to the left of it is ignored."""
    for n in range(5):
        via_proxy(client, "rep1", "wrong", f"192.0.2.{n}, {ATTACKER}")
    assert via_proxy(client, "rep1", DEMO_PASSWORD, ATTACKER).status_code == 429


def test_an_address_guessing_across_many_accounts_is_refused_but_others_sign_in(client, settings, behind_proxy, rep):
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 8
    for n in range(8):  # never five for the same username
        assert via_proxy(client, f"nobody{n % 4}", "wrong", ATTACKER).status_code == 200
    refused = via_proxy(client, "rep1", DEMO_PASSWORD, ATTACKER)
    assert refused.status_code == 429 and 'data-testid="address-locked"' in refused.content.decode()
    assert not signed_in(client, rep)
    response = via_proxy(client, "rep1", DEMO_PASSWORD, VICTIM)
    assert response.status_code == 302 and signed_in(client, rep)


def test_the_audit_log_records_the_clients_real_address_not_a_forwarded_one(client, behind_proxy, org):
    """django-auditlog reads X-Forwarded-For from anyone: a client could write any address into the
    audit log. The address is resolved once, before it, like the lockout's."""
    from auditlog.models import LogEntry

    client.force_login(org.rep1)
    client.post(
        "/customers/new/",
        {"name": "直连客户", "kind": "individual", "source": "other"},
        REMOTE_ADDR=ATTACKER,
        HTTP_X_FORWARDED_FOR="192.0.2.1",
    )
    client.post(
        "/customers/new/",
        {"name": "代理客户", "kind": "individual", "source": "other"},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=f"192.0.2.1, {VICTIM}",
    )
    addresses = dict(
        LogEntry.objects.filter(object_repr__in=["直连客户", "代理客户"], action=0).values_list(
            "object_repr", "remote_addr"
        )
    )
    assert addresses == {"直连客户": ATTACKER, "代理客户": VICTIM}
