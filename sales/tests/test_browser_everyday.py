"""In headless Chromium: "写跟进" is on the first screen of every lead, customer and opportunity page
at desk and phone width and opens the follow-up form in one click; stages are ordered by dragging
and won/lost stay last."""

import os

import pytest

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from crm.demo import DemoContext, seed_organization
from crm.tests.test_browser import CHROMIUM_ARGS, TIMEOUT_MS, _log_in, browser  # noqa: F401

pytestmark = pytest.mark.browser

SIZES = {"desk": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}


@pytest.fixture
def demo_people(transactional_db):
    ctx = DemoContext(size="small", seed=1)
    seed_organization(ctx)
    return ctx.users


@pytest.mark.parametrize("size", list(SIZES))
def test_write_a_followup_is_one_click_away_on_every_record_page(browser, live_server, demo_people, size):
    from customers.models import Customer
    from sales import services
    from sales.models import Lead

    rep = demo_people["rep1"]
    lead = Lead.objects.create(
        name="孙丽娜", mobile="13900001111", owner=rep, department=rep.department, status=Lead.Status.ASSIGNED
    )
    customer = Customer.objects.create(name="钱家豪", mobile="13900002222", owner=rep, department=rep.department)
    opportunity = services.open_opportunity(actor=rep, customer=customer, name="数学提高班")
    context = browser.new_context(viewport=SIZES[size], locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        _log_in(page, live_server.url, "rep1")
        for url, form in [
            (f"/sales/leads/{lead.pk}/", f"lead={lead.pk}"),
            (f"/customers/{customer.pk}/", f"customer={customer.pk}"),
            (f"/sales/opportunities/{opportunity.pk}/", f"opportunity={opportunity.pk}"),
        ]:
            page.goto(live_server.url + url)
            button = page.locator('[data-testid="write-followup"]')
            assert button.inner_text().strip() == "写跟进", url
            box = button.bounding_box()
            assert box is not None and box["y"] + box["height"] <= SIZES[size]["height"], (url, box)
            assert box["x"] >= 0 and box["x"] + box["width"] <= SIZES[size]["width"], (url, box)
            with page.expect_navigation():
                button.click()
            assert "/sales/followups/new/" in page.url and form in page.url, page.url
            assert page.locator("textarea[name=content]").is_visible()
    finally:
        context.close()


def test_stages_are_ordered_by_dragging_and_won_and_lost_stay_last(browser, live_server, demo_people):
    from sales.models import OpportunityStage
    from sales.services.opportunities import ensure_default_stages

    ensure_default_stages()
    context = browser.new_context(viewport=SIZES["desk"], locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)

    def names():
        return list(OpportunityStage.objects.order_by("position").values_list("name", flat=True))

    try:
        _log_in(page, live_server.url, "director")
        page.goto(live_server.url + "/sales/opportunities/stages/")
        rows = page.locator('[data-testid="stage-row"]')
        rows.nth(3).drag_to(rows.nth(0), target_position={"x": 20, "y": 2})
        page.locator("#stage-order-alerts .alert-success").wait_for()
        assert names() == ["商务谈判", "初步接触", "需求分析", "方案/试听课", "赢单", "输单"]
        page.reload()
        rows = page.locator('[data-testid="stage-row"]')
        rows.nth(0).drag_to(rows.nth(5), target_position={"x": 20, "y": 30})  # below 输单: lands before 赢单
        page.locator("#stage-order-alerts .alert-success").wait_for()
        assert names() == ["初步接触", "需求分析", "方案/试听课", "商务谈判", "赢单", "输单"]
    finally:
        context.close()
