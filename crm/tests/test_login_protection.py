"""Login brute-force protection: five wrong passwords lock the username on that address for a while;
the right password is then refused too, and the lock lifts after the cool-off time."""
import datetime

import pytest
import time_machine
from django.urls import reverse

from crm.demo import DEMO_PASSWORD


@pytest.fixture
def rep(org):
    org.rep1.set_password(DEMO_PASSWORD)
    org.rep1.save()
    return org.rep1


def attempt(client, username, password):
    return client.post(reverse("login"), {"username": username, "password": password})


def test_five_wrong_passwords_lock_the_account_for_a_while(client, rep):
    start = datetime.datetime(2026, 11, 24, 10, 0, tzinfo=datetime.timezone.utc)
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


def test_a_success_resets_the_count_and_other_users_are_not_locked(client, rep, org):
    for _ in range(3):
        attempt(client, "rep1", "wrong")
    assert attempt(client, "rep1", DEMO_PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        assert attempt(client, "rep1", "wrong").status_code == 200  # counting starts again
    org.rep2.set_password(DEMO_PASSWORD)
    org.rep2.save()
    assert attempt(client, "rep2", DEMO_PASSWORD).status_code == 302
