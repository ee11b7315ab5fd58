"""On a phone (390×844) the top bar's bell, the one way to the notifications there, is a 44×44 target
like every other phone control, and the page does not scroll sideways."""

import os

import pytest

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from crm.demo import DemoContext, seed_organization
from crm.tests.browser import PHONE
from crm.tests.test_browser import TIMEOUT_MS, _log_in, browser  # noqa: F401

pytestmark = pytest.mark.browser


@pytest.fixture
def organization(transactional_db):
    seed_organization(DemoContext(size="small", seed=1))


def test_the_bell_is_a_44_pixel_target_on_a_phone(browser, live_server, organization):
    context = browser.new_context(viewport=PHONE, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        _log_in(page, live_server.url, "rep1")
        page.goto(f"{live_server.url}/")
        box = page.locator(".topbar .bell").bounding_box()
        assert (box["width"], box["height"]) == (44, 44)
        assert page.evaluate("() => document.documentElement.scrollWidth") == PHONE["width"]
    finally:
        context.close()
