"""Reads of the customer data platform, scoped by the permission layer."""

import datetime
import zoneinfo

from django.db.models import CharField, Count, Max, Q, Value
from django.db.models.functions import TruncDate

from crm import permissions
from customers import timeline

from . import registry
from .models import Event, EventType, Identity, MergeSuggestion

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def customers_with_events(event_type: str, at_least: int, since: datetime.datetime):
    """The ids of customers with at least ``at_least`` events of ``event_type`` since ``since``:
    one range scan of the (type, at, customer) index, pruned to the months concerned. ``COUNT(*)``
    rather than ``COUNT(id)``: the id is not in that index, and counting it made PostgreSQL read
    every matching row from the table (11,000 pages for a 30-day window of 10M events) where the
    index alone answers (an index-only scan, 400 pages)."""
    return (
        Event.objects.filter(type=event_type, at__gte=since)
        .order_by()
        .values("customer_id")
        .annotate(n=Count("*"))
        .filter(n__gte=at_least)
        .values("customer_id")
    )


def merge_suggestions_for(user):
    """Open merge suggestions whose first customer the user may see (admins and managers)."""
    qs = MergeSuggestion.objects.filter(status=MergeSuggestion.Status.OPEN)
    return permissions.visible(user, qs).select_related("customer", "other", "customer__owner", "other__owner")


def identities_of(customer) -> list[tuple]:
    """(kind label, issuer, value) of every identity of the customer, its own and those kept by
    other apps (WeChat), oldest first."""
    rows = [(i.get_kind_display(), i.issuer, i.value) for i in Identity.objects.filter(customer=customer)]
    labels = dict(Identity._meta.get_field("kind").choices)
    rows += [
        (labels.get(kind, kind), issuer, value)
        for _c, kind, issuer, value in registry.external_identities([customer.pk])
    ]
    return rows


def event_days(customer):
    """The 360 timeline's rows: one per day with events (its newest event's id and time)."""
    return (
        Event.objects.filter(customer=customer)
        .order_by()
        .annotate(day=TruncDate("at", tzinfo=SHANGHAI))
        .values("day")
        .annotate(
            **{
                timeline.KIND: Value("cdp_events", output_field=CharField()),
                timeline.ID: Max("id"),
                timeline.AT: Max("at"),
            }
        )
        .values_list(timeline.KIND, timeline.ID, timeline.AT)
    )


def load_event_days(ids):
    """The newest event of each day, each with ``summary``: [(type label, count)] of that day."""
    events = list(Event.objects.filter(pk__in=ids))
    if not events:
        return []
    customer_ids = {e.customer_id for e in events}
    days = {e.at.astimezone(SHANGHAI).date() for e in events}
    start = datetime.datetime.combine(min(days), datetime.time.min, SHANGHAI)
    end = datetime.datetime.combine(max(days) + datetime.timedelta(days=1), datetime.time.min, SHANGHAI)
    counts = (
        Event.objects.filter(customer_id__in=customer_ids, at__gte=start, at__lt=end)
        .order_by()
        .annotate(day=TruncDate("at", tzinfo=SHANGHAI))
        .values("customer_id", "day", "type")
        .annotate(n=Count("id"))
    )
    labels = dict(EventType.choices)
    by_day: dict = {}
    for row in counts:
        by_day.setdefault((row["customer_id"], row["day"]), []).append((labels.get(row["type"], row["type"]), row["n"]))
    for event in events:
        event.summary = sorted(by_day.get((event.customer_id, event.at.astimezone(SHANGHAI).date()), []))
        event.total = sum(n for _label, n in event.summary)
    return events


def recent_events_q(event_type, at_least, days, now, *, column="pk"):
    since = now - datetime.timedelta(days=days)
    return Q(**{f"{column}__in": customers_with_events(event_type, at_least, since)})
