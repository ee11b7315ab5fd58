"""Speed on a phone (issue 16, item 7): every page a phone opens is at most 60 KB of HTML and loads
nothing beyond the shared static bundle of base.html (no page-specific script or style), on the
demo data, as rep1 and manager1 see them. The server time of the largest ones is measured by the
``phone.*`` scenarios of ``bench/field.py`` on the large set."""

import io
import re

import pytest

MAX_HTML_BYTES = 60 * 1024
IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) AppleWebKit/605.1.15 Mobile/15E148 wxwork/4.1.20"
#: the shared bundle: what base.html loads on every page
BUNDLE = {
    "/static/vendor/bootstrap/css/bootstrap.min.css",
    "/static/vendor/bootstrap-icons/bootstrap-icons.min.css",
    "/static/css/app.css",
    "/static/img/favicon.svg",
    "/static/manifest.webmanifest",
    "/static/img/icon-180.png",
    "/static/vendor/bootstrap/js/bootstrap.bundle.min.js",
    "/static/vendor/htmx/htmx.min.js",
    "/static/js/app.js",
}


@pytest.fixture
def demo(db, settings, tmp_path):
    from django.core.management import call_command

    settings.MEDIA_ROOT = tmp_path / "media"
    call_command("seed_demo", "--size", "small", stdout=io.StringIO())


def _phone_pages():
    from crm.models import User
    from customers.models import Customer
    from field.models import Visit
    from sales.models import Lead, Opportunity

    rep1, manager1 = User.objects.get(username="rep1"), User.objects.get(username="manager1")
    customer = Customer.objects.filter(owner=rep1).order_by("pk").first()
    lead = Lead.objects.filter(owner=rep1).order_by("pk").first()
    opportunity = Opportunity.objects.filter(owner=rep1).order_by("pk").first()
    visit = Visit.objects.filter(user=rep1).order_by("pk").first()
    rep_pages = [
        "/",
        "/field/me/",
        "/field/today/",
        "/field/clock/",
        "/field/visits/new/",
        f"/field/visits/new/?customer={customer.pk}",
        f"/field/visits/{visit.pk}/",
        f"/field/customers/{customer.pk}/contact/",
        f"/field/leads/{lead.pk}/contact/",
        "/customers/",
        customer.get_absolute_url(),
        "/sales/leads/",
        f"/sales/leads/{lead.pk}/",
        "/sales/opportunities/",
        f"/sales/opportunities/{opportunity.pk}/",
        "/sales/pool/",
        "/approvals/",
        "/notifications/",
        "/search/?q=王",
        "/field/wecom/sidebar/?external_userid=wmPHONE&q=王",
    ]
    manager_pages = ["/", "/field/me/", "/field/visits/team/", "/field/attendance/", "/approvals/", "/customers/"]
    return [(rep1, url) for url in rep_pages] + [(manager1, url) for url in manager_pages]


def test_every_phone_page_is_light_and_loads_only_the_shared_bundle(client, demo):
    failures, sizes = [], {}
    for user, url in _phone_pages():
        client.force_login(user)
        response = client.get(url, HTTP_USER_AGENT=IPHONE)
        if response.status_code != 200:
            failures.append(f"{user.username} {url}: HTTP {response.status_code}")
            continue
        html = response.content.decode()
        sizes[f"{user.username} {url}"] = len(response.content)
        if len(response.content) > MAX_HTML_BYTES:
            failures.append(f"{user.username} {url}: {len(response.content) / 1024:.1f} KB of HTML")
        loaded = set(re.findall(r"<script[^>]*\ssrc=\"([^\"]+)\"", html)) | set(
            re.findall(r"<link[^>]*\shref=\"([^\"]+)\"", html)
        )
        if loaded != BUNDLE:
            failures.append(f"{user.username} {url}: loads {sorted(loaded - BUNDLE)}, lacks {sorted(BUNDLE - loaded)}")
    assert failures == [], "\n".join(failures)
    assert len(sizes) == len(_phone_pages())
