import factory
from factory.django import DjangoModelFactory

from sales.models import Lead


class LeadFactory(DjangoModelFactory):
    class Meta:
        model = Lead

    name = factory.Sequence(lambda n: f"线索{n}")
    mobile = factory.Sequence(lambda n: f"137{n:08d}")
    source = "website"
    owner = None
    department = factory.LazyAttribute(lambda lead: lead.owner.department if lead.owner else None)
    status = factory.LazyAttribute(lambda lead: Lead.Status.ASSIGNED if lead.owner else Lead.Status.NEW)
