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


def test_the_large_set_gets_a_portal_user_for_a_busy_bulk_partner_with_statements(org):
    from bench.partners_data import portal_user
    from partners.models import PartnerUser, Statement

    for _ in range(6):
        Order.objects.create(
            customer=CustomerFactory(owner=org.rep1), amount=Decimal("100.00"), placed_at=timezone.now()
        )
    build(partners=8, stores=4, orders=6)
    made = portal_user(months=3)
    link = PartnerUser.objects.select_related("partner").get(user__username="partner1")
    assert made == {"portal_user": "partner1", "partner": link.partner.code, "created": True, "statements": 3}
    assert link.partner.code.startswith("BULK") and link.partner.status in {"signed", "active"}
    assert Attribution.objects.filter(partner=link.partner).exists()
    statements = Statement.objects.filter(partner=link.partner).order_by("period")
    assert [s.status for s in statements] == ["paid", "paid", "draft"]
    assert portal_user(months=3)["created"] is False  # a second run adds nothing
    assert Statement.objects.filter(partner=link.partner).count() == 3
