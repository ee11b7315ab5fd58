"""The large set's catalogue generator (``bench/catalog.py``), proven on a small scale: SKUs and
policies of every kind, and catalogue lines on orders priced as ``place_order`` prices them."""

from decimal import Decimal

from django.utils import timezone

from bench.catalog import seed_catalogue, seed_order_lines
from catalog.models import PolicyPrice, SalesPolicy, Sku
from catalog.services.pricing import price_for
from customers.models import Order, OrderLine
from customers.tests.factories import CustomerFactory, make_order


def test_the_generator_makes_skus_policies_and_priced_order_lines(db, django_assert_max_num_queries):
    counts = seed_catalogue(skus=50, per_product=5, policies=8)
    assert counts == {"skus": 50, "products": 10, "policies": 8, "prices": 40}
    assert (Sku.objects.count(), SalesPolicy.objects.count(), PolicyPrice.objects.count()) == (50, 8, 40)
    assert sorted(set(SalesPolicy.objects.values_list("kind", flat=True))) == ["amount", "percent", "price_list"]
    customer = CustomerFactory(region="310104")
    for _n in range(30):
        make_order(customer, "100.00")
    with django_assert_max_num_queries(20):  # per chunk of 10 orders: customers, SKUs, policies, prices, one write
        assert seed_order_lines(limit=30, chunk=10) == 30
    assert OrderLine.objects.count() == 30 and Order.objects.filter(lines__isnull=True).count() == 0
    for line in OrderLine.objects.select_related("order", "order__customer")[:5]:
        sku = Sku.objects.select_related("product__category").get(code=line.sku)
        quote = price_for(
            sku=sku,
            customer=line.order.customer,
            channel=line.order.channel,
            on=timezone.localdate(line.order.placed_at),
        )
        assert (line.price, line.policy_id, line.cost) == (quote.price, quote.policy and quote.policy.pk, sku.cost)
        assert line.cost == (sku.list_price * Decimal("0.55")).quantize(Decimal("0.01"))
