"""A persona's day in headless Chromium: rep1 signs a contract from a won opportunity with three
instalments and records a payment; manager1 finds it on the collections dashboard and drills down."""

import datetime
import os
from decimal import Decimal

import pytest

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from crm.demo import DemoContext, seed_organization
from crm.tests.test_browser import TIMEOUT_MS, _log_in, browser  # noqa: F401

pytestmark = pytest.mark.browser


@pytest.fixture
def demo_people(transactional_db):
    ctx = DemoContext(size="small", seed=1)
    seed_organization(ctx)
    return ctx.users


def test_rep_signs_and_collects_and_the_manager_drills_down(browser, live_server, demo_people):
    from django.utils import timezone

    from contracts.models import Contract
    from customers.models import Customer
    from sales.models import Opportunity, OpportunityStage

    rep = demo_people["rep1"]
    won = OpportunityStage.objects.create(name="赢单", position=9, probability=100, is_won=True)
    customer = Customer.objects.create(name="钱家豪", mobile="13900002222", owner=rep, department=rep.department)
    Opportunity.objects.create(
        name="初中数学全年辅导",
        customer=customer,
        owner=rep,
        department=rep.department,
        stage=won,
        amount=Decimal("36000"),
        closed_at=timezone.now(),
    )
    today = timezone.localdate()
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        _log_in(page, live_server.url, "rep1")
        page.goto(live_server.url + "/contracts/new/")
        page.get_by_text("初中数学全年辅导").click()
        page.fill("#id_number", "HT-2026-0001")
        for index in range(3):
            due = today + datetime.timedelta(days=30 * index - 45)
            page.fill(f"#id_plan-{index}-due_on", due.isoformat())
            page.fill(f"#id_plan-{index}-amount", "12000")
        with page.expect_navigation():
            page.get_by_role("button", name="签订合同").click()
        errors = page.locator(".invalid-feedback, .alert-danger").all_inner_texts()
        assert errors == []
        contract = Contract.objects.get(number="HT-2026-0001")
        assert page.url.endswith(f"/contracts/{contract.pk}/")
        assert page.locator('[data-testid="instalments"] tbody tr').count() == 3
        form = page.locator('[data-testid="payment-form"]')
        form.locator("input[name=amount]").fill("15000")
        form.locator("input[name=reference]").fill("招商银行转账")
        form.get_by_role("button", name="登记回款").click()
        page.locator('[data-testid="payments"] tbody tr').first.wait_for()
        assert page.locator('[data-testid="received"]').inner_text().strip() == "¥15,000.00"
        contract.refresh_from_db()
        assert [str(i.received) for i in contract.instalments.order_by("sequence")] == ["12000.00", "3000.00", "0.00"]
        context.clear_cookies()

        _log_in(page, live_server.url, "manager1")
        page.goto(live_server.url + f"/contracts/collections/?year={today.year}")
        groups = page.locator('[data-testid="groups"] tbody tr')
        assert groups.count() == 1
        assert groups.first.locator("td").first.inner_text().strip() == "王小明"
        # first instalment settled; the second (15 days late) has 9,000 outstanding in 1–30 days
        assert groups.first.locator("td").nth(3).inner_text().strip() == "9,000.00"
        groups.first.locator("td").nth(4).locator("a").click()
        page.locator("table tbody tr").first.wait_for()
        rows = page.locator("table tbody tr")
        assert rows.count() == 1
        assert "HT-2026-0001" in rows.first.inner_text()
    finally:
        context.close()
