"""A persona's day in headless Chromium, shared by the persona test files.

One demo business for all the persona files (crm/tests/persona_days/): ``seed_demo --size small`` at
11:20 today (Shanghai) with the day-one beat jobs run once, as on day one of ``make run`` (5 records
recycled, 5 owners warned, 4 reminders due today, rep1's control point waiting for manager1). The
data is committed and served by a live server of its own (pytest-django's ``live_server`` would
flush it after every test); the personas work in it one after the other and the database is flushed
when the package ends. Expected figures are recounted from the rows at the moment they are checked,
or are the demo's documented day-one facts, never read off the screen.

Every page a persona opens (by address, by a click, or after signing in) is checked with axe-core for
WCAG 2.1 A/AA violations (:meth:`Person.accessible`); ``done()`` fails on any, so a new walk gets the
check for free.

Screenshots of every page a persona visits, at both sizes: ``pytest --persona-shots`` (or
``CRM_PERSONA_SHOTS=1``) writes them to docs/screenshots/personas/.
"""

import datetime
import importlib
import io
import json
import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from crm.tests.browser import VIEWPORTS, axe_violations, launch

DAY_ONE_JOBS = ["sales.tasks.recycle_pool", "sales.tasks.dispatch_reminders", "coupons.tasks.check_coupon_alerts"]
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "personas"
TIMEOUT_MS = 15_000


def day_one_moment():
    """11:20 today in Shanghai: reminders due "today later" are still ahead, whatever the hour CI runs."""
    from django.utils import timezone

    local = timezone.localtime()
    return local.replace(hour=11, minute=20, second=0, microsecond=0)


@pytest.fixture(scope="package")
def demo_day(django_db_setup, django_db_blocker):
    """The seeded demo business on day one, a live server over it and a Chromium browser."""
    import time_machine
    from django.core.management import call_command
    from pytest_django.live_server_helper import LiveServer

    from config.celery import app as celery_app

    with django_db_blocker.unblock(), time_machine.travel(day_one_moment(), tick=True):
        call_command("seed_demo", "--size", "small", stdout=io.StringIO())
        # the jobs that make day one what the personas see, once, as beat starts them (the nurture
        # plans and the reports would only cost time: no persona here reads what they write)
        for task in DAY_ONE_JOBS:
            importlib.import_module(task.rsplit(".", 1)[0])
            celery_app.tasks[task].apply()
        server = LiveServer("localhost")
        server._live_server_modified_settings.enable()
        try:
            # date inputs and other controls the browser draws itself follow its own language
            with launch(extra_args=["--lang=zh-CN"]) as browser:
                yield Day(server.url, browser)
        finally:
            server._live_server_modified_settings.disable()
            server.stop()
            call_command("flush", interactive=False, verbosity=0)


class Day:
    def __init__(self, base_url, browser):
        self.base_url = base_url
        self.browser = browser

    def users(self):
        from crm.models import User

        return {u.username: u for u in User.objects.all()}

    def open(self, username, size, *, password="crm-demo"):
        """A fresh browser for ``username`` at ``size`` (desk or phone), logged in through the form."""
        # bypass_csp: axe-core is injected by the test (the pages' CSP allows only their own scripts)
        context = self.browser.new_context(viewport=VIEWPORTS[size], locale="zh-CN", bypass_csp=True)
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        person = Person(page, self.base_url, username, size)
        page.goto(f"{self.base_url}/login/")
        page.locator("#id_username").fill(username)
        page.locator("#id_password").fill(password)
        with page.expect_navigation():
            page.locator("form button[type=submit]").first.click()
        assert urlsplit(page.url).path == "/", f"{username}: login did not reach the home page ({page.url})"
        person.accessible()
        return person


