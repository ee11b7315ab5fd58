"""``python -m bench.simulation [--days 45] [--seed 1] [--start YYYY-MM-DD] [--keep-going] [--exact]``

Runs the simulation on a database of its own, made fresh for the run and kept afterwards for a
look (SQLite: ``var/simulation.sqlite3``; PostgreSQL: the configured database's name with
``_simulation``), so the configured database is never written. ``--check-only`` checks the rules
on the configured database as it is, and changes nothing.
"""

import argparse
import datetime
import os
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent.parent


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.simulation", description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=int(os.environ.get("DAYS") or 45), help="days to run (45)")
    parser.add_argument(
        "--seed", type=int, default=int(os.environ.get("SEED") or 1), help="seed of the people's choices (1)"
    )
    parser.add_argument(
        "--start",
        type=datetime.date.fromisoformat,
        default=os.environ.get("START") or None,
        help="the first day (today)",
    )
    parser.add_argument("--keep-going", action="store_true", help="go on after a day that broke a rule")
    parser.add_argument(
        "--exact",
        action="store_true",
        help="run every beat tick, also those that would find nothing new (slow; to check the skipping)",
    )
    parser.add_argument(
        "--name",
        default="simulation",
        help="the run's database: var/NAME.sqlite3, or the configured name + _NAME (simulation)",
    )
    parser.add_argument(
        "--check-only", action="store_true", help="only check the rules on the configured database, as it is now"
    )
    args = parser.parse_args(argv)
    if isinstance(args.start, str):
        args.start = datetime.date.fromisoformat(args.start)
    if args.days < 1:
        parser.error("--days must be at least 1")
    return args


def setup_django():
    sys.path.insert(0, str(PROJECT_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django
    from django.conf import settings

    # before anything touches the cache or the broker: in-process cache (its expiry follows the
    # simulated clock) and Celery, mail kept in memory, quick password hashing for the demo users
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    django.setup()
    from config.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True


def fresh_database(suffix):
    """Create (or re-create) the simulation's own database, migrated; returns its name."""
    from django.conf import settings
    from django.db import connection

    database = settings.DATABASES["default"]
    if connection.vendor == "sqlite":
        name = str(Path(settings.VAR_DIR) / f"{suffix}.sqlite3")
    else:
        name = f"{database['NAME']}_{suffix}"
    database.setdefault("TEST", {})["NAME"] = name
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    return name


def main(argv=None):
    args = parse_args(argv)
    setup_django()
    from django.db import connection
    from django.utils import timezone

    from .engine import Simulation
    from .invariants import check_invariants

    if args.check_only:
        found = check_invariants()
        for violation in found:
            print(violation)
        print(f"{len(found)} violation(s)" if found else "all invariants hold")
        return 1 if found else 0
    start = args.start or timezone.localdate()
    print(f"simulation: {args.days} days from {start}, seed {args.seed}, {connection.vendor}", flush=True)
    name = fresh_database(args.name)
    print(f"database {name} (kept after the run)", flush=True)
    simulation = Simulation(
        days=args.days,
        seed=args.seed,
        start=start,
        keep_going=args.keep_going,
        exact=args.exact,
        out=lambda line: print(line, flush=True),
    )
    outcome = simulation.run()
    print()
    if outcome.notes:
        print("notes: " + "; ".join(outcome.notes))
    print("activity: " + ", ".join(f"{name} {n}" for name, n in sorted(outcome.activity.items())))
    if outcome.refusals:
        print("refused (as the rules say): " + ", ".join(f"{name} {n}" for name, n in sorted(outcome.refusals.items())))
    busy = sorted(outcome.jobs, key=lambda job: -job[3])
    print(
        "beat jobs (runs / ticks skipped / seconds): "
        + ", ".join(f"{name} {runs}/{skipped}/{seconds:.1f}" for name, runs, skipped, seconds in busy)
    )
    print("time (s): " + ", ".join(f"{name} {seconds:.0f}" for name, seconds in outcome.spent.most_common()))
    print(
        f"{outcome.seconds:.0f} s on {connection.vendor}; repeat with: make simulate DAYS={args.days} "
        f"SEED={args.seed} START={start}"
    )
    print()
    if outcome.ok:
        print(outcome.report())
        return 0
    report = outcome.report()
    path = Path(settings_var_dir()) / "simulation" / f"violations-{start}-seed{args.seed}.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(outcome.report(examples=10**9) + "\n", encoding="utf-8")
    print(f"FAILED on day {outcome.failed_day} of {args.days}")
    print(report)
    print(f"every violation: {path}")
    return 1


def settings_var_dir():
    from django.conf import settings

    return settings.VAR_DIR


if __name__ == "__main__":
    sys.exit(main())
