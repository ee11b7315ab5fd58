"""iCalendar (RFC 5545) text of calendar items, written with the icalendar library."""

import datetime

import icalendar
from django.utils import timezone


def render(items, *, host: str) -> str:
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//CRM//Calendar//ZH")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    now = timezone.now().astimezone(datetime.UTC)
    for item in items:
        event = icalendar.Event()
        event.add("uid", f"{item.key.replace(':', '-')}@{host}")
        event.add("dtstamp", now)
        event.add("dtstart", item.start.astimezone(datetime.UTC))
        event.add("dtend", (item.end or item.start + datetime.timedelta(minutes=30)).astimezone(datetime.UTC))
        event.add("summary", str(item.title))
        calendar.add_component(event)
    return calendar.to_ical().decode()
