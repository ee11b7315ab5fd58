"""The large set's partner generator (``bench.partners_data``) at a small scale: exact counts, stores
under dealers only, one partner per order, and a second run adds nothing."""

from decimal import Decimal

from django.utils import timezone

from bench.partners_data import build
from customers.models import Order
from customers.tests.factories import CustomerFactory
from partners.models import Attribution, DealerStore, Partner


def test_the_generator_builds_partners_stores_and_attributed_orders_set_based(org, django_assert_max_num_queries):
    for _ in range(5):
        Order.objects.create(
            customer=CustomerFactory(owner=org.rep1), amount=Decimal("10.00"), placed_at=timezone.now()
        )
    with django_assert_max_num_queries(40):
        counts = build(partners=12, stores=30, orders=50)
    assert counts == {"partners": 12, "stores": 30, "attributed": 50}
    assert set(DealerStore.objects.values_list("dealer__kind", flat=True)) == {"dealer"}
    assert set(DealerStore.objects.values_list("customer__kind", flat=True)) == {"organization"}
    assert Attribution.objects.filter(order__status="paid").count() == 50
    assert set(Attribution.objects.values_list("partner__status", flat=True)) <= {"signed", "active"}
    assert build(partners=12, stores=30, orders=50) == counts
    assert Partner.objects.count() == 12
