"""Issue 17's "done means", walked in headless Chromium at desk size (1366×768), with the contract
and collections pages again on a phone (390×844):

- admin sets a price policy and asks to launch the product; the director approves the launch;
- rep1 wins an opportunity, opens "创建合同" from it (prefilled), signs the contract with three
  instalments, records a payment;
- manager1 sees it on the collections dashboard and drills down to the overdue instalment;
- the dunning job runs twice: the overdue instalment reminds rep1 once, and rep1 reads it.

Screenshots go to ``docs/screenshots/contracts/`` when ``CRM_CONTRACT_SHOTS=1``."""

import datetime
import os
from decimal import Decimal
from pathlib import Path

import pytest

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from crm.demo import DemoContext, seed_organization
from crm.tests.browser import DESK, PHONE
from crm.tests.test_browser import TIMEOUT_MS, _log_in, browser  # noqa: F401

pytestmark = pytest.mark.browser

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "contracts"


@pytest.fixture
def day(transactional_db):
    from django.utils import timezone

    from catalog.models import Category, Product, Sku
    from catalog.services import catalogue
    from customers.models import Customer
    from sales.models import Opportunity, OpportunityStage
    from sales.services.opportunities import ensure_default_stages

    ctx = DemoContext(size="small", seed=1)
    seed_organization(ctx)
    ensure_default_stages()
    one = catalogue.save_category(category=Category(name="一对一"))
    product = catalogue.save_product(
        product=Product(code="EDU-MATH", name="初中数学一对一", category=one), actor=ctx.users["admin"]
    )
    catalogue.save_sku(sku=Sku(product=product, code="EDU-MATH-48", name="48课时", list_price=Decimal(40000)))
    rep = ctx.users["rep1"]
    customer = Customer.objects.create(name="钱家豪", mobile="13900002222", owner=rep, department=rep.department)
    opportunity = Opportunity.objects.create(
        name="初中数学全年辅导",
        customer=customer,
        owner=rep,
        department=rep.department,
        stage=OpportunityStage.objects.get(name="商务谈判"),
        amount=Decimal("36000"),
        stage_entered_at=timezone.now(),
    )
    return {"product": product, "opportunity": opportunity, "users": ctx.users}


