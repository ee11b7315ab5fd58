"""Check or rebuild the table of sold lines the business analysis and the policy effect count
from (``catalog.sold_lines``): ``--check`` reports how many rows differ from a fresh join of the
order lines, orders and customers and fails when any do; without it the triggers are put back if
one is missing and the table is refilled."""

from django.core.management.base import BaseCommand, CommandError

from catalog import sold_lines


class Command(BaseCommand):
    help = "Check (--check) or rebuild the sold lines of the business analysis from the order lines."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="Only count the rows that differ; fail if any.")
        parser.add_argument("--database", default="default")

    def handle(self, *args, check=False, database="default", **options):
        missing = sold_lines.missing_triggers(database)
        if check:
            differing = sold_lines.drift(database)
            self.stdout.write(f"sold lines: {differing} rows differ, {len(missing)} triggers missing")
            if differing or missing:
                raise CommandError("the sold lines are out of step; run rebuild_sold_lines")
            return
        if missing:
            sold_lines.install(database)
            self.stdout.write(f"triggers reinstalled: {', '.join(sorted(missing))}")
        written = sold_lines.rebuild(database)
        self.stdout.write(f"sold lines rebuilt: {written} rows")
