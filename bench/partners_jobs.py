"""Time a month's settlement statements on the large set, in a transaction that is rolled back.

    DATABASE_URL=postgres://…/crm_bench .venv/bin/python -m bench.partners_jobs [--runs 3]

``statements``: ``generate_statements`` for last month over every partner with attributed orders
(target ≤ 30 s on PostgreSQL). Prints median seconds, statements and lines made, and queries.
"""

import argparse
import datetime
import os
import statistics
import sys
import time


class Rollback(Exception):
    pass


def run_once():
    from django.db import connection, transaction
    from django.utils import timezone

    from partners.models import StatementLine
    from partners.services.statements import generate_statements

    period = (timezone.localdate().replace(day=1) - datetime.timedelta(days=1)).replace(day=1)
    queries = []
    outcome = {}
    try:
        with transaction.atomic(), connection.execute_wrapper(lambda execute, *a: queries.append(1) or execute(*a)):
            started = time.perf_counter()
            outcome["statements"] = generate_statements(period=period)
            outcome["seconds"] = time.perf_counter() - started
            outcome["lines"] = StatementLine.objects.filter(statement__period=period).count()
            raise Rollback
    except Rollback:
        pass
    outcome["queries"] = len(queries)
    return outcome


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    runs = [run_once() for _ in range(args.runs)]
    print(
        f"statements: median {statistics.median(r['seconds'] for r in runs):.1f} s, "
        f"{runs[0]['statements']} statements, {runs[0]['lines']} lines, {runs[0]['queries']} queries"
    )


if __name__ == "__main__":
    sys.exit(main())
