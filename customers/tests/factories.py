import factory
from factory.django import DjangoModelFactory

from customers.models import Customer


class CustomerFactory(DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Sequence(lambda n: f"客户{n}")
    mobile = factory.Sequence(lambda n: f"139{n:08d}")
    owner = None
    department = factory.LazyAttribute(lambda c: c.owner.department if c.owner else None)


class TagGroupFactory(DjangoModelFactory):
    class Meta:
        model = "customers.TagGroup"

    name = factory.Sequence(lambda n: f"标签组{n}")
    multiple = True


class TagFactory(DjangoModelFactory):
    class Meta:
        model = "customers.Tag"

    group = factory.SubFactory(TagGroupFactory)
    name = factory.Sequence(lambda n: f"标签{n}")


def make_order(customer, amount, *, placed_at=None, cost=None, lines=(), **kwargs):
    """An order through the real service, so the customer's figures are refreshed."""
    from customers.services import record_order

    return record_order(customer=customer, amount=amount, placed_at=placed_at, cost=cost, lines=lines, **kwargs)
