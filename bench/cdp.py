"""Benchmark scenarios of the customer data platform and the large set's behaviour events.

    python -m bench.cdp --events 10000000     # add 10M events, set-based (PostgreSQL only)

Scenarios (run by ``python -m bench``): a batch of 500 events through ``POST /api/v1/events``
(events/s = 500 ÷ the median), the segment "watched ≥ 2 live streams in the last 30 days"
counted over every event, and the calendar page of a rep and of a manager's team."""

import argparse
import datetime
import itertools
import json
import time
import uuid

from bench.scenarios import Scenario, in_process, register

#: the mix of the generated events (per 100)
MIX = (("page_view", 55), ("click", 20), ("video_watch", 10), ("live_watch", 8), ("form_view", 5), ("custom", 2))


def generate_events(count: int, *, months: int = 12, chunk: int = 1_000_000, log=print) -> int:
    """Insert ``count`` events spread over the last ``months`` months across every customer, in
    chunks of ``chunk`` rows, each one ``INSERT … SELECT … FROM generate_series`` (PostgreSQL)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from cdp.services import partitions

    if connection.vendor != "postgresql":
        raise SystemExit("the event generator needs PostgreSQL")
    today = timezone.localdate()
    partitions.ensure_partitions(start=partitions.month_start(today, -months), end=partitions.month_start(today, 1))
    wheel = list(itertools.chain.from_iterable([kind] * share for kind, share in MIX))
    seconds = months * 30 * 86400
    now = timezone.now()
    done = 0
    run = uuid.uuid4().hex[:8]
    while done < count:
        size = min(chunk, count - done)
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                """
                WITH ids AS (SELECT array_agg(id ORDER BY id) AS a, count(*) AS n FROM customers_customer),
                     kinds AS (SELECT %s::text[] AS k)
                INSERT INTO cdp_event (client_id, key, type, name, at, customer_id, properties, received_at)
                SELECT NULL, %s || '-' || g, kinds.k[1 + mod(hashint, 100)],
                       CASE WHEN kinds.k[1 + mod(hashint, 100)] = 'custom' THEN 'signup' ELSE '' END,
                       %s::timestamptz - make_interval(secs => mod(hashint2, %s)),
                       ids.a[1 + mod(hashint2, ids.n)], '{}'::jsonb, %s::timestamptz
                FROM generate_series(%s, %s) AS g, ids, kinds,
                     LATERAL (SELECT hashtext(g::text)::bigint & 2147483647 AS hashint,
                                     hashtext('c' || g::text)::bigint & 2147483647 AS hashint2) AS h
                """,
                [wheel, run, now, seconds - 3600, now, done + 1, done + size],
            )
        done += size
        log(f"events: {done:,} of {count:,} ({size / (time.perf_counter() - started):,.0f} rows/s)")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE cdp_event")
    return done


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
