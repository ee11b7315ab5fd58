"""Masked mobiles cannot be recovered by search (issue 14, item 3). The marketing role sees
130****7074; searching 130+d for d = 0…9 and keeping the digit whose results include the customer
recovered 13000117074 in a few requests. Users who may not see a full mobile now match only a
whole number, the last four digits or the masked form — what they already see."""

import pytest
from django.urls import reverse

from customers.models import Customer, Order

MOBILE = "13000117074"


@pytest.fixture
def target(org):
    customer = Customer.objects.create(name="卢芬勇", mobile=MOBILE, owner=org.rep1, department=org.team1)
    Order.objects.create(customer=customer, external_id="SO-7074", amount=100, channel="store")
    return customer


SEARCHES = {
    "global search": (lambda: reverse("search"), "卢芬勇"),
    "customer list": (lambda: reverse("customers:list"), "卢芬勇"),
    "order list": (lambda: reverse("customers:orders"), "SO-7074"),
}


def found(client, where, text):
    url, marker = SEARCHES[where]
    response = client.get(url(), {"q": text})
    assert response.status_code == 200
    return marker in response.content.decode()


def recover(client, where):
    """The attack: grow the known prefix one digit at a time while a search finds the customer."""
    known, requests = "130", 0
    while len(known) < 11:
        for digit in "0123456789":
            requests += 1
            if found(client, where, known + digit):
                known += digit
                break
        else:
            return known, requests
    return known, requests


@pytest.mark.parametrize("where", list(SEARCHES))
def test_the_marketing_role_cannot_recover_hidden_digits_by_searching(client, org, target, where):
    client.force_login(org.marketing)
    assert recover(client, where) == ("130", 10)  # ten searches, not one digit learned


@pytest.mark.parametrize("where", list(SEARCHES))
@pytest.mark.parametrize("text", [MOBILE, "7074", "130****7074", "130 0011 7074"])
def test_the_marketing_role_still_finds_by_what_it_can_see(client, org, target, where, text):
    client.force_login(org.marketing)
    assert found(client, where, text)


@pytest.mark.parametrize("text", ["1300011", "0011707", "00117074", "130****7075", "7075"])
def test_partial_digits_find_nothing_for_the_marketing_role(client, org, target, text):
    client.force_login(org.marketing)
    assert not found(client, "customer list", text)


@pytest.mark.parametrize("where", list(SEARCHES))
def test_a_rep_who_may_reveal_the_number_finds_by_any_four_digits(client, org, target, where):
    client.force_login(org.rep1)
    assert found(client, where, "0011707")


def test_the_api_lookup_needs_a_whole_number(client, org, target):
    from crm import services as crm_services
    from crm.models import ApiScope

    api = crm_services.create_api_client(name="shop", department=org.company)
    token = crm_services.issue_token(client=api, scopes=[ApiScope.CUSTOMERS_READ])[1]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    partial = client.get("/api/v1/customers", {"mobile": "1300011"}, **auth)
    assert partial.status_code == 422 and b"13000117074" not in partial.content
    whole = client.get("/api/v1/customers", {"mobile": MOBILE}, **auth)
    assert whole.status_code == 200
    assert [c["mobile"] for c in whole.json()] == ["130****7074"]
