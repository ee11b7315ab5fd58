"""Time the sales Celery jobs on the large demo set, in a transaction that is rolled back.

    DATABASE_URL=postgres://…/crm_bench .venv/bin/python -m bench.sales_jobs [--runs 3]

- ``recycle``: the hourly pool job (``services.recycle``) over every lead and customer.
- ``dispatch``: 100,000 due reminder notices (``services.dispatch_due``): every open reminder is
  made due in two hours, so exactly its "1 day before" notice is due now; the run must send each
  once (a second run right after sends nothing).

Each run rolls back, so the data set is unchanged (no notification, pool move or reminder notice
is kept) and runs can be repeated. Prints median seconds and the number of queries.
"""

import argparse
import datetime
import os
import statistics
import sys
import time


class Rollback(Exception):
    pass


class QueryCounter:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def _timed(function):
    from django.db import connection

    counter = QueryCounter()
    with connection.execute_wrapper(counter):
        started = time.perf_counter()
        result = function()
        seconds = time.perf_counter() - started
    return result, seconds, counter.count


def run_recycle():
    from django.db import transaction

    from sales.services.pool import recycle

    outcome = {}
    try:
        with transaction.atomic():
            outcome["result"], outcome["seconds"], outcome["queries"] = _timed(recycle)
            raise Rollback
    except Rollback:
        pass
    return outcome


def run_dispatch():
    from django.db import transaction
    from django.utils import timezone

    from crm.models import Notification
    from sales.models import Reminder, ReminderNotice
    from sales.services.reminders import dispatch_due

    outcome = {}
    now = timezone.now()
    try:
        with transaction.atomic():
            made_due = Reminder.objects.update(
                status=Reminder.Status.OPEN,
                completed_at=None,
                offsets="",
                due_at=now + datetime.timedelta(hours=2),
                created_at=now - datetime.timedelta(days=3),
                next_notice_at=now - datetime.timedelta(minutes=1),
            )
            ReminderNotice.objects.all().delete()
            notifications_before = Notification.objects.count()
            outcome["reminders"] = made_due
            outcome["result"], outcome["seconds"], outcome["queries"] = _timed(lambda: dispatch_due(now=now))
            outcome["notices"] = ReminderNotice.objects.count()
            outcome["notifications"] = Notification.objects.count() - notifications_before
            outcome["second_run"] = dispatch_due(now=now)  # each notice exactly once
            raise Rollback
    except Rollback:
        pass
    return outcome


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.sales_jobs", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", choices=["recycle", "dispatch"])
    args = parser.parse_args(argv)
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    jobs = {"recycle": run_recycle, "dispatch": run_dispatch}
    for name, job in jobs.items():
        if args.only and name != args.only:
            continue
        outcomes = [job() for _ in range(args.runs)]
        seconds = [o["seconds"] for o in outcomes]
        print(
            f"{name}: median {statistics.median(seconds):.2f} s (runs: {', '.join(f'{s:.2f}' for s in seconds)}), "
            f"{outcomes[-1]['queries']} queries"
        )
        print(f"  last run: { {k: v for k, v in outcomes[-1].items() if k not in ('seconds', 'queries')} }")
    return 0


if __name__ == "__main__":
    sys.exit(main())
