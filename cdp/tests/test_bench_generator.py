"""The large set's event generator, at a small scale."""

import datetime

from django.db.models import Count
from django.utils import timezone

from bench.cdp import generate_events
from cdp.models import Event
from customers.tests.factories import CustomerFactory


def test_the_generator_spreads_events_over_the_customers_types_and_months(postgres):
    customers = CustomerFactory.create_batch(5)
    assert generate_events(2_000, months=3, chunk=700, log=lambda line: None) == 2_000
    oldest = timezone.now() - datetime.timedelta(days=91)
    rows = Event.objects.all()
    assert (
        rows.count(),
        rows.filter(at__lt=oldest).count(),
        set(rows.values_list("customer_id", flat=True)) == {c.pk for c in customers},
        rows.values("type").annotate(n=Count("id")).count(),
        rows.values("key").distinct().count(),
    ) == (2_000, 0, True, 6, 2_000)


def _attached_indexes():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhparent "
            "WHERE c.relname IN ('cdp_event_pkey', 'cdp_event_customer_at', 'cdp_event_type_at')"
        )
        return cursor.fetchone()[0]


def test_the_generator_puts_each_month_back_with_its_indexes_and_earlier_events(postgres):
    customer = CustomerFactory()
    earlier = Event.objects.create(
        key="kept", type="click", at=timezone.now() - datetime.timedelta(days=1), customer=customer
    )
    indexes = _attached_indexes()
    generate_events(300, months=2, log=lambda line: None)
    assert (Event.objects.filter(pk=earlier.pk).count(), Event.objects.count(), _attached_indexes()) == (
        1,
        301,
        indexes,
    )
