"""Accessibility measured by axe-core (vendored from the npm registry under crm/tests/vendor/axe-core,
for the tests only, with its licence) in headless Chromium, WCAG 2.1 A and AA, at desk (1366×768)
and phone (390×844) sizes, on the small demo. ``AXE_PAGES`` holds every app's dashboards, lists and
forms at 0 violations, each opened by a user whose day it belongs to; the detail page of the first
record of every model that has one joins by itself (:func:`detail_pages`). The persona walks
(crm/tests/persona_days/) check every page they visit the same way."""

import io
import json
import os
from urllib.parse import urlsplit

import pytest

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from crm.tests.browser import VIEWPORTS, axe_violations
from crm.tests.test_browser import TIMEOUT_MS, _log_in, browser  # noqa: F401

pytestmark = pytest.mark.browser

#: the apps whose records' pages are checked (every app with pages)
APPS = [
    "crm",
    "customers",
    "sales",
    "coupons",
    "catalog",
    "marketing",
    "contracts",
    "partners",
    "resources",
    "members",
    "field",
]
#: records whose address is no page of ours: a rep's tracked link redirects to the content's address
NOT_PAGES = {"track:link"}
#: user → the pages held at 0 violations ({customer}, {lead}, {opportunity}: rep1's first)
AXE_PAGES = {
    "rep1": [
        "/",
        "/customers/",
        "/customers/new/",
        "/customers/{customer}/",
        "/sales/leads/",
        "/sales/leads/new/",
        "/sales/leads/{lead}/",
        "/sales/opportunities/",
        "/sales/opportunities/new/",
        "/sales/opportunities/board/",
        "/sales/opportunities/{opportunity}/",
        "/sales/followups/",
        "/sales/followups/new/?customer={customer}",
        "/sales/followups/new/?customer={customer}&opportunity={opportunity}",
        "/sales/reminders/",
        "/sales/tasks/",
        "/sales/tickets/",
        "/sales/pool/",
        "/sales/leaderboard/",
        "/approvals/",
        "/notifications/",
        "/search/?q=王",
        "/preferences/",
        "/password/",
        "/field/me/",
        "/field/today/",
        "/field/clock/",
        "/field/visits/new/",
        "/field/customers/{customer}/contact/",
        "/field/wecom/sidebar/",
        "/field/wecom/sidebar/?external_userid=wmAXE&q=张",
        "/contracts/",
        "/contracts/new/",
        "/partners/",
        "/partners/board/",
        "/resources/",
        "/resources/calendar/",
        "/calendar/",
    ],
    "manager1": [
        "/",
        "/sales/dashboard/",
        "/sales/dashboard/performance/",
        "/customers/dashboard/",
        "/sales/reports/",
        "/field/visits/team/",
        "/field/attendance/",
        "/contracts/collections/",
        "/contracts/collections/instalments/",
        "/contracts/competitors/",
        "/calendar/",
        "/catalog/policy-effect/",
        "/catalog/analysis/",
    ],
    "marketing": [
        "/",
        "/coupons/",
        "/coupons/dashboard/",
        "/coupons/budgets/",
        "/coupons/compensations/",
        "/coupons/subsidy/",
        "/coupons/monitoring/",
        "/coupons/campaigns/new/",
        "/marketing/",
        "/marketing/campaigns/new/",
        "/marketing/segments/",
        "/marketing/segments/new/",
        "/marketing/content/",
        "/marketing/content/new/",
        "/marketing/plans/",
        "/marketing/plans/new/",
        "/marketing/settings/",
    ],
    "admin": [
        "/",
        "/customers/segments/",
        "/customers/sources/",
        "/customers/tags/",
        "/customers/attributes/",
        "/customers/import/",
        "/customers/orders/",
        "/customers/merge/",
        "/sales/rules/",
        "/sales/opportunities/stages/",
        "/sales/leads/import/",
        "/catalog/products/",
        "/catalog/products/new/",
        "/catalog/categories/",
        "/catalog/policies/",
        "/catalog/policies/new/",
        "/catalog/price-check/",
        "/catalog/entitlements/",
        "/catalog/import/",
        "/partners/",
        "/partners/new/",
        "/partners/rules/",
        "/partners/statements/",
        "/partners/rebates/",
        "/resources/",
        "/resources/classes/new/",
        "/resources/courses/new/",
        "/field/settings/",
        "/org/departments/",
        "/org/users/",
        "/org/users/new/",
        "/org/api-clients/",
        "/org/audit/",
        "/org/privacy/",
        "/approvals/chains/",
        "/contracts/",
        "/members/",
    ],
}


@pytest.fixture
def demo(transactional_db):
    from django.core.management import call_command

    call_command("seed_demo", "--size", "small", stdout=io.StringIO())


def first_records():
    from customers.models import Customer
    from sales.models import Lead, Opportunity

    def first(model):
        return model.objects.filter(owner__username="rep1").order_by("pk").values_list("pk", flat=True)[0]

    return {"customer": first(Customer), "lead": first(Lead), "opportunity": first(Opportunity)}


def detail_pages():
    """The page of the first record of every model with one, in every app (opened by the admin)."""
    from django.apps import apps
    from django.urls import resolve

    pages = []
    for label in APPS:
        for model in apps.get_app_config(label).get_models():
            if hasattr(model, "get_absolute_url"):
                record = model.objects.order_by("pk").first()
                if record is not None and resolve(urlsplit(record.get_absolute_url()).path).view_name not in NOT_PAGES:
                    pages.append(record.get_absolute_url())
    return list(dict.fromkeys(pages))


@pytest.mark.parametrize("size", sorted(VIEWPORTS))
def test_every_apps_pages_have_no_axe_violations(browser, live_server, demo, size):
    context = browser.new_context(
        viewport=VIEWPORTS[size], locale="zh-CN", timezone_id="Asia/Shanghai", bypass_csp=True
    )  # axe is injected by the test only
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    found, failed = {}, {}
    records = first_records()
    pages = {**AXE_PAGES, "admin": AXE_PAGES["admin"] + detail_pages()}
    try:
        for user, paths in pages.items():
            context.clear_cookies()
            _log_in(page, live_server.url, user)
            for path in paths:
                path = path.format(**records)
                response = page.goto(live_server.url + path)
                if response.status != 200:
                    failed[f"{user} {path}"] = response.status
                    continue
                problems = axe_violations(page)
                if problems:
                    found[f"{user} {path}"] = problems
    finally:
        context.close()
    assert failed == {}
    assert found == {}, json.dumps(found, ensure_ascii=False, indent=1)
