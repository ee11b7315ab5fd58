"""A phone day in headless Chromium at 390×844, on the demo data, by tapping: rep1 clocks in (the
browser grants and fakes the position), sees today's reminders and completes one, checks in at a
customer with a photo from the camera (a file input), checks out, calls the customer and logs the
call, claims a customer from the pool; manager1 sees the visit among today's team visits (verified)
and approves rep1's control point with a comment. Screenshots of the phone pages go to docs/screenshots/ only when asked
(``pytest --persona-shots`` or ``make persona-screenshots``)."""

import io
import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from crm.tests.personas import shots_wanted
from crm.tests.test_browser import TIMEOUT_MS, Problems, _log_in, browser  # noqa: F401

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
#: where the phone says it is: at the team's office in the morning, then 80 m north of the customer
OFFICE = {"latitude": 31.1712, "longitude": 121.3988, "accuracy": 15}
HERE = {"latitude": 31.1775, "longitude": 121.4153, "accuracy": 20}


@pytest.fixture
def demo(transactional_db, settings, tmp_path):
    from django.core.management import call_command

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MAP_PROVIDER, settings.MAP_PROVIDER_KEY = "amap", ""
    call_command("seed_demo", "--size", "small", stdout=io.StringIO())


def _photo(path):
    from PIL import Image

    image = Image.new("RGB", (1200, 900), (60, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    image.save(path, format="JPEG", exif=exif)
    return path


def _shot(page, name):
    if not shots_wanted():
        return
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"phone-{name}.png"))


def _tap_and_wait(page, locator):
    with page.expect_navigation():
        locator.tap()


def _located(page):
    page.wait_for_selector("[data-geo-status][data-located]")


