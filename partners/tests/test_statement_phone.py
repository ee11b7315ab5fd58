"""A settlement statement on a phone (390×844), for the channel manager and in the partner portal:
each line a card with its amount beside its kind, the total after the lines, nothing to scroll
sideways to; from md up the table as before."""

import datetime
import os
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from crm.demo import DemoContext, seed_organization
from crm.models import User
from crm.tests.browser import DESK, PHONE
from crm.tests.test_browser import TIMEOUT_MS, _log_in, browser  # noqa: F401
from customers.models import Order
from customers.tests.factories import CustomerFactory
from partners.models import Statement, StatementLine
from partners.services.portal import create_portal_user

from .factories import PartnerFactory


def _statement(owner):
    """杭州云帆's November: a commission on a long-named customer's order and a deduction, 1,234.56 in all."""
    partner = PartnerFactory(owner=owner, status="active", name="杭州云帆")
    statement = Statement.objects.create(partner=partner, period=datetime.date(2026, 11, 1), status="approved")
    order = Order.objects.create(
        customer=CustomerFactory(owner=owner, name="上海浦东新区张江高科技园区某某教育科技有限公司"),
        amount=Decimal("25691.20"),
        placed_at=timezone.now(),
    )
    StatementLine.objects.create(
        statement=statement, kind="accrual", order=order, base=Decimal("25691.20"), amount=Decimal("1284.56")
    )
    StatementLine.objects.create(statement=statement, kind="adjustment", amount=Decimal("-50.00"), note="物料费")
    Statement.objects.filter(pk=statement.pk).update(total=Decimal("1234.56"))
    return statement


def test_the_statement_page_has_a_card_per_line_and_the_total_for_the_phone(client, org):
    statement = _statement(org.rep1)
    client.force_login(org.manager1)
    html = client.get(reverse("partners:statement", args=[statement.pk])).content.decode()
    assert html.count('data-testid="statement-line-card"') == 2
    assert 'data-testid="statement-total-phone">¥1,234.56<' in html
    assert 'data-testid="line-amount">¥1,284.56<' in html
    assert 'data-testid="statement-total">¥1,234.56<' in html  # the desktop table's, as before
    assert '<div class="card mb-3 d-none d-md-block"><div class="table-responsive">' in html


def test_the_portals_statement_has_the_same_cards(client, org):
    statement = _statement(org.rep1)
    create_portal_user(partner=statement.partner, username="p-yunfan", name="云帆账号", password="crm-demo-123")
    client.force_login(User.objects.get(username="p-yunfan"))
    html = client.get(reverse("portal:statement", args=[statement.pk])).content.decode()
    assert html.count('data-testid="statement-line-card"') == 2
    assert 'data-testid="statement-total-phone">¥1,234.56<' in html
    assert "订单编号：" in html


@pytest.mark.browser
def test_on_a_phone_the_statement_reads_without_scrolling_sideways(browser, live_server, transactional_db):
    seed_organization(DemoContext(size="small", seed=1))
    statement = _statement(User.objects.get(username="rep1"))
    for viewport in (PHONE, DESK):
        context = browser.new_context(viewport=viewport, locale="zh-CN")
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        try:
            _log_in(page, live_server.url, "manager1")
            page.goto(live_server.url + reverse("partners:statement", args=[statement.pk]))
            phone = viewport == PHONE
            expect(page.locator("[data-testid=statement-total-phone]")).to_be_visible(visible=phone)
            expect(page.locator("[data-testid=statement-lines]")).to_be_visible(visible=not phone)
            if phone:
                expect(page.locator("[data-testid=statement-total-phone]")).to_have_text("¥1,234.56")
                expect(page.locator("[data-testid=line-amount]").first).to_be_in_viewport()
                assert page.evaluate("() => document.documentElement.scrollWidth") == PHONE["width"]
        finally:
            context.close()
