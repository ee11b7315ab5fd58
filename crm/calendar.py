"""The calendar's sources (日程): each app that has dated items for a person — sales' reminders and
tasks, resources' class sessions, field's visits — registers a source from its
``AppConfig.ready``; the calendar app reads every source through here and imports none of them.

A source is ``items(users, start, end) -> [Item]`` (the items of those users between the two
times, in a query or two: only the rows of that range, through an index on the time, and only the
columns an item shows; owners' names come from ``names(users)``, links from ``links``) and
optionally ``reschedule(user, pk, start) -> None`` (moves one of its items; checks that ``user``
may and writes the audit log; raises ``PermissionDenied`` or a ``ValidationError``) and
``per_day(users, start, end, limit) -> ([Item], {date: count})`` (at most ``limit`` items of each
local day, by time, and every day's full count: for a source that can have thousands of items in
a week, so that a page never builds them all)."""

import datetime
from collections.abc import Callable
from dataclasses import dataclass

from django.urls import reverse
from django.utils import timezone


@dataclass
class Item:
    source: str
    pk: int
    title: str
    start: datetime.datetime
    end: datetime.datetime | None = None
    url: str = ""
    owner_id: int | None = None
    owner_name: str = ""
    movable: bool = False

    @property
    def key(self) -> str:
        return f"{self.source}:{self.pk}"


@dataclass(frozen=True)
class Source:
    name: str
    label: object
    items: Callable
    reschedule: Callable | None = None
    icon: str = "bi-calendar-event"
    per_day: Callable | None = None


_sources: dict[str, Source] = {}

_MARK = 987654321


def links(viewname: str) -> Callable[[int], str]:
    """``pk -> url`` of a view taking one integer, resolved once rather than once per item."""
    pattern = reverse(viewname, args=[_MARK])
    head, _sep, tail = pattern.partition(str(_MARK))
    return lambda pk: f"{head}{pk}{tail}"


def names(users) -> dict[int, str]:
    """{user id: display name} of the users a source was asked about."""
    return {user.pk: str(user) for user in users}


def register(
    name: str,
    *,
    label,
    items: Callable,
    reschedule: Callable | None = None,
    icon="bi-calendar-event",
    per_day: Callable | None = None,
):
    """Add (or replace) a source; safe to call from ``AppConfig.ready``."""
    _sources[name] = Source(name, label, items, reschedule, icon, per_day)


def sources() -> list[Source]:
    return list(_sources.values())


def items_for(users, start, end) -> list[Item]:
    """Every source's items of ``users`` between ``start`` and ``end``, by time."""
    found = []
    for source in _sources.values():
        for item in source.items(list(users), start, end):
            item.movable = item.movable and source.reschedule is not None
            found.append(item)
    return sorted(found, key=lambda item: (item.start, item.source, item.pk))


def _day(item) -> datetime.date:
    return timezone.localtime(item.start).date()


def days_for(users, start, end, limit: int) -> tuple[dict[datetime.date, list[Item]], dict[datetime.date, int]]:
    """At most ``limit`` items of each local day between ``start`` and ``end`` (by time) and the
    number of items of each day: what a page lists, whatever the number of items in the range."""
    users = list(users)
    found, counts = [], {}
    for source in _sources.values():
        if source.per_day is not None:
            items, source_counts = source.per_day(users, start, end, limit)
        else:
            items = source.items(users, start, end)
            source_counts = {}
            for item in items:
                source_counts[_day(item)] = source_counts.get(_day(item), 0) + 1
        for day, n in source_counts.items():
            counts[day] = counts.get(day, 0) + n
        for item in items:
            item.movable = item.movable and source.reschedule is not None
            found.append(item)
    by_day: dict[datetime.date, list[Item]] = {}
    for item in sorted(found, key=lambda item: (item.start, item.source, item.pk)):
        shown = by_day.setdefault(_day(item), [])
        if len(shown) < limit:
            shown.append(item)
    return by_day, counts


def reschedule(user, key: str, start: datetime.datetime) -> None:
    """Move the item ``key`` ("source:pk") to ``start`` through its source's service."""
    name, _sep, pk = key.partition(":")
    source = _sources.get(name)
    if source is None or source.reschedule is None or not pk.isdigit():
        raise LookupError(key)
    source.reschedule(user, int(pk), start)
