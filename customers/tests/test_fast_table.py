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
    with django_assert_max_num_queries(13):  # the sidebar, lead sources and custom attributes cached
        response = client.get("/customers/?per_page=100")
    assert response.content.decode().count('data-testid="record-card"') == 25


def test_the_filters_choices_are_read_once_and_follow_new_tags_people_and_departments(
    client, org, customers, django_assert_max_num_queries
):
    from crm.tests.factories import UserFactory

    client.force_login(org.director)
    first = client.get("/customers/").content.decode()
    assert f'<option value="{org.rep1.pk}">{org.rep1}</option>' in first
    with django_assert_max_num_queries(8):  # owners, departments, tags, sources, attributes cached (15 before)
        client.get("/customers/")
    tag = TagFactory(name="新标签")
    person = UserFactory(username="newrep", last_name="新", first_name="人", department=org.team1)
    org.team1.name = "改名的组"
    org.team1.save()
    page = client.get("/customers/").content.decode()
    assert f'<option value="{tag.pk}">{tag}</option>' in page
    assert f'<option value="{person.pk}">{person}</option>' in page
    assert f'<option value="{org.team1.pk}">改名的组</option>' in page
    tag.delete()
    assert f'<option value="{tag.pk}">' not in client.get("/customers/").content.decode()


def _total(page):
    return re.search(r'data-testid="total-count"[^>]*>([^<]*)<', page).group(1)


def test_a_small_list_is_counted_exactly(client, org, customers):
    client.force_login(org.director)
    assert _total(client.get("/customers/").content.decode()) == "25 条记录"


@pytest.mark.skipif(not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"), reason="PostgreSQL's planner")
def test_a_big_unfiltered_list_shows_the_planners_estimate_and_a_filtered_one_its_count(
    client, org, customers, monkeypatch
):
    from django.db import connection

    from crm import fast_table

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE customers_customer")
    monkeypatch.setattr(fast_table, "ESTIMATE_FROM", 10)  # the 25 customers count as a big table
    client.force_login(org.director)
    assert _total(client.get("/customers/").content.decode()) == "≈ 25 条记录"
    assert _total(client.get("/customers/?kind=individual").content.decode()) == "25 条记录"
