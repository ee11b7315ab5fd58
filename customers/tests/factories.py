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
