"""The customer list renders its rows and the phone's cards from compiled columns (crm.fast_table):
the page must stay exactly what django-tables2's template gave, in a bounded number of queries."""

import re

import pytest
from django.conf import settings

from crm.fast_table import FAST_TABLE_TEMPLATE
from customers.models import CustomAttribute, CustomerTag
from customers.tables import CustomerTable
from customers.tests.factories import CustomerFactory, TagFactory


def _without_tokens(content):
    return re.sub(rb'(csrfmiddlewaretoken" value="|X-CSRFToken": ")[A-Za-z0-9]+', b"", content)


@pytest.fixture
def stock_template():
    def use(stock):
        CustomerTable._meta.template_name = settings.DJANGO_TABLES2_TEMPLATE if stock else FAST_TABLE_TEMPLATE

    yield use
    use(False)


@pytest.fixture
def customers(org):
    tag = TagFactory(name="<i>VIP</i>")
    rows = []
    for index in range(25):
        customer = CustomerFactory(
            name=f"<b>客户 {index}</b> & co",
            mobile=f"1391234{index:04d}",
            owner=org.rep1 if index % 3 else None,
            department=org.team1,
            lifecycle_stage="customer" if index % 2 else "lead",
            custom={"level": f"L{index}"} if index % 4 else {},
        )
        if index % 5 == 0:
            CustomerTag.objects.create(customer=customer, tag=tag)
        rows.append(customer)
    CustomAttribute.objects.create(key="level", label="等级", kind="text", position=1)
    return rows


@pytest.mark.parametrize("user", ["director", "rep1"])
@pytest.mark.parametrize(
    "url", ["/customers/", "/customers/?sort=owner&per_page=50", "/customers/?page=2", "/customers/?q=nobody"]
)
def test_customer_rows_are_the_same_html_as_the_table_template(client, org, customers, stock_template, user, url):
    client.force_login(getattr(org, user))
    fast = client.get(url)
    stock_template(True)
    stock = client.get(url)
    assert fast.status_code == stock.status_code == 200
    if "nobody" not in url:
        assert "&lt;b&gt;客户".encode() in fast.content  # rows shown, names escaped
    assert _without_tokens(fast.content) == _without_tokens(stock.content)


def test_the_rep_sees_masked_mobiles_in_the_rows_and_the_cards(client, org, customers):
    client.force_login(org.rep1)
    page = client.get("/customers/").content.decode()
    assert page.count("139****0001") == 2  # the row and the phone's card of rep1's customer 13912340001
    assert "13912340001" not in page


def test_the_customer_list_reads_a_bounded_number_of_queries(client, org, customers, django_assert_max_num_queries):
    client.force_login(org.director)
    client.get("/customers/")
    with django_assert_max_num_queries(16):
        response = client.get("/customers/?per_page=100")
    assert response.content.decode().count('data-testid="record-card"') == 25
