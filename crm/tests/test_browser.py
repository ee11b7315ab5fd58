"""End-to-end smoke test in headless Chromium: every demo role, both languages, every sidebar page.

A real browser logs in through the login form, switches the language with the top-bar <select>,
opens every sidebar link, a customer's 360 view and the customer form (submitted empty once), and
fails on anything a user or a developer console would show as broken: console errors, uncaught
page errors, failed requests and same-origin responses with status >= 400.

Needs Debian's Chromium at /usr/bin/chromium (Playwright's own browser download is not used).
Without it the test is skipped, or fails when CRM_REQUIRE_SERVICES=1.
"""

import os
import shutil
from urllib.parse import urlsplit

import pytest

# Playwright's sync API runs an asyncio loop in this thread; Django's ORM (used by live_server set-up
# and by the seeding below) would otherwise refuse to run next to it.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from crm.demo import DEMO_PASSWORD, DemoContext, seed_organization

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("CRM_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROLES = ["admin", "director", "manager1", "rep1", "marketing"]
# language code -> text the sidebar must show in that language
LANGUAGES = {"zh-hans": "客户", "en": "Customers"}
TIMEOUT_MS = 15_000


def _skip_or_fail(reason):
    if os.environ.get("CRM_REQUIRE_SERVICES") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        _skip_or_fail(f"needs Chromium at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - playwright is in requirements-dev.txt
        _skip_or_fail("needs the playwright package")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def demo_org(transactional_db):
    """The demo organization (departments + the nine demo users) and 300 demo customers."""
    from customers import demo as customer_demo

    ctx = DemoContext(size="small", seed=1)
    seed_organization(ctx)
    customer_demo.seed(ctx)
    return ctx


class Problems:
    """Collects everything that went wrong in one browser context, with the page it happened on."""

    def __init__(self, page, origin):
        self.origin = origin
        self.items = []
        self.step = "start"
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self._add(f"page error: {exc}"))
        page.on("requestfailed", self._request_failed)
        page.on("response", self._response)

    def _add(self, text):
        self.items.append(f"[{self.step}] {text}")

    def _same_origin(self, url):
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}" == self.origin

    def _console(self, message):
        if message.type == "error":
            location = message.location or {}
            where = f" ({location.get('url', '')}:{location.get('lineNumber', '')})" if location.get("url") else ""
            self._add(f"console error: {message.text}{where}")

    def _request_failed(self, request):
        if request.failure == "net::ERR_ABORTED":
            return  # cancelled by the browser as the walk moved on to the next page, not refused
        self._add(f"request failed: {request.method} {request.url} ({request.failure})")

    def _response(self, response):
        if response.status >= 400 and self._same_origin(response.url):
            self._add(f"HTTP {response.status}: {response.request.method} {response.url}")


def _check_page(page, problems, language, expected_path=None):
    """What a user sees on every signed-in page: the sidebar, a heading, the chosen language."""
    from playwright.sync_api import expect

    page.wait_for_load_state("load")
    where = problems.step
    if expected_path is not None:
        assert urlsplit(page.url).path == expected_path, f"{where}: landed on {page.url}"
    assert page.locator("html").get_attribute("lang") == language, f"{where}: <html lang> is not {language}"
    sidebar = page.locator("nav.sidebar")
    expect(sidebar, f"{where}: sidebar").to_be_visible()
    expect(page.locator("h1").first, f"{where}: page heading").to_be_visible()
    expect(sidebar, f"{where}: sidebar language").to_contain_text(LANGUAGES[language])
    if language != "en":
        assert "Customers" not in sidebar.inner_text(), f"{where}: English left in the {language} sidebar"


