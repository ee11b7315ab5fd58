"""Benchmark scenarios of the customer data platform and the large set's behaviour events.

    python -m bench.cdp --events 10000000     # add 10M events, set-based (PostgreSQL only)

Scenarios (run by ``python -m bench``): a batch of 500 events through ``POST /api/v1/events``
(events/s = 500 ÷ the median), the segment "watched ≥ 2 live streams in the last 30 days"
counted over every event, and the calendar page of a rep and of a manager's team."""

import argparse
import datetime
import itertools
import json
import re
import time
import uuid

from bench.scenarios import Scenario, in_process, register

#: the mix of the generated events (per 100)
MIX = (("page_view", 55), ("click", 20), ("video_watch", 10), ("live_watch", 8), ("form_view", 5), ("custom", 2))


def generate_events(count: int, *, months: int = 12, chunk: int = 1_000_000, log=print) -> int:
    """Insert ``count`` events spread evenly over the last ``months`` × 30 days across every
    customer (types per :data:`MIX`, a distinct ``key`` each), one month partition at a time
    (PostgreSQL only; ``chunk`` rows per ``INSERT … SELECT … FROM generate_series``).

    Speed: each month is taken out of ``cdp_event`` (``DETACH PARTITION``), loaded without its
    indexes in the order of ``at``, its indexes built once by sorting and the month put back
    (``ATTACH PARTITION`` adopts the rebuilt indexes), all in one transaction, so a failure leaves
    the month as it was. Maintaining three B-trees row by row over every month at once was what
    held the old generator to 4,000–19,000 rows/s. The table is locked while a month is loaded: a
    tool for a benchmark database, not a live one. ``VACUUM (ANALYZE)`` at the end sets the
    statistics and the visibility map (index-only scans), as autovacuum would after such a load."""
    from django.db import connection, transaction
    from django.utils import timezone

    from cdp.services import partitions
    from customers.models import Customer

    if connection.vendor != "postgresql":
        raise SystemExit("the event generator needs PostgreSQL")
    today = timezone.localdate()
    partitions.ensure_partitions(start=partitions.month_start(today, -months), end=partitions.month_start(today, 1))
    customers = Customer.objects.count()
    if not customers:
        raise SystemExit("the event generator needs customers")
    wheel = list(itertools.chain.from_iterable([kind] * share for kind, share in MIX))
    now = timezone.now().replace(microsecond=0)
    # the events fall in (now − span, now], an hour short of the months × 30 days
    span = months * 30 * 86400 - 3600
    start = now - datetime.timedelta(seconds=span)
    months_in = [
        (name, bound, lower, upper)
        for name, bound, lower, upper in _partition_bounds(connection)
        if upper > start and lower <= now
    ]
    shares = []
    for name, bound, lower, upper in months_in:
        first, last = max(lower, start + datetime.timedelta(seconds=1)), min(upper - datetime.timedelta(seconds=1), now)
        shares.append((name, bound, first, int((last - first).total_seconds()) + 1))
    total_seconds = sum(seconds for *_rest, seconds in shares)
    run = uuid.uuid4().hex[:8]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence('cdp_event', 'id')")
        sequence = cursor.fetchone()[0]
    done = 0
    for position, (name, bound, first, seconds) in enumerate(shares):
        rows = count - done if position == len(shares) - 1 else round(count * seconds / total_seconds)
        if rows <= 0:
            continue
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            indexes = _take_out(cursor, name)
            offset = 0
            while offset < rows:
                size = min(chunk, rows - offset)
                # a block of ids from the table's sequence, given out in the order of ``at``
                cursor.execute(
                    "SELECT setval(%s::regclass, nextval(%s::regclass) + %s - 1)", [sequence, sequence, size]
                )
                last_id = cursor.fetchone()[0]
                cursor.execute(
                    f"""
                    WITH numbered AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM customers_customer)
                    INSERT INTO "{name}" (id, client_id, key, type, name, at, customer_id, properties, received_at)
                    SELECT %s + row_number() OVER (ORDER BY at), NULL, key, kind,
                           CASE WHEN kind = 'custom' THEN 'signup' ELSE '' END, at, customer_id, '{{}}'::jsonb,
                           %s::timestamptz
                    FROM (
                        SELECT %s || '-' || g AS key, kind, %s::timestamptz + make_interval(secs => mod(h2, %s)) AS at,
                               numbered.id AS customer_id
                        FROM generate_series(%s, %s) AS g,
                             LATERAL (SELECT (%s::text[])[1 + mod(hashtext(g::text)::bigint & 2147483647, 100)] AS kind,
                                             hashtext('a' || g::text)::bigint & 2147483647 AS h2,
                                             hashtext('c' || g::text)::bigint & 2147483647 AS h3) AS h
                        JOIN numbered ON numbered.n = mod(h3, %s)
                    ) AS rows
                    ORDER BY at
                    """,
                    [
                        last_id - size,
                        now,
                        run,
                        first,
                        seconds,
                        done + offset + 1,
                        done + offset + size,
                        wheel,
                        customers,
                    ],
                )
                offset += size
            _put_back(cursor, name, bound, indexes)
        done += rows
        log(f"events: {name} {rows:,}, {done:,} of {count:,} ({rows / (time.perf_counter() - started):,.0f} rows/s)")
    with connection.cursor() as cursor:
        # VACUUM cannot run inside a transaction (a test's)
        cursor.execute("ANALYZE cdp_event" if connection.in_atomic_block else "VACUUM (ANALYZE) cdp_event")
    return done


