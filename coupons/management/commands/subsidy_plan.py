import sys

from django.core.management.base import BaseCommand, CommandError

from coupons.services import subsidy


class Command(BaseCommand):
    help = "Compute subsidies X_i = a + Y_i^t (b - a) from a CSV of merchants or products with metric columns."

    def add_arguments(self, parser):
        parser.add_argument("input", help="CSV with an 'id' column and metric columns")
        parser.add_argument("--a", type=float, required=True, help="lowest subsidy")
        parser.add_argument("--b", type=float, required=True, help="highest subsidy")
        parser.add_argument("--t", type=float, required=True, help="shape factor (> 0)")
        parser.add_argument("--weights", required=True, help="column=weight,... (should sum to 1)")
        parser.add_argument("--rank", action="store_true", help="score metrics by rank instead of min-max")
        parser.add_argument("--output", help="write the CSV here instead of standard output")

    def handle(self, *args, **options):
        try:
            with open(options["input"], encoding="utf-8-sig") as handle:
                _fields, rows = subsidy.read_csv(handle.read())
            weights = subsidy.parse_weights(options["weights"])
            result = subsidy.compute(
                rows, a=options["a"], b=options["b"], t=options["t"], weights=weights, rank=options["rank"]
            )
        except (OSError, UnicodeDecodeError, subsidy.PlanError) as exc:
            raise CommandError(str(exc)) from exc
        for warning in result.warnings:
            self.stderr.write(f"warning: {warning}")
        for number, column, reason in result.errors:
            self.stderr.write(f"row {number}, column {column}: {reason}")
        text = subsidy.write_csv(result, weights)
        if options["output"]:
            with open(options["output"], "w", encoding="utf-8", newline="") as handle:
                handle.write(text)
            self.stderr.write(f"{len(result.rows)} rows, total {result.total:.2f} → {options['output']}")
        else:
            sys.stdout.write(text)
        if result.errors:
            raise CommandError(f"{len(result.errors)} bad row(s) reported above; they are not in the output.")
