"""The sales lists render their rows from compiled columns (``crm.fast_table``) and the board its cards
(``_card_html``): the HTML must stay what the django-tables2 template / the card template gave."""

import re

import pytest
from django.conf import settings

from crm.fast_table import FAST_TABLE_TEMPLATE
from sales.tables import LeadTable, OpportunityTable, TicketTable
from sales.tests.factories import LeadFactory

TABLES = (LeadTable, OpportunityTable, TicketTable)


def _without_tokens(content):
    return re.sub(rb'(csrfmiddlewaretoken" value="|X-CSRFToken": ")[A-Za-z0-9]+', b"", content)


@pytest.fixture
def stock_template():
    """Render with the project's django-tables2 template instead of the fast table template."""

    def use(stock):
        for table in TABLES:
            table._meta.template_name = settings.DJANGO_TABLES2_TEMPLATE if stock else FAST_TABLE_TEMPLATE

    yield use
    use(False)


@pytest.mark.parametrize("url", ["/sales/leads/", "/sales/leads/?sort=owner&per_page=50", "/sales/leads/?q=nobody"])
def test_lead_rows_are_the_same_html_as_the_table_template(client, org, stock_template, url):
    for index in range(25):
        LeadFactory(owner=org.rep1 if index % 3 else None, name=f"<b>线索 {index}</b> & co", department=org.team1)
    client.force_login(org.manager1)
    fast = client.get(url)
    stock_template(True)
    stock = client.get(url)
    assert fast.status_code == stock.status_code == 200
    if "nobody" not in url:
        assert "&lt;b&gt;线索".encode() in fast.content  # rows shown, names escaped
    assert _without_tokens(fast.content) == _without_tokens(stock.content)
