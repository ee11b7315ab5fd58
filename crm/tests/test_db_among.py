"""``crm.db.among``: a long list of values is one array parameter, looked up through the column's B-tree,
never one trigram lookup per value (the customer's mobile also has a trigram GIN index for partial search,
on ``LOWER(mobile)``: sales/tests/test_mobile_search_indexes.py shows a plain list cannot use it either)."""

import pytest
from django.db import connection

from crm.db import among
from customers.models import Customer
from customers.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_among_finds_exactly_the_listed_values(org):
    CustomerFactory(mobile="13500000001", owner=org.rep1)
    CustomerFactory(mobile="13500000002", owner=org.rep1)
    found = Customer.objects.filter(mobile__in=among(["13500000002", "13599999999"]))
    assert list(found.values_list("mobile", flat=True)) == ["13500000002"]
    assert list(Customer.objects.filter(mobile__in=among([]))) == []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the plan of PostgreSQL")
def test_ten_thousand_mobiles_are_not_looked_up_through_the_trigram_index(org):
    CustomerFactory(mobile="13500000001", owner=org.rep1)
    mobiles = [f"1350006{n:04d}" for n in range(10_000)]
    sql, params = Customer.objects.filter(mobile__in=among(mobiles)).values("id").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "customer_mobile_search_trgm" not in plan, plan
    assert len(params) == 1
