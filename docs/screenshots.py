"""Take the README screenshots: the main pages at 1440x900, in Chinese (plus one in English).

    .venv/bin/python docs/screenshots.py            # against the current database (var/crm.sqlite3)
    .venv/bin/python docs/screenshots.py --prepare  # first migrate and load the demo data if missing

Starts ``manage.py runserver`` on a free port against the current database (demo data expected:
``manage.py seed_demo --size small --if-empty``), drives Debian's headless Chromium with Playwright,
logs in as manager1, admin and rep1 (password ``crm-demo``) and writes full-page PNGs to
docs/screenshots/. Browser console errors, failed requests and HTTP errors are printed as warnings;
the exit status is 1 if any page could not be captured, 2 if the browser reported problems.
"""

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
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
    "--lang=zh-CN",  # date inputs and other browser-drawn controls follow the browser's own language
]
VIEWPORT = {"width": 1440, "height": 900}
PASSWORD = "crm-demo"


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def manage(*args):
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, check=True)


def start_server(port):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.setdefault("DEBUG", "1")  # runserver serves the static files itself
    log = tempfile.NamedTemporaryFile("w", prefix="crm-screenshots-server-", suffix=".log", delete=False)
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the dev server exited early; see {log.name}")
        try:
            with urllib.request.urlopen(f"{base}/login/", timeout=2) as response:
                if response.status == 200:
                    return proc, log, base
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.3)
    proc.terminate()
    raise SystemExit(f"the dev server did not answer on {base} within 60s; see {log.name}")


def stop_server(proc, log):
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()


class Session:
    """One browser context (one signed-in user) that watches for console errors and HTTP errors."""

    def __init__(self, browser, base, username=None):
        self.base = base
        self.username = username or "anonymous"
        self.context = browser.new_context(viewport=VIEWPORT, locale="zh-CN", device_scale_factor=1)
        self.context.set_default_timeout(20_000)
        self.page = self.context.new_page()
        self.problems = []
        self.step = "start"
        origin = f"{urlsplit(base).scheme}://{urlsplit(base).netloc}"
        page = self.page
        page.on("console", lambda m: m.type == "error" and self._add(f"console error: {m.text}"))
        page.on("pageerror", lambda e: self._add(f"page error: {e}"))
        page.on("requestfailed", lambda r: self._add(f"request failed: {r.url} ({r.failure})"))
        page.on(
            "response",
            lambda r: r.status >= 400 and r.url.startswith(origin) and self._add(f"HTTP {r.status}: {r.url}"),
        )

    def _add(self, text):
        self.problems.append(f"{self.username} [{self.step}] {text}")

    def goto(self, path):
        self.page.goto(self.base + path)
        self.page.wait_for_load_state("networkidle")

    def log_in(self, password=PASSWORD):
        self.step = "login"
        self.goto("/login/")
        self.page.fill("#id_username", self.username)
        self.page.fill("#id_password", password)
        with self.page.expect_navigation():
            self.page.click("form button[type=submit]")
        if urlsplit(self.page.url).path == "/login/":
            raise RuntimeError(
                f"could not log in as {self.username}: is the demo data loaded? "
                "(manage.py seed_demo --size small --if-empty)"
            )

    def language(self, code):
        """Switch with the top-bar <select> (it submits itself), as a user would."""
        self.step = f"language {code}"
        select = self.page.locator("header.topbar select[name=language]")
        if select.input_value() != code:
            with self.page.expect_navigation():
                select.select_option(code)
            self.page.wait_for_load_state("networkidle")

    def shot(self, name):
        OUT.mkdir(parents=True, exist_ok=True)
        # hide the text cursor and the hover state so pictures do not differ from run to run
        self.page.mouse.move(0, 0)
        path = OUT / f"{name}.png"
        # The sidebar is sticky and 100vh tall: in a full-page picture of a long page it would stop
        # after the first screen. Make the window as tall as the page, as if the user scrolled with it.
        height = self.page.evaluate("document.documentElement.scrollHeight")
        if height > VIEWPORT["height"]:
            self.page.set_viewport_size({"width": VIEWPORT["width"], "height": height})
            self.page.wait_for_timeout(300)  # charts redraw on resize
        try:
            self.page.screenshot(path=str(path), full_page=True, animations="disabled", caret="hide")
        finally:
            self.page.set_viewport_size(VIEWPORT)
        print(f"  {path.relative_to(ROOT)}  ({self.page.url.replace(self.base, '')})")

    def close(self):
        self.context.close()


def wait_for_charts(page):
    charts = page.locator("[data-chart]")
    for i in range(charts.count()):
        charts.nth(i).locator("canvas, svg").first.wait_for(state="attached")
    if charts.count():
        page.wait_for_timeout(1500)  # ECharts animates the first draw (about one second)


def manager_pages(s):
    def home():
        s.goto("/")
        wait_for_charts(s.page)
        s.shot("02-home-manager")

    def customer_list():
        s.goto("/customers/")
        s.shot("03-customer-list")

    def customer_detail():
        s.goto("/customers/")
        first = s.page.locator("table tbody tr td a[href^='/customers/']").first
        with s.page.expect_navigation():
            first.click()
        s.page.wait_for_load_state("networkidle")
        s.shot("04-customer-detail")

    def customer_form_errors():
        s.goto("/customers/new/")
        # a mobile number that is not one, so there is more than the "required" error to see
        mobile = s.page.locator("#id_mobile")
        if mobile.count():
            mobile.fill("12345")
        with s.page.expect_navigation():
            s.page.locator("main form.card button[type=submit]").click()
        s.page.wait_for_load_state("networkidle")
        s.shot("05-customer-form-errors")

    def customer_list_en():
        s.language("en")
        try:
            s.goto("/customers/")
            s.shot("10-customer-list-en")
        finally:
            s.language("zh-hans")  # leave the user's language as it was

    return [
        ("manager home", home),
        ("customer list", customer_list),
        ("customer detail", customer_detail),
        ("customer form errors", customer_form_errors),
        ("customer list en", customer_list_en),
    ]


