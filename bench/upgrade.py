"""Upgrade on a copy of the data: ``python -m bench.upgrade`` (see docs/operations.md).

1. Copies the database of ``DATABASE_URL`` into a new database (``crm_upgrade``) with
   ``pg_dump -Fc | pg_restore -j 2``; the source is only read (no ``CREATE DATABASE ... TEMPLATE``,
   which needs everyone else disconnected from it).
2. Migrates the copy back to the schema of an earlier release (``--release``, or ``--to
   app:migration``), as if it had been running that release.
3. Times ``manage.py migrate`` forward to this checkout, as an upgrade would run it, and the same
   command once more with nothing to apply (the start-up part of the time).
4. Compares the copy before and after the forward migration: every row count, money total and
   sequence of the old release's tables must be unchanged. Prints PASS or FAIL, drops the copy.

Exit status: 0 PASS, 1 FAIL, 2 could not run.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.backup import describe, load
from crm.backup_check import BackupError, Database, client_tools, compare, copy_database, drop_database, snapshot_of

PROJECT_DIR = Path(__file__).resolve().parent.parent

#: the newest migration of each app in an earlier release (the migration files of those releases
#: are unchanged since; later releases only added files)
RELEASES = {
    # "Benchmark figures": before marketing, the dashboard rollups, the subsidy plans and the
    # newer list indexes; 17 migrations behind commit 55c84e0
    "62d5c24": {
        "marketing": "zero",
        "customers": "0004_customer_last_followup_at_customer_last_inbound_at_and_more",
        "sales": "0002_opportunity_stuck_index",
        "coupons": "0002_alert",
        "crm": "0002_alter_apitoken_options_alter_delivery_options_and_more",
    },
}
DEFAULT_RELEASE = "62d5c24"
#: Django's bookkeeping: a forward migration records itself, and new models get a content type
#: and permissions; these tables may gain rows (never lose any)
BOOKKEEPING = ("django_migrations", "django_content_type", "auth_permission")
APPLYING = re.compile(r"Applying (\S+)\.\.\. OK \(([\d.]+)s\)")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.upgrade", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--release",
        choices=sorted(RELEASES),
        default=DEFAULT_RELEASE,
        help=f"earlier release to upgrade from ({DEFAULT_RELEASE})",
    )
    parser.add_argument(
        "--to",
        action="append",
        metavar="APP:MIGRATION",
        help="migrate APP back to MIGRATION instead (repeatable; 'zero' for none)",
    )
    parser.add_argument("--copy", default="crm_upgrade", metavar="NAME", help="the copy's database (crm_upgrade)")
    parser.add_argument("--jobs", type=int, default=2, help="parallel pg_restore jobs (2)")
    parser.add_argument("--keep", action="store_true", help="keep the copy afterwards")
    args = parser.parse_args(argv)
    if args.to:
        try:
            args.targets = dict(target.split(":", 1) for target in args.to)
        except ValueError:
            parser.error("--to wants APP:MIGRATION")
    else:
        args.targets = RELEASES[args.release]
    return args


def manage(db, *args):
    """Run ``manage.py`` against ``db`` the way an operator would; returns (seconds, output)."""
    env = dict(os.environ, DATABASE_URL=db.url)
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=PROJECT_DIR, env=env, capture_output=True, text=True
    )
    seconds = time.monotonic() - started
    if result.returncode != 0:
        raise BackupError(f"manage.py {' '.join(args)} failed: {(result.stderr or result.stdout).strip()[-2000:]}")
    return seconds, result.stdout


def upgrade(source, copy, targets, *, jobs):
    with tempfile.TemporaryDirectory(prefix="crm-upgrade-") as directory:
        copied = copy_database(source, copy, Path(directory) / "crm.dump", jobs=jobs)
    print(f"  source         {describe(copied.before)}")
    print(
        f"  copy           {copied.dump_bytes / 1e6:,.1f} MB dump in {copied.dump_seconds:.1f} s, "
        f"restored in {copied.restore_seconds:.1f} s (-j {jobs})"
    )
    back_seconds = 0.0
    for app, target in targets.items():
        seconds, _ = manage(copy, "migrate", app, target, "--noinput")
        back_seconds += seconds
    old = snapshot_of(copy)
    dropped = [table for table in copied.before.counts if table not in old.counts]
    print(
        f"  back           {', '.join(f'{app} {target}' for app, target in targets.items())} "
        f"in {back_seconds:.1f} s: {describe(old)} ({len(dropped)} newer tables dropped)"
    )

    forward_seconds, output = manage(copy, "migrate", "--noinput", "-v", "2")
    applied = APPLYING.findall(output)
    idle_seconds, _ = manage(copy, "migrate", "--noinput")
    manage(copy, "migrate", "--check")  # fails if anything is left unapplied
    new = snapshot_of(copy)
    print(
        f"  forward        manage.py migrate: {len(applied)} migrations in {forward_seconds:.1f} s "
        f"(of which start-up {idle_seconds:.1f} s, measured as a migrate with nothing to apply)"
    )
    per_app = {}
    for name, _ in applied:
        per_app[name.split(".")[0]] = per_app.get(name.split(".")[0], 0) + 1
    print(f"    applied: {', '.join(f'{app} {count}' for app, count in per_app.items())}; the slowest:")
    for name, seconds in sorted(applied, key=lambda item: -float(item[1]))[:5]:
        print(f"    {float(seconds):7.2f} s  {name}")
    grown = ", ".join(
        f"{table} +{new.counts[table] - old.counts[table]}"
        for table in BOOKKEEPING
        if new.counts.get(table, 0) > old.counts.get(table, 0)
    )
    print(f"  after          {describe(new)}; bookkeeping rows added: {grown or 'none'}")
    return compare(old, new, allow_new=True, may_grow=BOOKKEEPING)


def main(argv=None):
    args = parse_args(argv)
    try:
        source = Database.from_url(os.environ.get("DATABASE_URL", ""))
        client_tools()
    except BackupError as exc:
        print(f"bench.upgrade: {exc}", file=sys.stderr)
        return 2
    copy = source.with_name(args.copy)
    if copy.name == source.name:
        print("bench.upgrade: --copy must name a database other than the source", file=sys.stderr)
        return 2
    print(
        f"Upgrade of a copy of {source.name} ({copy.name}) from "
        f"{'release ' + args.release if not args.to else 'the given migrations'} ({load()})"
    )
    try:
        problems = upgrade(source, copy, args.targets, jobs=args.jobs)
    except BackupError as exc:
        print(f"bench.upgrade: {exc}", file=sys.stderr)
        return 2
    finally:
        if args.keep:
            print(f"  copy kept: {copy.url}")
        else:
            drop_database(copy, keep={source.name})
    if problems:
        print(f"FAIL: {len(problems)} differences after the forward migration")
        for problem in problems:
            print(f"  - {problem}")
        return 1
    print("PASS: every row count, money total and sequence of the old release's tables is unchanged")
    print(f"  ({load()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
