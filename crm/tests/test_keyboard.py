"""Every action by keyboard, in headless Chromium at desk (1366×768) and phone (390×844) sizes: the skip
link is the first Tab stop and brings the follow-up form within a few presses; a failed submit puts
the focus on an error summary whose links lead to the fields; a card of the opportunity board moves
to another stage by its "移动到…" button, announced in the board's live region."""

import os

import pytest

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from crm.demo import DemoContext, seed_organization
from crm.tests.browser import VIEWPORTS
from crm.tests.test_browser import TIMEOUT_MS, _log_in, browser  # noqa: F401

pytestmark = pytest.mark.browser


@pytest.fixture
def rep_with_a_customer(transactional_db):
    from customers.models import Customer
    from sales import services

    ctx = DemoContext(size="small", seed=1)
    seed_organization(ctx)
    rep = ctx.users["rep1"]
    customer = Customer.objects.create(name="钱家豪", mobile="13900002222", owner=rep, department=rep.department)
    opportunity = services.open_opportunity(actor=rep, customer=customer, name="数学提高班", amount=8800)
    return customer, opportunity


def focused(page):
    """What has the focus: its tag, id, name and text."""
    return page.evaluate(
        """() => { const el = document.activeElement; return {tag: el.tagName.toLowerCase(), id: el.id,
        name: el.getAttribute('name') || '', text: el.innerText ? el.innerText.trim() : '',
        summary: el.hasAttribute('data-error-summary')}; }"""
    )


def open_page(browser, live_server, size):
    context = browser.new_context(viewport=VIEWPORTS[size], locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    _log_in(page, live_server.url, "rep1")
    return page


@pytest.mark.parametrize("size", sorted(VIEWPORTS))
def test_the_skip_link_brings_the_followup_form_within_a_few_tab_presses(
    browser, live_server, rep_with_a_customer, size
):
    customer, _ = rep_with_a_customer
    page = open_page(browser, live_server, size)
    try:
        page.goto(f"{live_server.url}/sales/followups/new/?customer={customer.pk}")
        page.keyboard.press("Tab")
        assert focused(page)["text"] == "跳到主要内容"  # the first Tab stop of the page
        assert page.locator(".skip-link").is_visible()  # shown when it has the focus
        page.keyboard.press("Enter")
        assert focused(page)["id"] == "main"
        presses = 0
        while focused(page)["name"] != "channel" and presses < 10:
            page.keyboard.press("Tab")
            presses += 1
        # the breadcrumb's two links (hidden on a phone), then the form's first field (27 presses
        # before there was a skip link)
        assert (focused(page)["name"], presses) == ("channel", 3 if size == "desk" else 1)
    finally:
        page.context.close()


@pytest.mark.parametrize("size", sorted(VIEWPORTS))
def test_a_failed_submit_puts_the_focus_on_an_error_summary_linking_to_the_field(
    browser, live_server, rep_with_a_customer, size
):
    from playwright.sync_api import expect

    customer, _ = rep_with_a_customer
    page = open_page(browser, live_server, size)
    try:
        page.goto(f"{live_server.url}/sales/followups/new/?customer={customer.pk}")
        with page.expect_navigation():
            page.locator("main form button[type=submit]").click()  # nothing written: refused
        summary = page.locator("[data-testid=error-summary]")
        expect(summary).to_have_attribute("role", "alert")
        assert focused(page)["summary"] is True
        link = summary.get_by_role("link")
        expect(link).to_have_count(1)
        expect(link).to_have_attribute("href", "#id_content")
        content = page.locator("#id_content")
        # the error stays beside the field, which says it is invalid and what is wrong
        expect(content).to_have_attribute("aria-invalid", "true")
        expect(content).to_have_attribute("aria-describedby", "id_content_error")
        expect(page.locator("#id_content_error")).to_have_text(link.inner_text().split("：", 1)[1])
        page.keyboard.press("Tab")
        page.keyboard.press("Enter")  # the link of the one error
        assert focused(page)["id"] == "id_content"
        page.keyboard.type("约了周六试听")
        with page.expect_navigation():
            page.locator("main form button[type=submit]").click()
        expect(page.locator(".alert-success")).to_contain_text("跟进已记录")
    finally:
        page.context.close()


@pytest.mark.parametrize("size", sorted(VIEWPORTS))
def test_a_board_card_moves_to_another_stage_by_keyboard(browser, live_server, rep_with_a_customer, size):
    from playwright.sync_api import expect

    from sales.models import Opportunity, OpportunityStage

    _, opportunity = rep_with_a_customer
    second = OpportunityStage.objects.order_by("position")[1]
    page = open_page(browser, live_server, size)
    try:
        page.goto(f"{live_server.url}/sales/opportunities/board/")
        expect(page.locator("[data-testid=keyboard-hint]")).to_contain_text("移动到…")
        card = page.locator(f".kanban-card[data-id='{opportunity.pk}']")
        button = card.get_by_role("button", name="移动到…")
        button.focus()
        page.keyboard.press("Enter")
        dialog = page.locator("[data-testid=move-modal]")
        expect(dialog).to_be_visible()
        expect(dialog.locator(".modal-title")).to_contain_text("数学提高班")
        # the current stage is not offered; the focus is on the first other one
        expect(dialog.get_by_role("button", name="初步接触")).to_be_disabled()
        page.wait_for_function("() => document.activeElement.matches('[data-move-to]')")  # once it has opened
        assert focused(page)["text"] == second.name
        page.keyboard.press("Enter")
        status = page.locator("#board-alerts [role=status]")
        expect(status).to_contain_text("数学提高班")  # said in the live region
        expect(
            page.locator(f".kanban-column[data-stage='{second.pk}'] .kanban-card[data-id='{opportunity.pk}']")
        ).to_have_count(1)
        assert Opportunity.objects.get(pk=opportunity.pk).stage == second
        # the focus is back on the card, in its new column
        page.wait_for_function("() => document.activeElement.matches('.kanban-card [data-move]')")
        assert page.evaluate("() => document.activeElement.closest('.kanban-column').dataset.stage") == str(second.pk)
    finally:
        page.context.close()