def test_a_reps_and_a_managers_day_on_the_phone(browser, live_server, demo, tmp_path):
    from django.utils import timezone

    from crm.models import ApprovalRequest, User
    from customers.models import Customer
    from field.geo import distance_m
    from field.models import ClockIn, Visit
    from sales.models import FollowUp, Reminder
    from sales.views.work import reminder_panel

    rep1 = User.objects.get(username="rep1")
    customer = Customer.objects.filter(owner=rep1, latitude__isnull=False).order_by("id").first()
    panel = reminder_panel(rep1)
    due = panel["reminders_overdue"] + panel["reminders_today"]
    waiting = ApprovalRequest.objects.get(requested_by=rep1, status=ApprovalRequest.Status.PENDING)

    context = browser.new_context(
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        geolocation=OFFICE,
        permissions=["geolocation", "clipboard-read", "clipboard-write"],
    )
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    problems = Problems(page, live_server.url)
    try:
        problems.step = "rep1 logs in"
        _log_in(page, live_server.url, "rep1")
        tabs = page.locator('[data-testid="tabbar"] a')
        assert [t.strip() for t in tabs.all_inner_texts()] == ["工作台", "客户", "线索", "商机", "我的"]
        assert page.locator("nav.sidebar").is_hidden()
        box = tabs.first.bounding_box()
        assert box["height"] >= 56 and box["y"] + box["height"] <= PHONE["height"]
        _shot(page, "workbench")

        problems.step = "clock in"
        _tap_and_wait(page, page.locator('[data-tab="field:me"]'))
        _shot(page, "mine")
        _tap_and_wait(page, page.get_by_test_id("me-clock-link"))
        _located(page)
        assert page.get_by_test_id("geo-status").inner_text() == "已定位（±15 米）。"
        _shot(page, "clock")
        _tap_and_wait(page, page.get_by_test_id("clock-button"))
        clock = ClockIn.objects.get(user=rep1, day=timezone.localdate())
        assert (clock.kind, float(clock.latitude), clock.accuracy_m, clock.is_outside) == ("start", 31.1712, 15, False)
        assert clock.site.name == "一部一组 · 漕河泾"
        assert clock.evidence_check == ("verified", []) and clock.evidence["device"].startswith("Mozilla/")
        expect(page.get_by_test_id("clock-start").get_by_test_id("evidence")).to_have_text("已验证")
        assert page.get_by_test_id("clock-start").inner_text().split("\n")[1] == timezone.localtime(clock.at).strftime(
            "%H:%M"
        )
        _shot(page, "clocked-in")

        problems.step = "today's reminders"
        _tap_and_wait(page, page.get_by_role("link", name="今日提醒与任务"))
        rows = page.locator('[data-testid="today-reminders"] [data-reminder]')
        assert rows.count() == len(due)
        assert [rows.nth(i).locator(".fw-semibold").inner_text() for i in range(rows.count())] == [r.title for r in due]
        _shot(page, "today")
        _tap_and_wait(page, rows.first.get_by_role("button", name="完成"))
        assert Reminder.objects.get(pk=due[0].pk).status == Reminder.Status.DONE
        assert page.locator('[data-testid="today-reminders"] [data-reminder]').count() == len(due) - 1

        problems.step = "open the customer"
        _tap_and_wait(page, page.locator('[data-tab="customers:list"]'))
        assert page.get_by_test_id("record-card").count() >= 1
        _shot(page, "customers")
        page.locator("header.topbar input[name=q]").fill(customer.name)
        with page.expect_navigation():
            page.locator("header.topbar input[name=q]").press("Enter")
        _tap_and_wait(page, page.locator("main").get_by_role("link", name=customer.name).first)
        assert page.get_by_test_id("phone-actions").is_visible()
        _shot(page, "customer")

        problems.step = "check in"
        context.set_geolocation(HERE)  # the rep has walked to the customer
        _tap_and_wait(page, page.get_by_test_id("phone-check-in"))
        _located(page)
        page.locator("input[type=file][name=photo]").set_input_files(_photo(tmp_path / "camera.jpg"))
        page.locator("textarea[name=notes]").fill("上门送课程资料")
        _shot(page, "check-in")
        _tap_and_wait(page, page.get_by_test_id("check-in-button"))
        visit = Visit.objects.get(user=rep1, ended_at__isnull=True)
        expected = distance_m(HERE["latitude"], HERE["longitude"], customer.latitude, customer.longitude)
        assert visit.distance_m == expected
        assert page.get_by_test_id("visit-distance").inner_text() == f"距客户 {expected} 米"
        photo = page.get_by_test_id("visit-photo")
        photo.scroll_into_view_if_needed()
        expect(photo).to_be_visible()
        assert photo.evaluate("img => img.naturalWidth") == 1200 and bool(visit.photo)
        assert visit.followup.channel == FollowUp.Channel.VISIT
        # the signed bundle holds the photo's hash; the visit is within the customer's learned radius
        assert visit.evidence_status == "verified" and visit.evidence["photo_sha256"] == visit.photo_sha256
        assert visit.customer.check_in_radius.radius_m >= expected and not visit.is_outside
        expect(page.get_by_test_id("visit-evidence").get_by_test_id("evidence")).to_have_text("已验证")
        page.locator("textarea[name=notes]").fill("家长约了周六试听")
        _tap_and_wait(page, page.get_by_test_id("check-out-button"))
        visit.refresh_from_db()
        assert visit.duration_minutes == 0 and visit.notes == "上门送课程资料\n家长约了周六试听"
        _shot(page, "visit")

        problems.step = "call and log it"
        _tap_and_wait(page, page.get_by_role("link", name="打开客户"))
        _tap_and_wait(page, page.get_by_test_id("phone-call"))
        dial = page.get_by_test_id("dial")
        assert dial.get_attribute("href") == f"tel:{customer.mobile}"
        page.locator("select[name=outcome]").select_option("appointment")
        page.locator("#log-call textarea[name=content]").fill("约好周六上午试听")
        _shot(page, "call")
        _tap_and_wait(page, page.get_by_test_id("log-call"))
        call = FollowUp.objects.filter(customer=customer, channel=FollowUp.Channel.PHONE).latest("at")
        assert (call.content, call.outcome, call.created_by) == ("约好周六上午试听", "appointment", rep1)
        assert "通话已记为一条跟进。" in page.locator("main").inner_text()

        problems.step = "claim a customer from the pool"
        _tap_and_wait(page, page.locator('[data-tab="field:me"]'))
        _tap_and_wait(page, page.get_by_test_id("me-pool"))
        _tap_and_wait(page, page.locator('.nav-tabs a[href^="?tab=customers"]'))
        claim = page.locator("[data-testid=pool-customers] tbody form").first
        pk = int(claim.get_attribute("action").strip("/").split("/")[-2])
        claim.locator("button[type=submit]").scroll_into_view_if_needed()
        _shot(page, "pool")
        _tap_and_wait(page, claim.locator("button[type=submit]"))
        assert Customer.objects.get(pk=pk).owner == rep1
        expect(page.locator(".alert-success")).to_contain_text(Customer.objects.get(pk=pk).name)

        problems.step = "rep1 logs out"
        _tap_and_wait(page, page.locator('[data-tab="field:me"]'))
        _tap_and_wait(page, page.get_by_role("button", name="退出登录"))

        problems.step = "manager1: today's team visits"
        _log_in(page, live_server.url, "manager1")
        _tap_and_wait(page, page.locator('[data-tab="field:me"]'))
        _tap_and_wait(page, page.get_by_test_id("me-team-visits"))
        start = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
        today = Visit.objects.filter(started_at__gte=start).count()
        lines = page.get_by_test_id("team-visit")
        assert lines.count() == today == 2
        # the list runs by start time; before the seeded 08:10 visit, rep1's visit just now comes first
        visit_line = lines.filter(has_text=customer.name)
        assert visit_line.count() == 1 and f"距客户 {expected} 米" in visit_line.inner_text()
        expect(visit_line.get_by_test_id("evidence")).to_have_text("已验证")
        _shot(page, "team-visits")

        problems.step = "manager1 approves the control point"
        _tap_and_wait(page, page.locator('[data-tab="field:me"]'))
        _tap_and_wait(page, page.get_by_test_id("me-approvals"))
        row = page.get_by_test_id("approval-row").filter(has_text=waiting.title)
        row.locator("input[name=comment]").fill("同意，周六前推进签约")
        _shot(page, "approvals")
        _tap_and_wait(page, row.get_by_test_id("approve"))
        step = waiting.steps.get(decided_by__username="manager1")
        assert (step.status, step.comment) == ("approved", "同意，周六前推进签约")
        assert page.get_by_test_id("approval-row").filter(has_text=waiting.title).count() == 0
        # a request cut short by the next tap (net::ERR_ABORTED) is the browser moving on, not a fault
        assert [item for item in problems.items if "net::ERR_ABORTED" not in item] == []
    finally:
        context.close()


