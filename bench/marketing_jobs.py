"""Time the marketing jobs on the large demo set, inside a transaction that is rolled back:

- building the recipient list of a 50,000-person push (screening opt-outs, resting, caps, then
  ``INSERT … SELECT`` of the messages);
- rolling up one campaign's statistics;
- one attribution pass over the last 30 days.

Run: ``DATABASE_URL=... python -m bench.marketing_jobs``
"""

import os
import statistics
import sys
import time


def _timed(fn, runs=3):
    times = []
    result = None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), result


def main():
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.db import transaction
    from django.utils import timezone

    from crm.models import User
    from customers.models import Customer
    from marketing.models import Campaign, Segment, Touch
    from marketing.services import sending, stats
    from marketing.services.segments import save_segment

    marketing = User.objects.get(username="marketing")

    class Rollback(Exception):
        pass

    rows = []
    try:
        with transaction.atomic():
            cutoff = Customer.objects.exclude(mobile="").order_by("pk").values_list("pk", flat=True)[49_999]
            segment = save_segment(
                actor=marketing,
                segment=Segment(name="bench 50k"),
                definition={
                    "match": "all",
                    "groups": [{"match": "all", "conditions": [{"field": "order_count", "op": "gte", "value": 0}]}],
                },
            )
            campaign = Campaign.objects.create(
                name="bench push",
                owner=marketing,
                department=marketing.department,
                segment=segment,
                status=Campaign.Status.APPROVED,
                start=timezone.localdate(),
                end=timezone.localdate(),
            )
            audience = sending.audience

            def limited(touch):  # the first 50,000 customers with a mobile
                return audience(touch).filter(pk__lte=cutoff)

            sending.audience = limited
            touch = Touch.objects.create(campaign=campaign, channel="sms", body="{name}您好")
            started = time.perf_counter()
            sending.start_send(actor=marketing, touch=touch)
            build_ms = (time.perf_counter() - started) * 1000
            sending.audience = audience
            touch.refresh_from_db()
            rows.append(
                (
                    "recipient list of a push",
                    build_ms,
                    f"{touch.recipients} messages, held back {sum(touch.held_back.values())}",
                )
            )
            ms, _ = _timed(lambda: stats.refresh(campaign.pk))
            rows.append(("campaign statistics roll-up (50k messages)", ms, ""))
            raise Rollback
    except Rollback:
        pass
    finished = Campaign.objects.filter(status="finished").order_by("pk").first()
    if finished:
        ms, _ = _timed(lambda: stats.refresh(finished.pk))
        rows.append(("campaign statistics roll-up (demo open day)", ms, ""))
    with transaction.atomic():
        ms, made = _timed(lambda: stats.attribute(), runs=1)
        transaction.set_rollback(True)
    rows.append(("attribution pass (since the last one)", ms, f"{made} attributions"))
    width = max(len(r[0]) for r in rows)
    for name, ms, note in rows:
        print(f"{name:<{width}}  {ms:>10.0f} ms  {note}")


if __name__ == "__main__":
    main()
