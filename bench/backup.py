"""Backup round trip: ``python -m bench.backup`` (see docs/operations.md).

Dumps the database of ``DATABASE_URL`` with ``pg_dump -Fc`` (reading only; the dump and the
counts come from one exported snapshot, so writers may keep working), restores the dump with
``pg_restore -j 2`` into a new scratch database ``<name>_restore_check``, compares the row count of
every table, the total of every money column and every sequence, prints the timings and PASS or
FAIL, and drops the scratch database. Exit status: 0 PASS, 1 FAIL, 2 could not run.
"""

import argparse
import os
import sys
import tempfile
from pathlib import Path

from crm.backup_check import BackupError, Database, client_tools, colliding_sequences, round_trip


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.backup", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--jobs", type=int, default=2, help="parallel pg_restore jobs (2); 1 restores in a single transaction"
    )
    parser.add_argument("--keep-dump", metavar="PATH", help="write the dump here and keep it")
    parser.add_argument("--scratch", metavar="NAME", help="scratch database (<name>_restore_check)")
    return parser.parse_args(argv)


def load():
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def describe(snapshot):
    return (
        f"{len(snapshot.counts)} tables, {snapshot.rows:,} rows, {len(snapshot.totals)} money columns, "
        f"{len(snapshot.sequences)} sequences"
    )


def report(result, *, jobs):
    """Print the figures of a :class:`crm.backup_check.RoundTrip`; returns the exit status."""
    print(f"  source         {describe(result.before)}")
    print(f"  pg_dump -Fc    {result.dump_bytes / 1e6:,.1f} MB in {result.dump_seconds:.1f} s")
    how = f"-j {jobs}" if jobs > 1 else "-1"
    print(f"  pg_restore {how:<5}{result.restore_seconds:.1f} s")
    print(f"  compare        {result.check_seconds:.1f} s (both databases)")
    unused = colliding_sequences(result.before)
    if unused:
        print(
            f"  note           {len(unused)} sequences never used, as in the source "
            f"(rows stored with explicit ids): {', '.join(unused)}"
        )
    problems = result.problems
    if problems:
        print(f"FAIL: {len(problems)} differences after the restore")
        for problem in problems:
            print(f"  - {problem}")
        return 1
    print(
        f"PASS: every row count ({len(result.before.counts)} tables), money total "
        f"({len(result.before.totals)} columns) and sequence ({len(result.before.sequences)}) is unchanged"
    )
    return 0


def main(argv=None):
    args = parse_args(argv)
    try:
        source = Database.from_url(os.environ.get("DATABASE_URL", ""))
        client_tools()
    except BackupError as exc:
        print(f"bench.backup: {exc}", file=sys.stderr)
        return 2
    scratch = source.with_name(args.scratch or f"{source.name}_restore_check")
    print(f"Backup round trip of {source.name} into {scratch.name} ({load()})")
    try:
        if args.keep_dump:
            result = round_trip(source, scratch, Path(args.keep_dump), jobs=args.jobs)
            print(f"  dump kept at {args.keep_dump}")
        else:
            with tempfile.TemporaryDirectory(prefix="crm-backup-") as directory:
                result = round_trip(source, scratch, Path(directory) / "crm.dump", jobs=args.jobs)
    except BackupError as exc:
        print(f"bench.backup: {exc}", file=sys.stderr)
        return 2
    status = report(result, jobs=args.jobs)
    print(f"  ({load()})")
    return status


if __name__ == "__main__":
    sys.exit(main())