class Person:
    """One persona in one browser: pages visited, errors the browser reported, screenshots."""

    def __init__(self, page, base_url, username, size):
        self.page = page
        self.base_url = base_url
        self.username = username
        self.size = size
        self.errors = []
        self.violations = {}  # page → axe-core's violations there
        page.on("pageerror", lambda exc: self.errors.append(f"{page.url}: {exc}"))
        page.on(
            "console",
            lambda msg: (
                self.errors.append(f"{page.url}: {msg.text}") if msg.type == "error" and "409" not in msg.text else None
            ),
        )
        page.on(
            "response",
            lambda r: (
                self.errors.append(f"HTTP {r.status} {r.url}")
                if r.status >= 400 and r.url.startswith(base_url) and r.status != 409
                else None
            ),
        )

    def go(self, path, shot=None):
        self.page.goto(self.base_url + path)
        self.page.wait_for_load_state("load")
        assert self.page.locator("html").get_attribute("lang") == "zh-hans"
        self.accessible()
        self.shot(shot)
        return self.page

    def click(self, locator, shot=None):
        with self.page.expect_navigation():
            locator.click()
        self.page.wait_for_load_state("load")
        self.accessible()
        self.shot(shot)
        return self.page

    def accessible(self):
        """axe-core (WCAG 2.1 A/AA) on the page as the persona sees it now; what it finds is kept
        per page and reported by :meth:`done`. Called on every page the walk opens."""
        found = axe_violations(self.page)
        if found:
            self.violations[f"{self.size} {urlsplit(self.page.url).path}"] = found

    def main(self):
        return self.page.locator("main").inner_text()

    def shot(self, name):
        if not name or not shots_wanted():
            return
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.page.wait_for_load_state("networkidle")
        self.page.screenshot(path=str(SHOTS / f"{self.username}-{name}-{self.size}.png"), full_page=True)

    def fits_the_width(self):
        """Nothing in the page's content reaches past the window's right edge (tables scroll inside
        their own box). The top bar is left out: the phone's navigation is being redone apart."""
        right = self.page.evaluate("""() => Math.max(...[...document.querySelectorAll('main *')].filter(
            el => !el.closest('.table-responsive, .kanban, [data-testid=board]') && el.getClientRects().length)
            .map(el => el.getBoundingClientRect().right))""")
        assert right <= VIEWPORTS[self.size]["width"] + 0.5, (
            f"{self.page.url}: content reaches {right}px at {self.size}"
        )

    def no_broken_words(self, selector="main table"):
        """On a phone a table scrolls sideways instead of breaking a name or a date into one
        character per line: no cell is more than three lines high for a short text."""
        broken = self.page.evaluate(
            """(sel) => [...document.querySelectorAll(sel + ' td')].filter(td => {
            const text = td.innerText.trim(); const line = parseFloat(getComputedStyle(td).lineHeight) || 24;
            return text && text.length <= 16 && td.getBoundingClientRect().height > line * 3 + 24; })
            .map(td => td.innerText.trim())""",
            selector,
        )
        assert broken == [], f"{self.page.url}: cells broken into lines at {self.size}: {broken[:5]}"

    def selects_show_their_text(self, selector="main form select"):
        """Every select is wide enough for the option it shows (no "权限范围内全部部" cut off)."""
        cut = self.page.evaluate(
            """(sel) => { const ctx = document.createElement('canvas').getContext('2d');
            return [...document.querySelectorAll(sel)].filter(s => s.offsetParent !== null).filter(s => {
                const style = getComputedStyle(s); ctx.font = style.font;
                const text = s.options[s.selectedIndex] ? s.options[s.selectedIndex].text : '';
                const room = s.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
                return ctx.measureText(text).width > room + 1; }).map(s => s.name); }""",
            selector,
        )
        assert cut == [], f"{self.page.url}: selects too narrow for their text at {self.size}: {cut}"

    def values_fit(self, selector):
        """Figures on cards show whole, not cut with an ellipsis."""
        cut = self.page.evaluate(
            """(sel) => [...document.querySelectorAll(sel)]
            .filter(el => el.scrollWidth > el.clientWidth + 1).map(el => el.innerText)""",
            selector,
        )
        assert cut == [], f"{self.page.url}: figures cut at {self.size}: {cut}"

    def no_wrapped_buttons(self):
        """No button's label breaks over two lines ("跟\n进")."""
        wrapped = self.page.evaluate("""() => [...document.querySelectorAll('main .btn')].filter(b => {
            const r = b.getBoundingClientRect(); const line = parseFloat(getComputedStyle(b).lineHeight) || 20;
            return r.height > 0 && b.innerText.trim() && r.height > line * 1.8 + 16; }).map(b => b.innerText.trim())""")
        assert wrapped == [], f"{self.page.url}: buttons wrapped at {self.size}: {wrapped}"

    def done(self):
        self.page.context.close()
        assert self.errors == [], self.errors
        assert self.violations == {}, json.dumps(self.violations, ensure_ascii=False, indent=1)


def shots_wanted():
    return os.environ.get("CRM_PERSONA_SHOTS") == "1"  # set by ``pytest --persona-shots``


def number(text):
    """The integer in ``text`` ("我的提醒 18" → 18)."""
    digits = re.sub(r"[^\d]", "", text)
    return int(digits)


def today_bounds():
    from django.utils import timezone

    start = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + datetime.timedelta(days=1)


def month_bounds():
    from django.utils import timezone

    start = timezone.localtime().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    following = (start + datetime.timedelta(days=32)).replace(day=1)
    return start, following
