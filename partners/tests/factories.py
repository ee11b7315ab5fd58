import factory
from factory.django import DjangoModelFactory

from partners.models import Partner


class PartnerFactory(DjangoModelFactory):
    class Meta:
        model = Partner

    name = factory.Sequence(lambda n: f"渠道公司{n}")
    code = factory.Sequence(lambda n: f"T{n:07d}")
    kind = "agent"
    owner = None
    department = factory.LazyAttribute(lambda o: o.owner.department)
