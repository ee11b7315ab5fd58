"""经销商 → 门店: stores under dealers at any depth, orders and visits rolled up, the stores page."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.errors import Conflict, Invalid
from customers.models import Customer, Order
from customers.tests.factories import CustomerFactory
from field.models import Visit
from partners import selectors
from partners.services.network import add_store

from .factories import PartnerFactory


@pytest.fixture
def network(org):
    top = PartnerFactory(owner=org.rep1, status="active", kind="dealer", name="华东总经销")
    middle = PartnerFactory(owner=org.rep1, status="active", kind="dealer", name="杭州分销", parent=top)
    bottom = PartnerFactory(owner=org.rep1, status="active", kind="dealer", name="西湖区分销", parent=middle)
    stores = []
    for dealer, name in ((top, "一号店"), (middle, "二号店"), (bottom, "三号店")):
        store = CustomerFactory(owner=org.rep1, name=name, kind=Customer.Kind.ORGANIZATION)
        add_store(dealer=dealer, customer=store)
        Order.objects.create(customer=store, amount=Decimal("100.00"), placed_at=timezone.now())
        stores.append(store)
    Visit.objects.create(user=org.rep1, customer=stores[2], started_at=timezone.now() - datetime.timedelta(days=1))
    return top, middle, bottom, stores


def test_orders_and_visits_of_stores_at_any_depth_roll_up_to_the_dealer(network):
    top, middle, bottom, _stores = network
    assert selectors.network_rollup(top) == {
        "stores": 3,
        "dealers": 3,
        "orders": 3,
        "gmv": Decimal("300.00"),
        "visits": 1,
    }
    assert selectors.network_rollup(middle)["stores"] == 2
    assert selectors.network_rollup(bottom)["orders"] == 1


def test_a_store_is_an_organization_under_one_dealer(org, network):
    top, middle, _bottom, stores = network
    with pytest.raises(Conflict):
        add_store(dealer=middle, customer=stores[0])
    with pytest.raises(Invalid):
        add_store(dealer=top, customer=CustomerFactory(owner=org.rep1))
    with pytest.raises(Invalid):
        add_store(
            dealer=PartnerFactory(owner=org.rep1, kind="agent"),
            customer=CustomerFactory(owner=org.rep1, kind="organization"),
        )


def test_the_dealers_page_lists_its_stores_with_last_order_visit_and_stage(
    client, org, network, django_assert_max_num_queries
):
    top, *_rest, stores = network
    client.force_login(org.rep1)
    with django_assert_max_num_queries(20):
        response = client.get(reverse("partners:stores", args=[top.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    for store in stores:
        assert store.name in body
    assert timezone.localdate().strftime("%Y-%m-%d") in body
    assert str(stores[0].get_value_segment_display()) in body


def test_a_rep_outside_the_scope_gets_404_on_the_stores_page(client, org, network):
    client.force_login(org.rep3)
    assert client.get(reverse("partners:stores", args=[network[0].pk])).status_code == 404
