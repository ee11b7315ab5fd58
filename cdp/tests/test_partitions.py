import datetime

import pytest
from django.db import connection
from django.utils import timezone

from cdp.models import CdpSettings, Event
from cdp.services import partitions
from customers.tests.factories import CustomerFactory


@pytest.mark.django_db
def test_maintain_creates_the_coming_months_and_drops_those_past_the_retention():
    customer = CustomerFactory()
    now = timezone.now()
    Event.objects.create(key="new", type="click", at=now - datetime.timedelta(days=1), customer=customer)
    Event.objects.create(key="old", type="click", at=now - datetime.timedelta(days=70), customer=customer)
    settings = CdpSettings.current()
    settings.retention_months = 1
    settings.save()
    result = partitions.maintain()
    assert list(Event.objects.values_list("key", flat=True)) == ["new"]
    if connection.vendor == "postgresql":
        ahead = partitions.partition_name(partitions.month_start(timezone.localdate(), partitions.AHEAD_MONTHS))
        assert ahead in partitions.existing_partitions()
        assert result["dropped"][0].startswith("cdp_event_y")
