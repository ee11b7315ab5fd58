"""月报 in headless Chromium: rep1 writes the note of last month's report at the desk, manager1
reads and comments on it on a phone, and rep1 finds the comment in the notifications."""

import datetime
import os

import pytest

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from crm.demo import DemoContext, seed_organization
from crm.tests.browser import DESK, PHONE
from crm.tests.test_browser import TIMEOUT_MS, _log_in, browser  # noqa: F401

pytestmark = pytest.mark.browser


@pytest.fixture
def reports(transactional_db):
    from django.utils import timezone

    from sales.services import performance

    seed_organization(DemoContext(size="small", seed=1))
    last_month = timezone.localdate().replace(day=1) - datetime.timedelta(days=1)
    performance.generate_reports(kind="monthly", day=last_month)
    return last_month.replace(day=1)


def test_rep_notes_manager_comments_on_a_phone_and_the_rep_is_told(browser, live_server, reports):
    from sales.models import Report

    base = live_server.url
    report = Report.objects.get(user__username="rep1", kind="monthly")
    desk = browser.new_context(viewport=DESK, locale="zh-CN")
    page = desk.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    _log_in(page, base, "rep1")
    page.goto(f"{base}/sales/reports/?kind=monthly")
    assert page.get_by_test_id("report").count() == 1
    page.get_by_test_id("report").locator("textarea[name=note]").fill("本月试听转化偏低，下月加强回访。")
    with page.expect_navigation():
        page.get_by_test_id("report").get_by_role("button", name="保存").click()
    desk.close()

    phone = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True, has_touch=True)
    page = phone.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    _log_in(page, base, "manager1")
    page.goto(f"{base}/sales/reports/?kind=monthly&team=1")
    page.goto(f"{base}/sales/reports/{report.pk}/")
    assert page.get_by_test_id("report-note").inner_text() == "本月试听转化偏低，下月加强回访。"
    page.locator("#id_comment").fill("方向对，注意老客转介绍。")
    with page.expect_navigation():
        page.get_by_role("button", name="点评并标记已读").click()
    assert page.get_by_test_id("report-comment").inner_text().endswith("方向对，注意老客转介绍。")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    phone.clear_cookies()
    _log_in(page, base, "rep1")
    page.goto(f"{base}/notifications/")
    assert page.get_by_text(f"陈经理 点评了你的报告（按月，{reports:%Y-%m-%d}）").count() == 1
    phone.close()
