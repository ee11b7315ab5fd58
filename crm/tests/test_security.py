"""Sessions expire, passwords follow the rules, forms need their CSRF token, and production sends
secure cookies and HSTS (the rest of the deployment checks are in test_deploy.py)."""

import datetime
import json
import secrets

import time_machine
from django.conf import settings
from django.test import Client
from django.utils import timezone

from crm.tests.test_deploy import _manage


def test_a_session_ends_after_its_age(client, org):
    client.force_login(org.rep1)
    assert client.get("/customers/").status_code == 200
    later = timezone.now() + datetime.timedelta(seconds=settings.SESSION_COOKIE_AGE + 60)
    with time_machine.travel(later, tick=False):
        response = client.get("/customers/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_weak_passwords_are_refused_beside_the_field(client, org):
    org.rep1.set_password("Old-pass-2026!")
    org.rep1.save()
    client.force_login(org.rep1)
    for weak in ("12345678", "password", "short1!", "qwerty123"):
        response = client.post(
            "/password/",
            {"old_password": "Old-pass-2026!", "new_password1": weak, "new_password2": weak},
            HTTP_ACCEPT_LANGUAGE="en",
        )
        assert response.status_code == 200, weak
        assert response.context["form"].errors.get("new_password2"), weak
    org.rep1.refresh_from_db()
    assert org.rep1.check_password("Old-pass-2026!")


def test_forms_refuse_a_post_without_the_csrf_token(org):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(org.rep1)
    from customers.models import Customer

    assert (
        browser.post("/customers/new/", {"name": "无令牌", "kind": "individual", "source": "other"}).status_code == 403
    )
    assert not Customer.objects.filter(name="无令牌").exists()
    page = browser.get("/customers/new/")
    token = page.cookies[settings.CSRF_COOKIE_NAME].value
    response = browser.post(
        "/customers/new/", {"name": "有令牌", "kind": "individual", "source": "other", "csrfmiddlewaretoken": token}
    )
    created = Customer.objects.get(name="有令牌")
    assert response.status_code == 302 and response["Location"] == created.get_absolute_url()


def test_production_sends_secure_cookies_and_hsts():
    code = (
        "import json; from django.conf import settings as s; print(json.dumps({k: getattr(s, k) for k in "
        "['SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'SESSION_COOKIE_HTTPONLY', 'SECURE_HSTS_SECONDS', "
        "'SECURE_HSTS_INCLUDE_SUBDOMAINS', 'SECURE_SSL_REDIRECT', 'DEBUG']}))"
    )
    result = _manage(
        "shell",
        "-c",
        code,
        DJANGO_ENV="production",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="crm.example.com",
    )
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["SESSION_COOKIE_SECURE"] and values["CSRF_COOKIE_SECURE"] and values["SESSION_COOKIE_HTTPONLY"]
    assert values["SECURE_HSTS_SECONDS"] >= 31536000 and values["SECURE_HSTS_INCLUDE_SUBDOMAINS"]
    assert values["SECURE_SSL_REDIRECT"] and not values["DEBUG"]


def test_mark_read_goes_back_only_to_this_site(client, org):
    client.force_login(org.rep1)
    response = client.post("/notifications/read/", {"next": "https://evil.example/phish"})
    assert response.status_code == 302 and response["Location"] == "/notifications/"
    response = client.post("/notifications/read/", {"next": "/customers/"})
    assert response["Location"] == "/customers/"
