"""Personal data in a real browser: a rep reveals a masked mobile (htmx), the administrator sees that
reveal in the access log, then anonymizes the customer through the confirmation dialog."""

import os

import pytest

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from crm.tests.test_browser import TIMEOUT_MS, Problems, _log_in, browser, demo_org  # noqa: F401
from customers.models import Customer

pytestmark = pytest.mark.browser


def test_reveal_is_logged_and_anonymize_asks_first(browser, live_server, demo_org):
    from playwright.sync_api import expect

    customer = Customer.objects.filter(owner__username="rep1").exclude(mobile="").order_by("pk").first()
    masked = f"{customer.mobile[:3]}****{customer.mobile[-4:]}"
    base_url = live_server.url

    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-US")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    problems = Problems(page, base_url)
    try:
        problems.step = "rep reveals"
        _log_in(page, base_url, "rep1")
        page.goto(f"{base_url}/customers/{customer.pk}/")
        mobile = page.locator("[data-testid=mobile]")
        expect(mobile).to_contain_text(masked)
        assert customer.mobile not in page.content()
        page.locator("[data-testid=reveal]").click()
        expect(page.locator("[data-testid=mobile]")).to_contain_text(customer.mobile)
        expect(page.locator("[data-testid=reveal]")).to_have_count(0)

        problems.step = "admin reads the access log"
        context.clear_cookies()
        _log_in(page, base_url, "admin")
        page.goto(f"{base_url}/org/privacy/?person={customer.pk}&action=reveal")
        rows = page.locator("main table tbody tr")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text(str(customer.owner))

        problems.step = "admin anonymizes"
        page.goto(f"{base_url}/customers/{customer.pk}/")
        with page.expect_navigation():
            page.locator("[data-testid=personal-data]").click()
        page.locator("[data-testid=anonymize]").click()
        modal = page.locator("#confirm-modal")
        expect(modal).to_be_visible()
        with page.expect_navigation():
            modal.locator(".js-confirm-ok").click()
        expect(page.locator("[data-testid=anonymized]")).to_be_visible()
        customer.refresh_from_db()
        assert customer.mobile == "" and customer.anonymized_at is not None
        assert not problems.items, "\n".join(problems.items)
    finally:
        context.close()