def _log_in(page, base_url, username):
    page.goto(f"{base_url}/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(DEMO_PASSWORD)
    with page.expect_navigation():
        page.locator("form button[type=submit]").first.click()
    assert urlsplit(page.url).path == "/", f"{username}: login did not reach the home page ({page.url})"


def _switch_language(page, code):
    select = page.locator("header.topbar select[name=language]")
    if select.input_value() != code:
        with page.expect_navigation():
            select.select_option(code)  # the js-autosubmit handler posts to /i18n/setlang/
    page.wait_for_load_state("load")
    assert page.locator("html").get_attribute("lang") == code


def _visit_sidebar(page, problems, language):
    links = page.locator("nav.sidebar a.nav-link")
    count = links.count()
    assert count >= 2, f"[{language}] sidebar has only {count} links"
    hrefs = [links.nth(i).get_attribute("href") for i in range(count)]
    for index, href in enumerate(hrefs):
        problems.step = f"{language} sidebar {href}"
        link = page.locator("nav.sidebar a.nav-link").nth(index)
        with page.expect_navigation():
            link.click()
        _check_page(page, problems, language, expected_path=href)
        active = page.locator("nav.sidebar a.nav-link.active")
        assert active.count() >= 1, f"{problems.step}: no sidebar entry marked active"
    return hrefs


def _visit_customer_pages(page, problems, language, base_url):
    problems.step = f"{language} customer list"
    page.goto(f"{base_url}/customers/")
    _check_page(page, problems, language, expected_path="/customers/")

    problems.step = f"{language} customer detail"
    first = page.locator("table tbody tr td a[href^='/customers/']").first
    first.wait_for(timeout=TIMEOUT_MS)
    name = first.inner_text().strip()
    with page.expect_navigation():
        first.click()
    _check_page(page, problems, language)
    assert name in page.locator("main").inner_text(), f"{problems.step}: detail page does not show {name!r}"

    problems.step = f"{language} customer create"
    page.goto(f"{base_url}/customers/")
    with page.expect_navigation():
        page.locator("main .page-header a[href='/customers/new/']").click()
    _check_page(page, problems, language, expected_path="/customers/new/")

    problems.step = f"{language} customer create, submitted empty"
    form = page.locator("main form.card")
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    _check_page(page, problems, language, expected_path="/customers/new/")
    errors = page.locator("main form .invalid-feedback")
    assert errors.count() >= 1, f"{problems.step}: no field errors shown"
    name_error = page.locator("main form .field-name .invalid-feedback")
    assert name_error.count() == 1 and name_error.is_visible(), f"{problems.step}: no error beside 'name'"
    assert page.locator("main form .field-name .is-invalid").count() == 1
    # every error sits in its field's box, right beside an input marked invalid
    for i in range(errors.count()):
        box = errors.nth(i).locator("xpath=ancestor::div[contains(@class, 'field-')][1]")
        assert box.count() == 1, f"{problems.step}: error {i} is not inside a field box"
        assert box.locator(".is-invalid").count() >= 1, f"{problems.step}: error {i} has no invalid input"


@pytest.mark.parametrize("username", ROLES)
def test_every_page_in_both_languages(browser, live_server, demo_org, username):
    base_url = live_server.url
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-US")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    problems = Problems(page, base_url)
    try:
        problems.step = "login"
        _log_in(page, base_url, username)
        for language in LANGUAGES:
            problems.step = f"switch to {language}"
            _switch_language(page, language)
            _check_page(page, problems, language)
            hrefs = _visit_sidebar(page, problems, language)
            assert "/customers/" in hrefs, f"{username}: no Customers entry in the sidebar"
            _visit_customer_pages(page, problems, language, base_url)
        # let late requests (charts, htmx) settle before the verdict
        page.wait_for_load_state("networkidle")
    except Exception as exc:  # a failed check or a Playwright timeout
        if problems.items:  # the browser's own complaints usually explain it
            details = "\n".join(problems.items)
            raise AssertionError(f"{exc}\n\n{username}: browser reported problems:\n{details}") from exc
        raise
    finally:
        context.close()
    if problems.items:
        pytest.fail(f"{username}: browser reported problems:\n" + "\n".join(problems.items), pytrace=False)
