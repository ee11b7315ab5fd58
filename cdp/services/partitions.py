"""Monthly partitions of ``cdp_event`` on PostgreSQL (a plain table on SQLite).

Beat runs :func:`maintain` each night: it creates the partitions of the coming months ahead of
use (an event is refused rather than stored when its month has no partition, which cannot happen
inside the accepted time window) and drops whole months past the retention setting — dropping a
partition is instant, where a DELETE of millions of rows is not."""

import datetime

from django.db import connection
from django.utils import timezone

from ..models import CdpSettings, Event, EventKey

AHEAD_MONTHS = 3
TABLE = "cdp_event"


def month_start(day: datetime.date, shift: int = 0) -> datetime.date:
    index = day.year * 12 + (day.month - 1) + shift
    return datetime.date(index // 12, index % 12 + 1, 1)


def partition_name(first: datetime.date) -> str:
    return f"{TABLE}_y{first.year}m{first.month:02d}"


def partitioned() -> bool:
    return connection.vendor == "postgresql"


def existing_partitions() -> list[str]:
    if not partitioned():
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = %s ORDER BY c.relname",
            [TABLE],
        )
        return [row[0] for row in cursor.fetchall()]


def ensure_partitions(*, start: datetime.date, end: datetime.date) -> list[str]:
    """Create the monthly partitions covering ``start`` .. ``end`` (inclusive); returns the new ones."""
    if not partitioned():
        return []
    have = set(existing_partitions())
    created = []
    first = month_start(start)
    while first <= end:
        name = partition_name(first)
        if name not in have:
            upper = month_start(first, 1)
            with connection.cursor() as cursor:
                cursor.execute(
                    f'CREATE TABLE IF NOT EXISTS "{name}" PARTITION OF "{TABLE}" '
                    f"FOR VALUES FROM ('{first.isoformat()}') TO ('{upper.isoformat()}')"
                )
            created.append(name)
        first = month_start(first, 1)
    return created


def cutoff(now=None) -> datetime.datetime:
    """The oldest time kept: the first day of the month ``retention_months`` before this one."""
    now = timezone.localtime(now or timezone.now())
    months = CdpSettings.current().retention_months
    first = month_start(now.date(), -months)
    return datetime.datetime(first.year, first.month, 1, tzinfo=datetime.UTC)


def drop_old(now=None) -> list[str]:
    """Drop every month before :func:`cutoff` (PostgreSQL: the partitions; SQLite: the rows) and
    the event ids seen then; returns what was dropped."""
    limit = cutoff(now)
    EventKey.objects.filter(at__lt=limit).delete()
    if not partitioned():
        deleted, _rows = Event.objects.filter(at__lt=limit).delete()
        return [f"{deleted} rows"] if deleted else []
    dropped = []
    for name in existing_partitions():
        year, month = int(name[-7:-3]), int(name[-2:])
        if datetime.date(year, month, 1) < limit.date():
            with connection.cursor() as cursor:
                cursor.execute(f'DROP TABLE IF EXISTS "{name}"')
            dropped.append(name)
    return dropped


def maintain(now=None) -> dict:
    """The nightly job: partitions from the retention cutoff to ``AHEAD_MONTHS`` ahead, old ones dropped."""
    today = timezone.localdate(now or timezone.now())
    dropped = drop_old(now)
    created = ensure_partitions(start=cutoff(now).date(), end=month_start(today, AHEAD_MONTHS))
    return {"created": created, "dropped": dropped}