def admin_pages(s):
    def users():
        s.goto("/org/users/")
        s.shot("06-users")

    def api_clients():
        s.goto("/org/api-clients/")
        detail = s.page.locator("main a[href^='/org/api-clients/']:not([href$='/new/'])")
        if detail.count():  # show one client with its tokens when there is one
            with s.page.expect_navigation():
                detail.first.click()
            s.page.wait_for_load_state("networkidle")
        s.shot("07-api-clients")

    def audit():
        s.goto("/org/audit/")
        s.shot("08-audit-log")

    def personal_data():
        s.goto("/customers/")
        with s.page.expect_navigation():
            s.page.locator("main table tbody tr td a[href^='/customers/']").first.click()
        with s.page.expect_navigation():
            s.page.locator("[data-testid=personal-data]").click()
        s.page.wait_for_load_state("networkidle")
        s.shot("24-personal-data")

    def access_log():
        s.goto("/org/privacy/")
        s.shot("25-access-log")

    return [
        ("users", users),
        ("api clients", api_clients),
        ("audit log", audit),
        ("personal data", personal_data),
        ("access log", access_log),
    ]


def rep_pages(s):
    def notifications():
        s.goto("/notifications/")
        s.shot("09-notifications")

    return [("notifications", notifications)]


def simple_pages(shots):
    """Pages that only need opening: ``shots`` is [(name, path)] or [(name, path, link)] where
    ``link`` is a CSS selector of a link on that page to follow first (e.g. the first campaign)."""

    def make(s):
        def action_for(name, path, link=None):
            def action():
                s.goto(path)
                if link:
                    with s.page.expect_navigation():
                        s.page.locator(link).first.click()
                s.page.wait_for_load_state("networkidle")
                wait_for_charts(s.page)
                s.shot(name)

            return action

        return [(shot[0], action_for(*shot)) for shot in shots]

    return make


PLAN = [
    ("manager1", manager_pages),
    ("admin", admin_pages),
    ("rep1", rep_pages),
    (
        "rep1",
        simple_pages(
            [
                ("11-rep-workbench", "/"),
                ("12-leads", "/sales/leads/"),
                ("13-pipeline-board", "/sales/opportunities/board/"),
            ]
        ),
    ),
    (
        "director",
        simple_pages(
            [
                ("14-sales-dashboard", "/sales/dashboard/"),
                ("15-customer-overview", "/customers/dashboard/"),
                ("16-segmentation", "/customers/segments/"),
            ]
        ),
    ),
    (
        "marketing",
        simple_pages(
            [
                ("17-marketing-home", "/"),
                ("18-campaigns", "/marketing/"),
                ("19-campaign", "/marketing/", "main table tbody tr:last-child a[href^='/marketing/campaigns/']"),
                ("20-segment-builder", "/marketing/segments/new/"),
                ("21-coupon-batches", "/coupons/"),
                ("22-coupon-monitoring", "/coupons/monitoring/"),
                ("23-coupons-dashboard", "/coupons/dashboard/"),
            ]
        ),
    ),
]


def take(browser, base):
    failures = []
    problems = []

    def attempt(session, label, action):
        session.step = label
        try:
            action()
            return True
        except Exception as exc:  # keep going: one broken page should not cost every other picture
            failures.append(f"{session.username} [{label}] {type(exc).__name__}: {exc}")
            print(f"  ! {session.username} {label}: {type(exc).__name__}: {str(exc).splitlines()[0]}")
            return False

    # the login page, in Chinese (the browser asks for zh-CN)
    anon = Session(browser, base)
    attempt(anon, "login page", lambda: (anon.goto("/login/"), anon.shot("01-login")))
    problems += anon.problems
    anon.close()

    for username, pages in PLAN:
        session = Session(browser, base, username)
        try:
            if attempt(session, "login", lambda: (session.log_in(), session.language("zh-hans"))):  # noqa: B023 (called at once)
                for label, action in pages(session):
                    attempt(session, label, action)
        finally:
            problems += session.problems
            session.close()
    return failures, problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--prepare", action="store_true", help="run migrate and seed_demo --size small --if-empty first"
    )
    parser.add_argument("--base-url", help="use a server that is already running instead of starting one")
    options = parser.parse_args()

    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        raise SystemExit(f"needs Chromium at {CHROMIUM} (apt-get install chromium fonts-noto-cjk)")
    from playwright.sync_api import sync_playwright

    if options.prepare:
        manage("migrate", "--noinput")
        manage("seed_demo", "--size", "small", "--if-empty")
    elif not options.base_url:
        pending = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--check"],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if pending.returncode:
            print("warning: the database has unapplied migrations; pages may fail (use --prepare)")

    proc = log = None
    if options.base_url:
        base = options.base_url.rstrip("/")
    else:
        proc, log, base = start_server(free_port())
    print(f"Screenshots of {base} -> {OUT.relative_to(ROOT)}/")
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                failures, problems = take(browser, base)
            finally:
                browser.close()
    finally:
        if proc is not None:
            stop_server(proc, log)

    for line in problems:
        print(f"warning: {line}")
    for line in failures:
        print(f"error: {line}")
    if log is not None:
        if failures or problems:
            print(f"The dev server's log: {log.name}")
        else:
            os.unlink(log.name)
    if failures:
        return 1
    return 2 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
