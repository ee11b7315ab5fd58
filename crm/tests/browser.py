"""What the browser tests share: headless Chromium, a page signed in as a user, a card dragged
across the opportunity board with the mouse (also on a phone, where the board scrolls sideways), and
axe-core's accessibility check of a page (WCAG 2.1 A and AA)."""

import os
import shutil
from pathlib import Path

import pytest

# Playwright's sync API runs an asyncio loop in this thread; Django's ORM would refuse to run next to it.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

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
DESK = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
VIEWPORTS = {"desk": DESK, "phone": PHONE}
#: axe-core, vendored from the npm registry for the tests only (with its licence); pages get it
#: injected, so their browser context needs ``bypass_csp=True``
AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe_violations(page):
    """axe-core's WCAG 2.1 A/AA violations on the page as it is now, one line each: the rule, its
    impact, how many elements and the first of them ([] when the page passes)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=AXE.read_text())
    result = page.evaluate(
        "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})", AXE_TAGS
    )
    return [
        f"{v['id']} ({v['impact']}): {len(v['nodes'])} × {v['nodes'][0]['target']} {v['nodes'][0]['html'][:120]}"
        for v in result["violations"]
    ]


def launch(*, extra_args=()):
    """A context manager yielding a Chromium browser; skips (fails in CI) without Chromium."""
    from contextlib import contextmanager

    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        if os.environ.get("CRM_REQUIRE_SERVICES") == "1":
            pytest.fail(f"needs Chromium at {CHROMIUM}")
        pytest.skip(f"needs Chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    @contextmanager
    def running():
        from django.db import connections

        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *extra_args])
            try:
                yield browser
            finally:
                browser.close()
                # Playwright's loop gives the test its own database connection; close it, or
                # PostgreSQL refuses to drop the test database at the end
                connections.close_all()

    return running()


@pytest.fixture
def chromium():
    with launch() as browser:
        yield browser


def signed_in_page(browser, base_url, user, viewport, *, timeout_ms=10_000, bypass_csp=False):
    """A new page with ``user``'s session (no login form). ``page.errors`` collects uncaught
    errors and console errors (a 409 from a refused board move is expected, not an error).
    ``bypass_csp=True`` when the test injects axe-core (:func:`axe_violations`, a ``Person``'s
    walk): the pages' CSP allows only their own scripts."""
    from django.test import Client

    session = Client()
    session.force_login(user)
    context = browser.new_context(viewport=viewport, locale="zh-CN", bypass_csp=bypass_csp)
    context.set_default_timeout(timeout_ms)
    context.add_cookies([{"name": "sessionid", "value": session.cookies["sessionid"].value, "url": base_url}])
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.on(
        "console", lambda msg: page.errors.append(msg.text) if msg.type == "error" and "409" not in msg.text else None
    )
    return page


def drop(page, opportunity, source, target):
    """Drag the card onto the ``target`` column with the mouse. On a phone the board scrolls sideways:
    first scroll it so that the end of the card's column and the start of the next one show."""
    column = page.locator(f".kanban-column[data-stage='{source.pk}']")
    column.scroll_into_view_if_needed()
    box = column.bounding_box()
    page.locator("[data-testid=board]").evaluate("(el, dx) => { el.scrollLeft += dx; }", box["x"] + 120)
    card = page.locator(f".kanban-card[data-id='{opportunity.pk}']").bounding_box()
    zone = page.locator(f".kanban-column[data-stage='{target.pk}'] [data-dropzone]").bounding_box()
    page.mouse.move(card["x"] + card["width"] * 0.8, card["y"] + 20)
    page.mouse.down()
    page.mouse.move(zone["x"] + 30, zone["y"] + 40, steps=8)
    page.mouse.up()
