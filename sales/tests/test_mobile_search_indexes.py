"""The partial-mobile trigram index of customers and leads is on ``LOWER(mobile)`` (crm.db.Searchable),
never on the column: a long ``mobile IN (…)`` list on a small, fresh table stays on the B-tree (on the
column's trigram index it took 31 s for 10,000 mobiles), and a partial search is answered from the
expression's trigram index."""

import pytest

from crm.privacy import search_name_or_mobile
from customers.models import Customer
from customers.tests.factories import CustomerFactory
from sales.models import Lead
from sales.tests.factories import LeadFactory

MOBILES = ["13900000001", "13900000002", "13900000003", "13800138000"]
CASES = [(Customer, "customer_mobile_search_trgm"), (Lead, "lead_mobile_search_trgm")]


@pytest.fixture
def rows(org):
    for mobile in MOBILES:
        CustomerFactory(mobile=mobile, owner=org.rep1)
        LeadFactory(mobile=mobile)


def plan_of(connection, queryset, *, seqscan=True):
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        if not seqscan:
            cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("RESET enable_seqscan")
    return plan


def trigram_indexes(connection, table):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexdef LIKE %s ORDER BY indexname",
            [table, "%mobile%gin_trgm_ops%"],
        )
        return cursor.fetchall()


@pytest.mark.parametrize(("model", "index"), CASES)
def test_the_only_mobile_trigram_index_is_on_the_expression(postgres, model, index):
    [(name, definition)] = trigram_indexes(postgres, model._meta.db_table)
    assert name == index
    assert "lower((mobile)::text) gin_trgm_ops" in definition


@pytest.mark.parametrize(("model", "index"), CASES)
def test_a_thousand_mobiles_in_a_plain_list_are_not_looked_up_through_the_trigram_index(postgres, rows, model, index):
    mobiles = [f"1350006{n:04d}" for n in range(1_000)]
    plan = plan_of(postgres, model.objects.filter(mobile__in=mobiles).values("id"))
    assert index not in plan, plan
    # even with sequential scans off the equality has only the B-tree to go to
    plan = plan_of(postgres, model.objects.filter(mobile__in=mobiles).values("id"), seqscan=False)
    assert index not in plan, plan
    assert "mobile" in plan and "Index" in plan, plan


@pytest.mark.parametrize(("model", "index"), CASES)
def test_a_partial_mobile_search_is_answered_from_the_expression_index(postgres, org, rows, model, index):
    found = search_name_or_mobile(model.objects.all(), org.admin, "00003").order_by().values("id")
    assert sorted(model.objects.filter(id__in=found).values_list("mobile", flat=True)) == ["13900000003"]
    assert index in plan_of(postgres, found, seqscan=False)


@pytest.mark.parametrize(("model", "index"), CASES)
def test_a_masked_mobile_search_is_answered_from_the_expression_index(postgres, org, rows, model, index):
    # the marketing role sees 138****8000 and may search by it, or by the last four digits
    found = search_name_or_mobile(model.objects.all(), org.marketing, "138****8000").order_by().values("id")
    assert list(model.objects.filter(id__in=found).values_list("mobile", flat=True)) == ["13800138000"]
    assert index in plan_of(postgres, found, seqscan=False)


@pytest.mark.parametrize("model", [Customer, Lead])
def test_partial_mobile_searches_find_the_same_rows_everywhere(org, rows, model):
    def mobiles(user, text):
        return sorted(search_name_or_mobile(model.objects.all(), user, text).values_list("mobile", flat=True))

    assert mobiles(org.admin, "0000000") == ["13900000001", "13900000002", "13900000003"]
    assert mobiles(org.admin, "13800138000") == ["13800138000"]
    assert mobiles(org.marketing, "0002") == ["13900000002"]
    assert mobiles(org.marketing, "139****0001") == ["13900000001"]
    assert mobiles(org.marketing, "00000") == []  # no partial match on hidden digits