def _partition_bounds(connection) -> list[tuple]:
    """(name, bound clause, lower, upper) of every month partition of ``cdp_event``."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'cdp_event'::regclass ORDER BY 1"
        )
        rows = cursor.fetchall()
    result = []
    for name, bound in rows:
        lower, upper = (datetime.datetime.fromisoformat(value) for value in re.findall(r"'([^']+)'", bound))
        result.append((name, bound, lower, upper))
    return result


def _take_out(cursor, name: str) -> list[tuple]:
    """Detach the month ``name`` and drop its indexes; returns what :func:`_put_back` rebuilds."""
    cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
    cursor.execute("SET LOCAL work_mem = '256MB'")  # the sort by ``at`` in memory
    cursor.execute("SET LOCAL jit = off")
    cursor.execute(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid), c.conname, "
        "pg_get_constraintdef(c.oid) FROM pg_index i LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid "
        "AND c.conrelid = i.indrelid WHERE i.indrelid = %s::regclass ORDER BY 1",
        [name],
    )
    indexes = cursor.fetchall()
    cursor.execute(f'ALTER TABLE cdp_event DETACH PARTITION "{name}"')
    for index, _definition, constraint, _constraint_definition in indexes:
        if constraint:
            cursor.execute(f'ALTER TABLE "{name}" DROP CONSTRAINT "{constraint}"')
        else:
            cursor.execute(f"DROP INDEX {index}")
    return indexes


def _put_back(cursor, name: str, bound: str, indexes: list[tuple]) -> None:
    for _index, definition, constraint, constraint_definition in indexes:
        if constraint:
            cursor.execute(f'ALTER TABLE "{name}" ADD CONSTRAINT "{constraint}" {constraint_definition}')
        else:
            cursor.execute(definition)
    cursor.execute(f'ALTER TABLE cdp_event ATTACH PARTITION "{name}" {bound}')


def _batch(ctx):
    from customers.models import Customer

    ids = ctx.cached(
        "cdp-customer-ids", lambda: list(Customer.objects.order_by("id").values_list("id", flat=True)[:500])
    )
    now = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)
    return [
        {
            "id": uuid.uuid4().hex,
            "type": "page_view",
            "at": now.isoformat(),
            "customer": {"id": ids[i % len(ids)]},
            "properties": {"path": f"/course/{i % 40}"},
        }
        for i in range(500)
    ]


def _ingest(client, ctx):
    return client.post("/api/v1/events", data=json.dumps(_batch(ctx)), content_type="application/json", **ctx.bearer())


def _segment_count(ctx):
    from django.utils import timezone

    from cdp import integration
    from customers import registry
    from customers.models import Customer

    condition = registry.segment_fields()[integration.segment_field_name("live_watch", 30)]["condition"]
    return Customer.objects.filter(condition("gte", 2, timezone.now())).count()


register(
    Scenario("cdp.events.ingest", None, "/api/v1/events", request=_ingest, note="500 events per request"),
    Scenario(
        "cdp.segment.live_watch_30d",
        None,
        "segment: live_watch ≥ 2 in 30 days",
        request=in_process(_segment_count),
        note="count of customers, over every event",
    ),
    Scenario("calendar.week.rep1", "rep1", "/calendar/"),
    Scenario("calendar.team.manager1", "manager1", "/calendar/?team=1"),
)


def main():
    import django

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--months", type=int, default=12)
    args = parser.parse_args()
    django.setup()
    started = time.perf_counter()
    generate_events(args.events, months=args.months)
    print(f"{args.events:,} events in {time.perf_counter() - started:,.0f} s")


if __name__ == "__main__":
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    main()
