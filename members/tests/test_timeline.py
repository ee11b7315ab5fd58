from decimal import Decimal

from django.urls import reverse

from customers.services.orders import place_order
from customers.tests.factories import CustomerFactory
from members.models import Tier


def test_the_360_timeline_shows_the_points_an_order_earned(client, db):
    from crm.tests.factories import OrgFixture

    org = OrgFixture()
    Tier.objects.create(name="普通", position=0, min_spend=Decimal(0))
    customer = CustomerFactory(name="周杰", owner=org.rep1, department=org.team1)
    place_order(customer=customer, amount=Decimal("1234.00"))
    client.force_login(org.rep1)
    response = client.get(reverse("customers:detail", args=[customer.pk]))
    text = response.content.decode()
    assert response.status_code == 200
    assert "+1,234" in text
