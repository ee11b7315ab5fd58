import datetime
from decimal import Decimal

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from catalog.models import Category, Product, SalesPolicy, Sku
from catalog.services import catalogue


def category(name, parent=None):
    return catalogue.save_category(category=Category(name=name, parent=parent))


class ProductFactory(DjangoModelFactory):
    class Meta:
        model = Product

    code = factory.Sequence(lambda n: f"P{n:04d}")
    name = factory.Sequence(lambda n: f"产品{n}")
    category = factory.LazyFunction(lambda: category(f"品类{Category.objects.count()}"))
    status = Product.Status.APPROVED
    sale_from = factory.LazyFunction(lambda: timezone.localdate() - datetime.timedelta(days=30))


class SkuFactory(DjangoModelFactory):
    class Meta:
        model = Sku

    product = factory.SubFactory(ProductFactory)
    code = factory.Sequence(lambda n: f"SKU-{n:04d}")
    name = factory.Sequence(lambda n: f"规格{n}")
    list_price = Decimal("1000.00")
    cost = Decimal("400.00")


class PolicyFactory(DjangoModelFactory):
    class Meta:
        model = SalesPolicy

    name = factory.Sequence(lambda n: f"政策{n}")
    kind = SalesPolicy.Kind.PERCENT
    percent_off = Decimal(10)
