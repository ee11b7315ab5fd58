import pytest

from crm import permissions
from crm.models import DataScope, Department, path_part
from customers.models import Customer
from customers.tests.factories import CustomerFactory


@pytest.fixture
def records(org):
    return {
        "rep1": CustomerFactory(owner=org.rep1),
        "rep2": CustomerFactory(owner=org.rep2),
        "rep3": CustomerFactory(owner=org.rep3),
        "pool1": CustomerFactory(owner=None, department=org.sales1),
    }


def names(user):
    return set(permissions.visible(user, Customer.objects.all()).values_list("pk", flat=True))


def test_rep_sees_only_own_records(org, records):
    assert names(org.rep1) == {records["rep1"].pk}


def test_manager_sees_department_and_below(org, records):
    # rep1 sits in a team below sales1; rep2 directly in sales1; the pool record is in sales1
    assert names(org.manager1) == {records["rep1"].pk, records["rep2"].pk, records["pool1"].pk}


def test_department_scope_excludes_teams_below(org, records):
    org.manager1.data_scope = DataScope.DEPARTMENT
    org.manager1.save()
    assert names(org.manager1) == {records["rep2"].pk, records["pool1"].pk}


def test_director_sees_the_whole_region(org, records):
    assert names(org.director) == {r.pk for r in records.values()}


def test_other_manager_sees_only_their_department(org, records):
    assert names(org.manager2) == {records["rep3"].pk}


def test_all_scope_sees_everything(org, records):
    assert names(org.marketing) == {r.pk for r in records.values()}


def test_inactive_user_sees_nothing(org, records):
    org.manager1.is_active = False
    assert names(org.manager1) == set()


def test_roles_decide_actions(org):
    assert permissions.can(org.rep1, "customers.change")
    assert not permissions.can(org.rep1, "customers.delete")
    assert not permissions.can(org.rep1, "org.manage")
    assert permissions.can(org.manager1, "customers.assign")
    assert not permissions.can(org.marketing, "customers.view_mobile")
    assert permissions.can(org.admin, "org.manage")


def test_assignable_users_follow_scope(org):
    assert set(permissions.assignable_users(org.rep1)) == {org.rep1}
    assert set(permissions.assignable_users(org.manager1)) == {org.manager1, org.rep1, org.rep2}


def test_moving_a_department_moves_its_subtree(org):
    org.sales1.parent = org.company
    org.sales1.save()
    org.team1.refresh_from_db()
    assert org.team1.path == org.company.path + path_part(org.sales1.pk) + path_part(org.team1.pk)
    assert org.team1.pk in Department.objects.get(pk=org.sales1.pk).descendant_ids()
