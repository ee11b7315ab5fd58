"""A product launch walked in headless Chromium: marketing asks, the director approves, a rep sees
the product on sale and the price the policy gives — on a phone."""

import os
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

# Playwright's sync API runs an asyncio loop in this thread (see crm/tests/test_browser.py)
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from crm.demo import DemoContext, seed_organization
from crm.tests.test_browser import _log_in, browser  # noqa: F401 — the browser fixture

pytestmark = pytest.mark.browser


@pytest.fixture
def shelf(transactional_db):
    from catalog.models import Category, Product, SalesPolicy, Sku
    from catalog.services import catalogue, policies

    ctx = DemoContext(size="small", seed=1)
    seed_organization(ctx)
    one = catalogue.save_category(category=Category(name="一对一"))
    product = catalogue.save_product(
        product=Product(code="EDU-MATH", name="初中数学一对一", category=one),
        actor=ctx.users["marketing"],
    )
    catalogue.save_sku(
        sku=Sku(
            product=product,
            code="EDU-MATH-48",
            name="48课时",
            list_price=Decimal(13800),
        )
    )
    policies.save_policy(policy=SalesPolicy(name="一对一九折", kind="percent", percent_off=Decimal(10), category=one))
    return product


def test_marketing_launches_the_director_approves_and_a_rep_sees_the_price(
    browser,
    live_server,
    shelf,
):
    base = live_server.url
    today = timezone.localdate().isoformat()

    marketing = browser.new_context(locale="zh-CN")
    page = marketing.new_page()
    _log_in(page, base, "marketing")
    page.goto(f"{base}/catalog/products/{shelf.pk}/")
    page.locator("#id_sale_from").fill(today)
    with page.expect_navigation():
        page.get_by_role("button", name="提交审批").click()
    assert page.get_by_test_id("product-status").inner_text() == "待审批"
    marketing.close()

    director = browser.new_context(locale="zh-CN")
    page = director.new_page()
    _log_in(page, base, "director")
    page.goto(f"{base}/approvals/")
    with page.expect_navigation():
        page.get_by_text("产品上线：初中数学一对一").first.click()
    with page.expect_navigation():
        page.get_by_test_id("approve").click()
    director.close()

    rep = browser.new_context(
        locale="zh-CN",
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
    )
    page = rep.new_page()
    _log_in(page, base, "rep1")
    page.goto(f"{base}/catalog/products/{shelf.pk}/")
    assert page.get_by_test_id("sale-state").inner_text() == "在售"
    sku = page.get_by_test_id("skus").inner_text()
    assert "EDU-MATH-48" in sku and "¥13,800.00" in sku
    page.goto(f"{base}/catalog/price-check/")
    page.locator("#id_sku").select_option(label="EDU-MATH-48 48课时")
    with page.expect_navigation():
        page.get_by_role("button", name="计算价格").click()
    assert page.get_by_test_id("quote-price").inner_text() == "¥12,420.00"
    assert page.get_by_test_id("quote-policy").inner_text() == "一对一九折"

    # the order form shows each line's price for this customer before the order is saved
    from crm.models import User
    from customers.models import Customer, Order

    rep1 = User.objects.get(username="rep1")
    customer = Customer.objects.create(name="钱家豪", mobile="13900002222", owner=rep1, department=rep1.department)
    page.goto(f"{base}/customers/{customer.pk}/orders/new/")
    expect(page.locator("#price-preview")).to_contain_text("在明细中选择 SKU，即可看到此客户适用的价格。")
    page.locator("#id_lines-0-sku").fill("EDU-MATH-48")
    page.locator("#id_lines-0-quantity").fill("2")
    page.locator("#id_lines-0-quantity").dispatch_event("change")
    line = page.get_by_test_id("price-preview-line")
    expect(line).to_have_count(1)
    expect(line.get_by_test_id("price-preview-price")).to_have_text("¥12,420.00")
    expect(line.get_by_test_id("price-preview-policy")).to_have_text("一对一九折")
    expect(page.get_by_test_id("price-preview-total")).to_have_text("¥24,840.00")
    assert page.evaluate("() => document.documentElement.scrollWidth") == 390
    assert not Order.objects.filter(customer=customer).exists()
    with page.expect_navigation():
        page.get_by_role("button", name="保存").click()
    assert Order.objects.get(customer=customer).amount == Decimal("24840.00")
    rep.close()
