"""The policy effect and the business analysis in headless Chromium, at 1366×768 and 390×844: a
manager reads the figures (equal to a recount of the rows), drills down to the order lines behind
one, and every label is Chinese."""

import datetime
import re
from decimal import Decimal

import pytest
from django.utils import timezone

from crm.tests.browser import VIEWPORTS, chromium, signed_in_page  # noqa: F401 — the chromium fixture
from crm.tests.personas import Person

pytestmark = pytest.mark.browser
ENGLISH = re.compile(r"\b(?!XLSX\b|GMV\b|SKU\b)[A-Za-z]{3,}\b")


@pytest.fixture
def sold(transactional_db):
    from catalog.models import Category, Product, SalesPolicy, Sku
    from catalog.services import catalogue, policies
    from crm.demo import DemoContext, seed_organization
    from customers.services import place_order
    from customers.tests.factories import CustomerFactory

    ctx = DemoContext(size="small", seed=1)
    seed_organization(ctx)
    one = catalogue.save_category(category=Category(name="一对一"))
    product = catalogue.save_product(product=Product(code="EDU-MATH", name="初中数学一对一", category=one))
    Product.objects.filter(pk=product.pk).update(status="approved", sale_from=datetime.date(2020, 1, 1))
    catalogue.save_sku(
        sku=Sku(product=product, code="EDU-MATH-48", name="48课时", list_price=Decimal(1000), cost=Decimal(400))
    )
    policies.save_policy(
        policy=SalesPolicy(name="小程序九折", kind="percent", percent_off=Decimal(10), channel="mini_program")
    )
    rep1 = ctx.users["rep1"]
    customer = CustomerFactory(owner=rep1, department=rep1.department, region="310104")
    year = timezone.localdate().year
    for month, channel in ((1, "mini_program"), (2, "store"), (2, "mini_program")):
        placed = timezone.make_aware(datetime.datetime(year, month, 5, 10))
        place_order(customer=customer, amount="900", lines=[{"sku": "EDU-MATH-48"}], channel=channel, placed_at=placed)
    return {"manager": ctx.users["manager1"], "year": year}


def chinese_only(person):
    words = [w for w in ENGLISH.findall(person.main()) if not w.startswith("EDU")]
    assert words == [], f"{person.page.url}: English on a zh-hans page: {words[:10]}"


@pytest.mark.parametrize("size", ["desk", "phone"])
def test_a_manager_reads_the_policy_effect_and_the_business_analysis_and_drills_down(chromium, live_server, sold, size):
    from catalog import analysis

    # the walk checks every page with axe-core, which the test injects past the pages' CSP
    page = signed_in_page(chromium, live_server.url, sold["manager"], VIEWPORTS[size], bypass_csp=True)
    person = Person(page, live_server.url, "manager1", size)
    year = sold["year"]

    person.go(f"/catalog/policy-effect/?year={year}")
    effect = analysis.policy_effect(sold["manager"], year=year)
    row = page.locator("[data-testid=policies] tr", has_text="小程序九折")
    assert row.locator("td").nth(1).inner_text() == str(effect["policies"][0]["orders"]) == "2"
    assert row.locator("td").nth(2).inner_text() == "1,800.00"
    none = page.locator("[data-testid=policies] tr[data-policy=none] td")
    assert (none.nth(1).inner_text(), none.nth(2).inner_text()) == ("1", "1,000.00")
    chinese_only(person)
    person.fits_the_width()
    person.no_broken_words()

    person.click(row.get_by_role("link", name="小程序九折"))
    assert page.locator("main table tbody tr").count() == 2

    person.go(f"/catalog/analysis/?year={year}&by=month")
    assert page.get_by_test_id("gmv-total").inner_text() == "¥2,800.00"
    assert page.get_by_test_id("orders-total").inner_text() == "3"
    february = page.locator(f"[data-testid=rows] tr[data-key='{year}-02'] td")
    assert (february.nth(1).inner_text(), february.nth(3).inner_text()) == ("2", "1,900.00")
    chinese_only(person)
    person.fits_the_width()
    person.no_broken_words()
    person.click(page.get_by_test_id("dimensions").get_by_role("link", name="市", exact=True))
    city = page.locator("[data-testid=rows] tbody tr").first
    assert city.locator("td").first.inner_text() == "上海市"
    person.click(city.get_by_role("link"))
    assert page.locator("main table tbody tr").count() == 3
    person.done()
