"""The calendar's sources (日程): each app that has dated items for a person — sales' reminders and
tasks, resources' class sessions, field's visits — registers a source from its
``AppConfig.ready``; the calendar app reads every source through here and imports none of them.

A source is ``items(users, start, end) -> [Item]`` (the items of those users between the two
times, in a query or two) and optionally ``reschedule(user, pk, start) -> None`` (moves one of
its items; checks that ``user`` may and writes the audit log; raises ``PermissionDenied`` or a
``ValidationError``)."""

import datetime
from collections.abc import Callable
from dataclasses import dataclass


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


_sources: dict[str, Source] = {}


def register(name: str, *, label, items: Callable, reschedule: Callable | None = None, icon="bi-calendar-event"):
    """Add (or replace) a source; safe to call from ``AppConfig.ready``."""
    _sources[name] = Source(name, label, items, reschedule, icon)


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


def reschedule(user, key: str, start: datetime.datetime) -> None:
    """Move the item ``key`` ("source:pk") to ``start`` through its source's service."""
    name, _sep, pk = key.partition(":")
    source = _sources.get(name)
    if source is None or source.reschedule is None or not pk.isdigit():
        raise LookupError(key)
    source.reschedule(user, int(pk), start)