def _shot(page, name):
    if os.environ.get("CRM_CONTRACT_SHOTS") == "1":
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _fits(page):
    """Nothing wider than the screen: the page does not scroll sideways."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_launch_win_sign_collect_drill_down_and_remind_once(browser, live_server, day):
    from django.utils import timezone, translation

    from catalog.models import Product
    from contracts.models import Contract
    from contracts.tasks import dispatch_dunning
    from crm.models import Notification

    base = live_server.url
    today = timezone.localdate()
    product, opportunity = day["product"], day["opportunity"]

    # admin: a 10% policy on the SKU, then the launch goes to approval
    desk = browser.new_context(viewport=DESK, locale="zh-CN")
    page = desk.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    _log_in(page, base, "admin")
    page.goto(f"{base}/catalog/policies/new/")
    page.fill("#id_name", "数学九折")
    page.select_option("#id_kind", "percent")
    page.fill("#id_percent_off", "10")
    page.select_option("#id_sku", label="EDU-MATH-48 48课时")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").last.click()
    assert page.locator(".invalid-feedback").all_inner_texts() == []
    page.goto(f"{base}/catalog/products/{product.pk}/")
    page.locator("#id_sale_from").fill(today.isoformat())
    with page.expect_navigation():
        page.get_by_role("button", name="提交审批").click()
    assert page.get_by_test_id("product-status").inner_text() == "待审批"
    desk.clear_cookies()

    # the director approves the launch
    _log_in(page, base, "director")
    page.goto(f"{base}/approvals/")
    with page.expect_navigation():
        page.get_by_text("产品上线：初中数学一对一").first.click()
    with page.expect_navigation():
        page.get_by_test_id("approve").click()
    product.refresh_from_db()
    assert product.status == Product.Status.APPROVED
    desk.clear_cookies()

    # rep1 wins the opportunity; the won page offers 创建合同, prefilled
    _log_in(page, base, "rep1")
    page.goto(f"{base}{opportunity.get_absolute_url()}")
    assert page.get_by_test_id("opportunity-contract").count() == 0
    page.select_option("#move select[name=stage]", label="赢单")
    with page.expect_navigation():
        page.locator("#move button[type=submit]").click()
    assert page.get_by_test_id("current-stage").inner_text() == "赢单"
    with page.expect_navigation():
        page.get_by_test_id("create-contract").click()
    assert page.locator("#id_title").input_value() == "初中数学全年辅导"
    assert page.locator("#id_amount").input_value() == "36000.00"
    page.fill("#id_number", "HT-2026-0001")
    dues = [
        today - datetime.timedelta(days=40),
        today - datetime.timedelta(days=10),
        today + datetime.timedelta(days=20),
    ]
    for index, due in enumerate(dues):
        page.fill(f"#id_plan-{index}-due_on", due.isoformat())
        page.fill(f"#id_plan-{index}-amount", "12000")
    with page.expect_navigation():
        page.get_by_role("button", name="签订合同").click()
    assert page.locator(".invalid-feedback, .alert-danger").all_inner_texts() == []
    contract = Contract.objects.get(number="HT-2026-0001")
    assert page.url == f"{base}/contracts/{contract.pk}/"
    assert page.locator('[data-testid="instalments"] tbody tr').count() == 3
    form = page.get_by_test_id("payment-form")
    form.locator("input[name=amount]").fill("15000")
    form.locator("input[name=reference]").fill("招商银行转账")
    with page.expect_navigation():
        form.get_by_role("button", name="登记回款").click()
    assert page.get_by_test_id("received").inner_text().strip() == "¥15,000.00"
    statuses = page.locator('[data-testid="instalments"] tbody tr td:nth-child(5)').all_inner_texts()
    assert [s.strip() for s in statuses] == ["已结清", "已逾期", "进行中"]
    page.goto(f"{base}{opportunity.get_absolute_url()}")
    assert page.get_by_test_id("contract-link").inner_text() == "HT-2026-0001"
    assert page.get_by_test_id("contract-received").inner_text() == "¥15,000.00"
    page.goto(f"{base}{opportunity.customer.get_absolute_url()}")
    assert page.get_by_test_id("contract-overdue").inner_text() == "¥9,000.00"
    desk.clear_cookies()

    # manager1: the collections dashboard, then the drill-down to the overdue instalment
    _log_in(page, base, "manager1")
    page.goto(f"{base}/contracts/collections/?year={today.year}")
    groups = page.locator('[data-testid="groups"] tbody tr')
    assert groups.count() == 1
    cells = [c.strip() for c in groups.first.locator("td").all_inner_texts()]
    assert (cells[0], cells[3], cells[4]) == ("王小明", "9,000.00", "9,000.00")
    _shot(page, "collections-desk")
    with page.expect_navigation():
        groups.first.locator("td").nth(4).locator("a").click()
    rows = page.locator("table tbody tr")
    assert rows.count() == 1
    assert "HT-2026-0001" in rows.first.inner_text()
    desk.close()

    # the dunning job, twice: one reminder to rep1 about instalment 2 (10 days late)
    with translation.override("zh-hans"):  # the worker's language (this package's tests run in English)
        dispatch_dunning.delay()
        dispatch_dunning.delay()
    reminders = Notification.objects.filter(kind="dunning")
    title = "逾期 10 天：HT-2026-0001 第 2 期，未收 9,000.00"
    assert [(n.recipient.username, n.title) for n in reminders] == [("rep1", title)]

    # rep1 on a phone: the reminder, the contract page
    phone = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True, has_touch=True)
    page = phone.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    _log_in(page, base, "rep1")
    page.goto(f"{base}/notifications/")
    assert page.get_by_text(title).count() == 1
    page.goto(f"{base}/contracts/{contract.pk}/")
    assert page.get_by_test_id("received").inner_text().strip() == "¥15,000.00"
    assert _fits(page)
    _shot(page, "contract-phone")
    phone.clear_cookies()
    _log_in(page, base, "manager1")
    page.goto(f"{base}/contracts/collections/?year={today.year}")
    assert page.get_by_test_id("overdue-total").inner_text() == "¥9,000.00"
    assert _fits(page)
    _shot(page, "collections-phone")
    phone.close()
