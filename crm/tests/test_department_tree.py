"""The department tree the data scopes read (crm.department_tree) comes from the shared cache: a page
of someone who sees their department and those below it reads no department on a warm cache, and the
first request after a move, a delete or a bulk update of departments sees the new tree."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm import department_tree
from crm.models import Department, path_part
from crm.tests.factories import DepartmentFactory, OrgFixture
from customers.tests.factories import CustomerFactory

LIST = reverse("customers:list")
TREE_READ = 'SELECT "crm_department"."id" AS "id", "crm_department"."path" AS "path" FROM "crm_department"'


@pytest.fixture
def committed_org(transactional_db):
    """The organization, committed (the tree is only cached from committed rows), with a customer in
    each sales department."""
    org = OrgFixture()
    CustomerFactory(name="一组客户", owner=org.rep1, department=org.team1)
    CustomerFactory(name="二部客户", owner=org.rep3, department=org.sales2)
    return org


def names_on(client):
    page = client.get(LIST).content.decode()
    return [name for name in ("一组客户", "二部客户") if name in page]


def tree_reads(queries):
    return sum(query["sql"].startswith(TREE_READ) for query in queries)


@pytest.mark.django_db(transaction=True)
def test_a_page_reads_the_tree_once_and_not_at_all_on_a_warm_cache(client, committed_org):
    client.force_login(committed_org.manager1)  # sees 销售一部 and 一组 below it
    assert client.get(LIST).status_code == 200  # every other cached part of the page warm
    cache.delete(department_tree.TREE_KEY)
    with CaptureQueriesContext(connection) as cold:
        client.get(LIST)
    with CaptureQueriesContext(connection) as warm:
        client.get(LIST)
    assert tree_reads(cold.captured_queries) == 1
    assert tree_reads(warm.captured_queries) == 0
    assert len(warm) == len(cold) - 1


@pytest.mark.django_db(transaction=True)
def test_the_request_after_a_move_through_the_department_form_sees_the_new_tree(client, committed_org):
    org = committed_org
    client.force_login(org.manager1)
    assert names_on(client) == ["一组客户"]
    client.force_login(org.admin)
    response = client.post(
        reverse("org:department_edit", args=[org.sales2.pk]),
        {"name": "销售二部", "kind": "department", "parent": org.sales1.pk},
    )
    assert response.status_code == 302
    client.force_login(org.manager1)
    assert names_on(client) == ["一组客户", "二部客户"]
    assert department_tree.subtree_ids(org.sales1.pk) == {org.sales1.pk, org.team1.pk, org.sales2.pk}


@pytest.mark.django_db(transaction=True)
def test_moving_a_department_rewrites_the_cached_paths_below_it(committed_org):
    org = committed_org
    assert department_tree.subtree_ids(org.sales2.pk) == {org.sales2.pk}
    org.sales1.parent = org.company
    org.sales1.save()  # 一组's path is rewritten after the save's signal
    assert department_tree.paths()[org.team1.pk] == "/" + "".join(
        path_part(d.pk) for d in (org.company, org.sales1, org.team1)
    )
    assert department_tree.subtree_ids(org.region.pk) == {org.region.pk, org.sales2.pk}


@pytest.mark.django_db(transaction=True)
def test_a_rename_a_new_department_a_delete_and_a_bulk_update_each_start_a_new_tree(committed_org):
    org = committed_org
    department_tree.paths()
    seen = [cache.get(department_tree.VERSION_KEY)]

    def changed():
        seen.append(cache.get(department_tree.VERSION_KEY))
        return seen[-1] != seen[-2]

    org.sales2.name = "销售三部"
    org.sales2.save()
    assert changed()
    extra = DepartmentFactory(name="二组", parent=org.sales1)
    assert changed()
    assert department_tree.subtree_ids(org.sales1.pk) == {org.sales1.pk, org.team1.pk, extra.pk}
    extra.delete()
    assert changed()
    assert department_tree.subtree_ids(org.sales1.pk) == {org.sales1.pk, org.team1.pk}
    Department.objects.filter(pk=org.team1.pk).update(path=f"{org.sales2.path}{org.team1.pk}/")
    assert changed()
    assert department_tree.subtree_ids(org.sales1.pk) == {org.sales1.pk}
    assert department_tree.subtree_ids(org.sales2.pk) == {org.sales2.pk, org.team1.pk}


def test_a_tree_changed_inside_the_open_transaction_is_read_but_never_cached(org):
    # (the org fixture's departments are not committed: this test runs in a transaction)
    DepartmentFactory(name="二组", parent=org.sales1)
    assert len(department_tree.subtree_ids(org.sales1.pk)) == 3
    assert cache.get(department_tree.TREE_KEY) is None


def test_a_committed_change_is_cached_and_read_once(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):  # (as if committed)
        org = OrgFixture()
        extra = DepartmentFactory(name="二组", parent=org.sales1)
    with CaptureQueriesContext(connection) as reads:
        first = department_tree.subtree_ids(org.sales1.pk)
        second = department_tree.subtree_ids(org.sales1.pk)
    assert first == second == {org.sales1.pk, org.team1.pk, extra.pk}
    assert len(reads) == 1
