import sys
import time

from django.core.management.base import BaseCommand, OutputWrapper
from django.db import transaction

from crm.demo import existing_context
from marketing import demo
from marketing.models import Campaign


class Command(BaseCommand):
    help = "Add the marketing part of the demo data to a database that already holds the rest (seed_demo)."

    def add_arguments(self, parser):
        parser.add_argument("--size", choices=["small", "large"], default="large")
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, size, seed, **options):
        if Campaign.objects.exists():
            self.stdout.write("Marketing demo data is already there; nothing done.")
            return
        started = time.monotonic()
        ctx = existing_context(size=size, seed=seed, stdout=OutputWrapper(sys.stdout))
        with transaction.atomic():
            demo.seed(ctx)
        self.stdout.write(f"Marketing demo data ({size}) added in {time.monotonic() - started:.1f}s.")
