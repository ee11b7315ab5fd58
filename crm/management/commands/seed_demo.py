import importlib
import time

from django.core.management.base import BaseCommand
from django.db import transaction

from crm.approvals.services import adopt_waiting
from crm.demo import AFTER_SEED, DEMO_PASSWORD, DEMO_USERS, DemoContext, seed_organization
from crm.models import User

#: apps whose ``demo.seed(ctx)`` adds data, in dependency order
DEMO_APPS = [
    "customers",
    "sales",
    "coupons",
    "catalog",
    "marketing",
    "field",
    "partners",
    "members",
    "resources",
    "contracts",
    "cdp",
]


class Command(BaseCommand):
    help = "Load deterministic demo data: small (hundreds of rows) or large (the benchmark set)."

    def add_arguments(self, parser):
        parser.add_argument("--size", choices=["small", "large"], default="small")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--if-empty", action="store_true", help="Do nothing if demo users already exist.")

    def handle(self, *args, size, seed, if_empty, **options):
        if User.objects.filter(username="admin").exists():
            if if_empty:
                self.stdout.write("Demo data already loaded; keeping it.")
                return
            self.stderr.write("Demo users already exist; use a fresh database to load demo data again.")
            return
        started = time.monotonic()
        ctx = DemoContext(size=size, seed=seed, stdout=self.stdout)
        with transaction.atomic():
            seed_organization(ctx)
            for app in DEMO_APPS:
                try:
                    module = importlib.import_module(f"{app}.demo")
                except ModuleNotFoundError as exc:
                    if exc.name not in (app, f"{app}.demo"):
                        raise
                    continue
                module.seed(ctx)
            if size == "large":  # the benchmark's extra rows, from bench/<app>.py's seed_large(ctx)
                for app in DEMO_APPS:
                    large = getattr(_bench_module(app), "seed_large", None)
                    if large is not None:
                        large(ctx)

            adopt_waiting()  # what the demo data left waiting for approval is in someone's inbox
        for step in AFTER_SEED.values():
            step()  # e.g. the customer overview's rollups, so the dashboard has figures at once
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ({size}, seed {seed}) loaded in {time.monotonic() - started:.1f}s. "
                f"Logins: {', '.join(u[0] for u in DEMO_USERS)} / password {DEMO_PASSWORD}"
            )
        )


def _bench_module(app):
    try:
        return importlib.import_module(f"bench.{app}")
    except ModuleNotFoundError as exc:
        if exc.name not in ("bench", f"bench.{app}"):
            raise
        return None
