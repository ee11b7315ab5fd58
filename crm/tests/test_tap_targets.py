"""On a phone (390×844) the top bar's bell, the one way to the notifications there, is a 44×44 target
like every other phone control, a list's sort links are 44 px tall, the task list is a card per
task with thumb-sized buttons, and the page does not scroll sideways."""

import datetime
import os

import pytest
from django.utils import timezone
from playwright.sync_api import expect

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from crm.demo import DemoContext, seed_organization
from crm.models import User
from crm.tests.browser import DESK, PHONE, axe_violations
from crm.tests.test_browser import TIMEOUT_MS, _log_in, browser  # noqa: F401
from customers.tests.factories import CustomerFactory
from sales.models import FollowUp, Task

pytestmark = pytest.mark.browser


@pytest.fixture
def organization(transactional_db):
    seed_organization(DemoContext(size="small", seed=1))


@pytest.fixture
def customer(organization):
    """One of rep1's customers, with one follow-up (so the follow-ups list has a table)."""
    rep1 = User.objects.get(username="rep1")
    customer = CustomerFactory(owner=rep1, name="陈一鸣")
    FollowUp.objects.create(customer=customer, content="约试听", created_by=rep1, department=rep1.department)
    return customer


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


def _header_link_heights(page, url):
    page.goto(url)
    return page.locator("table thead th > a").evaluate_all("links => links.map(a => a.getBoundingClientRect().height)")


def test_a_lists_sort_links_are_44_pixels_tall_on_a_phone_and_compact_on_a_desk(browser, live_server, customer):
    heights = {}
    for name, viewport in (("phone", PHONE), ("desk", DESK)):
        context = browser.new_context(viewport=viewport, locale="zh-CN")
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        try:
            _log_in(page, live_server.url, "rep1")
            heights[name] = _header_link_heights(page, f"{live_server.url}/sales/followups/")
            if name == "phone":
                assert page.evaluate("() => document.documentElement.scrollWidth") == PHONE["width"]
        finally:
            context.close()
    assert len(heights["phone"]) == len(heights["desk"]) == 6  # every column but "customer or lead"
    assert [height >= 44 for height in heights["phone"]] == [True] * 6
    assert [height < 30 for height in heights["desk"]] == [True] * 6


def test_the_task_list_is_a_card_per_task_with_a_thumb_sized_complete_button_on_a_phone(browser, live_server, customer):
    rep1 = User.objects.get(username="rep1")
    Task.objects.create(
        title="回访家长确认试听时间并发送课程表",
        assignee=rep1,
        customer=customer,
        due_at=timezone.make_aware(datetime.datetime(2099, 1, 5, 10, 0)),
    )
    context = browser.new_context(viewport=PHONE, locale="zh-CN", bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        _log_in(page, live_server.url, "rep1")
        page.goto(f"{live_server.url}/sales/tasks/")
        assert axe_violations(page) == []
        card = page.locator("[data-testid=task-card]")
        expect(card).to_have_count(1)
        expect(page.locator("table")).to_be_hidden()
        expect(card.locator(".title")).to_have_text("回访家长确认试听时间并发送课程表")
        expect(card.locator("[data-testid=task-due]")).to_have_text("2099-01-05 10:00")
        expect(card.locator("[data-testid=task-related]")).to_have_text(customer.name)
        title = card.locator(".title").bounding_box()
        assert title["height"] < 30  # one line, not a character a line
        for testid in ("task-related", "task-complete"):
            box = card.locator(f"[data-testid={testid}]").bounding_box()
            assert box["height"] >= 44
        assert page.evaluate("() => document.documentElement.scrollWidth") == PHONE["width"]
        card.locator("[data-testid=task-complete]").click()
        expect(page.locator("[data-testid=task-card]")).to_have_count(0)
        assert Task.objects.get(assignee=rep1).status == Task.Status.DONE
    finally:
        context.close()


def test_a_settings_tables_buttons_are_44_pixels_and_stay_on_screen_on_a_phone(browser, live_server, organization):
    """The dunning levels (like the other settings tables) on a phone: every button is a 44 px target,
    a row's edit and delete buttons stack in their cell instead of pushing the table sideways, and
    removing a level asks first."""
    import importlib

    from django.apps import apps as django_apps

    from contracts.models import DunningLevel

    importlib.import_module("contracts.migrations.0005_seed_default_dunning_levels").seed(django_apps, None)
    levels = DunningLevel.objects.filter(instalment__isnull=True).count()
    assert levels > 1
    context = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        _log_in(page, live_server.url, "admin")
        page.goto(f"{live_server.url}/contracts/dunning-levels/")
        heights = page.locator("main .btn:visible").evaluate_all(
            "buttons => buttons.map(b => b.getBoundingClientRect().height)"
        )
        assert len(heights) == 2 * levels + 1  # edit and delete per level, and "add the level"
        assert [height >= 44 for height in heights] == [True] * len(heights)
        scroller = page.get_by_test_id("dunning-levels").locator("xpath=..")
        assert scroller.evaluate("el => el.scrollWidth <= el.clientWidth")
        assert page.evaluate("() => document.documentElement.scrollWidth") == PHONE["width"]
        page.get_by_test_id("dunning-levels").get_by_role("button", name="删除级别").first.click()
        modal = page.locator("#confirm-modal")
        expect(modal).to_be_visible()
        expect(modal).to_contain_text("删除此级别？已发出的提醒保留。")
        modal.locator(".js-confirm-ok").click()
        expect(page.get_by_test_id("dunning-levels").get_by_role("button", name="删除级别")).to_have_count(levels - 1)
        assert DunningLevel.objects.filter(instalment__isnull=True).count() == levels - 1
    finally:
        context.close()
