"""The region picker in a real browser: choosing a province offers its cities (htmx), a city its
districts, and the customer is saved with the district's code."""

import os

import pytest

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from crm.demo import DemoContext, seed_organization
from crm.tests.test_browser import Problems, _log_in, browser  # noqa: F401
from customers.models import Customer

pytestmark = pytest.mark.browser

#: no htmx request in flight and no swapped content still settling
SETTLED = "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')"


def test_rep_picks_province_city_and_district_on_the_customer_form(browser, live_server, transactional_db):
    seed_organization(DemoContext(size="small", seed=1))
    context = browser.new_context()
    page = context.new_page()
    problems = Problems(page, live_server.url)
    _log_in(page, live_server.url, "rep1")
    page.goto(f"{live_server.url}/customers/new/")
    page.locator("#id_name").fill("钱七")
    page.locator("#id_region").select_option("330000")
    page.locator('#id_region_1 option[value="330100"]').wait_for(state="attached")
    page.wait_for_function(SETTLED)  # the new selects listen for changes once htmx has settled them
    page.locator("#id_region_1").select_option("330100")
    page.locator('#id_region_2 option[value="330106"]').wait_for(state="attached")
    page.wait_for_function(SETTLED)
    assert page.locator("#id_region_2 option").count() == 13 + 1  # 杭州's districts and the empty choice
    page.locator("#id_region_2").select_option("330106")
    with page.expect_navigation():
        page.locator("form.card button[type=submit]").click()
    customer = Customer.objects.get(name="钱七")
    assert (customer.region, customer.region_province, customer.region_city) == ("330106", "330000", "330100")
    assert problems.items == []
    context.close()
