"""What the customer data platform adds to the apps below it: a day-by-day summary of behaviour
events on the 360 timeline, event conditions for customer segments ("watched ≥ 2 live streams in
the last 30 days") and for lead scoring."""

import datetime

from django.db.models import Q
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from customers import registry, timeline

from . import selectors
from .models import Event, EventType

#: the windows a segment condition counts events over
WINDOWS = (7, 30, 90)
#: the event types segments and scoring use (custom events have their own names)
COUNTED = (EventType.LIVE_WATCH, EventType.VIDEO_WATCH, EventType.PAGE_VIEW, EventType.FORM_VIEW, EventType.CLICK)
SCORING_WINDOW = 30


def segment_field_name(event_type: str, days: int) -> str:
    return f"events_{event_type}_{days}d"


def _segment_condition(event_type, days):
    def condition(op, value, now):
        value = int(value)
        if op == "gte":
            return Q() if value <= 0 else selectors.recent_events_q(event_type, value, days, now)
        return ~selectors.recent_events_q(event_type, value + 1, days, now)  # lte

    return condition


def _lead_condition(event_type):
    def condition(value, now):
        at_least = int(value) if str(value).isdigit() else 1
        ids = selectors.customers_with_events(event_type, at_least, now - datetime.timedelta(days=SCORING_WINDOW))
        return Q(customer_id__in=ids) | Q(existing_customer_id__in=ids)

    def test(lead, value, now):
        at_least = int(value) if str(value).isdigit() else 1
        customer_ids = {pk for pk in (lead.customer_id, lead.existing_customer_id) if pk}
        if not customer_ids:
            return False
        since = now - datetime.timedelta(days=SCORING_WINDOW)
        counts = [Event.objects.filter(customer_id=pk, type=event_type, at__gte=since).count() for pk in customer_ids]
        return max(counts) >= at_least

    return condition, test


def register():
    timeline.register(
        "cdp_events",
        _("Behaviour"),
        selectors.event_days,
        selectors.load_event_days,
        "cdp/timeline/events.html",
        icon="bi-activity",
    )
    labels = dict(EventType.choices)
    for event_type in COUNTED:
        for days in WINDOWS:
            registry.register_segment_field(
                segment_field_name(event_type, days),
                label=format_lazy(_("{type} in the last {days} days (times)"), type=labels[event_type], days=days),
                ops=("gte", "lte"),
                value="int",
                condition=_segment_condition(event_type, days),
            )
        condition, test = _lead_condition(event_type)
        registry.register_lead_criterion(
            f"ev_{event_type}"[:20],
            label=format_lazy(_("{type} in the last 30 days, at least"), type=labels[event_type]),
            condition=condition,
            test=test,
        )