def test_a_clock_in_made_offline_waits_on_the_phone_and_is_sent_unverified_once_online(browser, live_server, demo):
    """No network when rep1 taps 上班打卡: the entry stays on the phone as a draft marked 待校验,
    nothing reaches the server; when the connection returns the phone sends it by itself and the
    server keeps it as unverified, with the phone's time."""
    from django.utils import timezone

    from crm.models import User
    from field.models import ClockIn

    rep1 = User.objects.get(username="rep1")
    context = browser.new_context(
        viewport=PHONE,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        geolocation=OFFICE,
        permissions=["geolocation"],
    )
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    problems = Problems(page, live_server.url)
    try:
        problems.step = "rep1 opens the clock page"
        _log_in(page, live_server.url, "rep1")
        _tap_and_wait(page, page.locator('[data-tab="field:me"]'))
        _tap_and_wait(page, page.get_by_test_id("me-clock-link"))
        _located(page)

        problems.step = "the network goes away; the tap makes a draft"
        context.set_offline(True)
        page.wait_for_function("navigator.onLine === false")
        tapped = timezone.now()
        page.get_by_test_id("clock-button").tap()
        drafts = page.get_by_test_id("drafts")
        expect(drafts.locator("[data-draft]")).to_have_count(1)
        expect(drafts).to_contain_text("上班打卡")
        expect(drafts).to_contain_text("待校验")
        _shot(page, "offline-draft")
        assert ClockIn.objects.filter(user=rep1, day=timezone.localdate()).count() == 0
        assert page.evaluate("JSON.parse(localStorage.getItem('crm.field.drafts')).length") == 1

        problems.step = "the network returns; the draft is sent and shown unverified"
        with page.expect_navigation():  # the page reloads once the draft is in
            context.set_offline(False)
        record = ClockIn.objects.get(user=rep1, day=timezone.localdate())
        assert record.client_at is not None and abs((record.client_at - tapped).total_seconds()) < 30
        assert record.evidence_check == ("unverified", ["offline"])
        assert (record.kind, float(record.latitude), record.accuracy_m) == ("start", OFFICE["latitude"], 15)
        expect(page.get_by_test_id("clock-start").get_by_test_id("evidence")).to_have_text("待校验")
        assert page.locator('[data-evidence="verified"]').count() == 0
        assert page.evaluate("JSON.parse(localStorage.getItem('crm.field.drafts') || '[]').length") == 0
        expect(drafts.locator("[data-draft]")).to_have_count(0)
        assert [item for item in problems.items if "net::ERR_ABORTED" not in item] == []
    finally:
        context.close()


def test_a_phone_never_downloads_the_chart_library_a_desk_draws_with(browser, live_server, demo):
    """The manager's workbench names ECharts without loading it: a desk (1366×768) loads it and draws
    the chart, a phone (390×844, the chart hidden) never requests it."""
    for size, draws in (({"width": 1366, "height": 768}, True), (PHONE, False)):
        context = browser.new_context(viewport=size, locale="zh-CN", timezone_id="Asia/Shanghai")
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        problems = Problems(page, live_server.url)
        scripts = []
        page.on("request", lambda request, seen=scripts: seen.append(request.url))
        try:
            problems.step = f"manager1's workbench at {size['width']}"
            _log_in(page, live_server.url, "manager1")
            page.goto(live_server.url + "/")
            page.wait_for_load_state("networkidle")
            loaded = any("echarts" in url for url in scripts)  # the requests of every kind
            assert loaded is draws, scripts
            if draws:
                expect(page.locator('[data-chart="chart-new-customers"] canvas')).to_have_count(1)
            assert [item for item in problems.items if "net::ERR_ABORTED" not in item] == []
        finally:
            context.close()
