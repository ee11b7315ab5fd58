"""Accessibility measured by axe-core (vendored from the npm registry under crm/tests/vendor/axe-core,
for the tests only, with its licence) in headless Chromium, WCAG 2.1 A and AA, at desk (1366×768)
and phone (390×844) sizes. ``AXE_PAGES`` lists the pages held at 0 violations; issue 16 item 6
grows it to every page of the persona walks."""

import io
import json
import os
from pathlib import Path

import pytest

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from crm.tests.test_browser import TIMEOUT_MS, _log_in, browser  # noqa: F401

pytestmark = pytest.mark.browser

AXE = (Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js").read_text()
SIZES = {"desk": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
#: (user, path) held at 0 violations
AXE_PAGES = [
    ("rep1", "/field/me/"),
    ("rep1", "/field/clock/"),
    ("rep1", "/field/today/"),
    ("rep1", "/field/visits/new/"),
    ("rep1", "/customers/"),
    ("rep1", "/sales/leads/"),
    ("rep1", "/approvals/"),
    ("rep1", "/sales/opportunities/board/"),
    ("rep1", "/customers/{customer}/"),
    ("rep1", "/sales/leads/{lead}/"),
    ("manager1", "/field/visits/team/"),
    ("manager1", "/field/attendance/"),
    ("rep1", "/field/wecom/sidebar/"),
    ("rep1", "/field/wecom/sidebar/?external_userid=wmAXE&q=张"),
]


@pytest.fixture
def demo(transactional_db):
    from django.core.management import call_command

    call_command("seed_demo", "--size", "small", stdout=io.StringIO())


def first_records():
    from customers.models import Customer
    from sales.models import Lead

    return {
        "customer": Customer.objects.filter(owner__username="rep1").order_by("pk").values_list("pk", flat=True)[0],
        "lead": Lead.objects.filter(owner__username="rep1").order_by("pk").values_list("pk", flat=True)[0],
    }


def violations(page):
    page.add_script_tag(content=AXE)
    result = page.evaluate("(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}})", TAGS)
    return [f"{v['id']} ({v['impact']}): {len(v['nodes'])} × {v['nodes'][0]['target']}" for v in result["violations"]]


@pytest.mark.parametrize("size", sorted(SIZES))
def test_pages_have_no_axe_violations(browser, live_server, demo, size):
    context = browser.new_context(
        viewport=SIZES[size], locale="zh-CN", timezone_id="Asia/Shanghai", bypass_csp=True
    )  # axe is injected by the test only
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    found = {}
    records = first_records()
    try:
        signed_in = None
        for user, path in AXE_PAGES:
            if user != signed_in:
                context.clear_cookies()
                _log_in(page, live_server.url, user)
                signed_in = user
            path = path.format(**records)
            page.goto(live_server.url + path)
            problems = violations(page)
            if problems:
                found[f"{user} {path}"] = problems
    finally:
        context.close()
    assert found == {}, json.dumps(found, ensure_ascii=False, indent=1)
