"""The duplicate warning never names a customer outside the user's scope (issue 14, item 5):
creating a customer with another team's customer's mobile says that such a customer exists in
another team and whom to ask (the manager of the team the record is filed under), without the name
or the owner; inside the scope the warning links to the existing customer as before."""

import datetime

import pytest

from customers.models import Customer
from customers.tests.factories import CustomerFactory


@pytest.fixture(autouse=True)
def english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


def create(client, **fields):
    return client.post("/customers/new/", {"kind": "individual", "name": "新客户", "source": "website", **fields})


def test_another_teams_customer_is_not_named_and_the_manager_to_ask_is(client, org):
    org.manager2.first_name, org.manager2.last_name = "强", "赵"
    org.manager2.save()
    org.sales2.manager = org.manager2
    org.sales2.save()
    CustomerFactory(owner=org.rep3, department=org.sales2, name="卢芬勇", mobile="13000117074")
    client.force_login(org.rep1)
    response = create(client, mobile="130 0011 7074")
    page = response.content.decode()
    assert response.status_code == 200 and Customer.objects.count() == 1
    assert response.context["form"].errors["mobile"] == [
        "A customer with this mobile already exists in another team (销售二部). Ask 赵强 to hand the customer over."
    ]
    assert 'data-testid="duplicate-warning"' in page
    assert "This person is already a customer of another team (销售二部). Ask 赵强 to hand the customer over." in page
    assert "卢芬勇" not in page and org.rep3.username not in page and str(org.rep3) not in page


def test_without_a_manager_up_the_tree_an_administrator_is_named(client, org):
    CustomerFactory(owner=org.rep3, department=org.sales2, name="卢芬勇", mobile="13000117074")
    client.force_login(org.rep1)
    response = create(client, mobile="13000117074")
    assert response.context["form"].errors["mobile"] == [
        "A customer with this mobile already exists in another team (销售二部). Ask an administrator to hand "
        "the customer over."
    ]
    assert "卢芬勇" not in response.content.decode()


def test_name_and_birthday_of_another_teams_customer_is_not_named_either(client, org):
    CustomerFactory(owner=org.rep3, department=org.sales2, name="孙悟空", mobile="", birthday=datetime.date(2015, 5, 1))
    client.force_login(org.rep1)
    response = create(client, name="孙悟空", birthday="2015-05-01")
    assert response.context["form"].errors["name"] == [
        "A customer with this name and birthday already exists in another team (销售二部). Ask an administrator "
        "to hand the customer over."
    ]


def test_a_customer_in_scope_is_linked_as_before(client, org):
    mine = CustomerFactory(owner=org.rep1, department=org.team1, name="老客户", mobile="13912340000")
    client.force_login(org.rep1)
    response = create(client, mobile="13912340000")
    page = response.content.decode()
    assert response.context["form"].errors["mobile"] == [f"老客户 already exists (owner: {org.rep1})."]
    assert f'href="/customers/{mine.pk}/"' in page and "This looks like 老客户, who is already a customer." in page
