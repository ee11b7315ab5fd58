"""The partners' part of the large set: 500 partners, 20,000 stores under the dealers and 200,000
orders attributed to partners, built set-based (bulk inserts in chunks, no per-row service call).

    DATABASE_URL=postgres://…/crm_bench .venv/bin/python -m bench.partners_data [--partners 500 \\
        --stores 20000 --orders 200000]

Run it after ``seed_demo --size large``. It tops up what is missing, so a second run adds nothing:
partners with ``BULK`` codes (a quarter of them dealers, every second one active), organization
customers put under the dealers as stores (new ones created when the set has too few), and paid
orders without a partner attributed round-robin to the signed and active partners (new orders of
the stores, spread over the last twelve months, when too few are left). Proven at a small scale by
``partners/tests/test_bench_data.py``.

Then :func:`portal_user` gives the portal scenarios (``bench/partners.py``) their sign-in when the
set has none: ``partner1`` for the first signed or active ``BULK`` partner (about 1,200 attributed
orders), with its statements of the last twelve months (the older ones paid, the last one a draft),
made by the statements service as the monthly run makes them.
"""

import argparse
import datetime
import os
import random
import sys
from decimal import Decimal

CHUNK = 10_000


def build(*, partners: int = 500, stores: int = 20_000, orders: int = 200_000, seed: int = 1) -> dict:
    from django.db import transaction
    from django.utils import timezone

    from crm.models import Role, User
    from customers.models import Customer, Order
    from partners.models import Attribution, DealerStore, Partner, PartnerStatus

    rng = random.Random(seed)
    now = timezone.now()
    people = list(User.objects.filter(role__in=[Role.REP, Role.MANAGER], is_active=True, department__isnull=False))
    kinds = ("agent", "reseller", "referral", "dealer")
    statuses = [PartnerStatus.ACTIVE, PartnerStatus.SIGNED, PartnerStatus.ACTIVE, PartnerStatus.PROSPECT]
    with transaction.atomic():
        have = Partner.objects.filter(code__startswith="BULK").count()
        Partner.objects.bulk_create(
            [
                Partner(
                    name=f"演示渠道{n:04d}有限公司",
                    kind=kinds[n % 4],
                    code=f"BULK{n:05d}",
                    owner=people[n % len(people)],
                    department=people[n % len(people)].department,
                    status=statuses[(n // 4) % 4] if n % 4 != 3 else PartnerStatus.ACTIVE,
                    grade="ABCD"[n % 4],
                    created_at=now - datetime.timedelta(hours=n),
                )
                for n in range(have, partners)
            ],
            batch_size=CHUNK,
        )
        dealers = list(Partner.objects.filter(code__startswith="BULK", kind="dealer").order_by("pk"))
        missing = stores - DealerStore.objects.filter(dealer__in=dealers).count()
        if missing > 0 and dealers:
            free = list(
                Customer.objects.filter(kind=Customer.Kind.ORGANIZATION, dealer_link__isnull=True)
                .order_by("pk")
                .values_list("pk", flat=True)[:missing]
            )
            base = Customer.objects.count()
            new = [
                Customer(
                    kind=Customer.Kind.ORGANIZATION,
                    name=f"演示门店{base + n:06d}便利店",
                    mobile=f"16{(base + n) * 7919 % 1_000_000_000:09d}",
                    owner=dealers[n % len(dealers)].owner,
                    department=dealers[n % len(dealers)].department,
                    created_at=now - datetime.timedelta(days=rng.uniform(30, 700)),
                )
                for n in range(missing - len(free))
            ]
            for start in range(0, len(new), CHUNK):
                Customer.objects.bulk_create(new[start : start + CHUNK])
            free += [c.pk for c in new]
            for start in range(0, len(free), CHUNK):
                DealerStore.objects.bulk_create(
                    [
                        DealerStore(customer_id=pk, dealer=dealers[(start + i) % len(dealers)])
                        for i, pk in enumerate(free[start : start + CHUNK])
                    ]
                )
        creditable = list(
            Partner.objects.filter(status__in=[PartnerStatus.SIGNED, PartnerStatus.ACTIVE]).order_by("pk")
        )
        missing = orders - Attribution.objects.count()
        if missing > 0 and creditable:
            order_ids = list(
                Order.objects.filter(status=Order.Status.PAID, partner_attribution__isnull=True)
                .order_by("pk")
                .values_list("pk", flat=True)[:missing]
            )
            store_ids = list(DealerStore.objects.order_by("pk").values_list("customer_id", flat=True)[:CHUNK])
            extra = missing - len(order_ids)
            for start in range(0, extra, CHUNK):
                made = Order.objects.bulk_create(
                    [
                        Order(
                            customer_id=store_ids[(start + n) % len(store_ids)],
                            amount=Decimal(rng.randrange(5_000, 500_000)) / 100,
                            placed_at=now - datetime.timedelta(minutes=rng.randrange(1, 365 * 24 * 60)),
                            channel=Order.Channel.STORE,
                        )
                        for n in range(min(CHUNK, extra - start))
                    ]
                )
                order_ids += [o.pk for o in made]
            for start in range(0, len(order_ids), CHUNK):
                Attribution.objects.bulk_create(
                    [
                        Attribution(
                            order_id=pk, partner=creditable[(start + i) % len(creditable)], reason="code", at=now
                        )
                        for i, pk in enumerate(order_ids[start : start + CHUNK])
                    ]
                )
    return {
        "partners": Partner.objects.filter(code__startswith="BULK").count(),
        "stores": DealerStore.objects.count(),
        "attributed": Attribution.objects.count(),
    }


PORTAL_USERNAME = "partner1"


def portal_user(*, username: str = PORTAL_USERNAME, months: int = 12) -> dict:
    """The portal sign-in ``username`` for the first signed or active ``BULK`` partner, with its
    statements of the last ``months`` months, unless the user is there already (the small set's
    demo makes it for a demo partner)."""
    from django.db import transaction
    from django.utils import timezone

    from crm.demo import DEMO_PASSWORD
    from crm.models import User
    from partners.models import Partner, PartnerStatus, Statement
    from partners.services.portal import create_portal_user
    from partners.services.statements import generate_statement

    existing = User.objects.filter(username=username).first()
    if existing is not None:
        link = getattr(existing, "partner_link", None)
        return {"portal_user": username, "partner": link.partner.code if link else None, "created": False}
    partner = (
        Partner.objects.filter(code__startswith="BULK", status__in=[PartnerStatus.SIGNED, PartnerStatus.ACTIVE])
        .order_by("pk")
        .first()
    )
    if partner is None:
        return {"portal_user": None, "partner": None, "created": False}
    today = timezone.localdate()
    first = today.replace(day=1)
    periods = [first]
    for _ in range(months - 1):
        periods.append((periods[-1] - datetime.timedelta(days=1)).replace(day=1))
    with transaction.atomic():
        create_portal_user(partner=partner, username=username, name=f"{partner.name[:20]}专员", password=DEMO_PASSWORD)
        for period in reversed(periods):
            statement = generate_statement(partner_id=partner.pk, period=period)
            if period != first:  # settled months: approved early in the next month and paid
                closed = timezone.make_aware(datetime.datetime.combine(period, datetime.time(10)))
                closed += datetime.timedelta(days=32)
                Statement.objects.filter(pk=statement.pk).update(
                    status=Statement.Status.PAID,
                    approved_at=closed,
                    paid_at=closed + datetime.timedelta(days=3),
                )
    return {
        "portal_user": username,
        "partner": partner.code,
        "created": True,
        "statements": Statement.objects.filter(partner=partner).count(),
    }


def analyze():
    """Fresh planner statistics for the tables filled (what autovacuum does soon after a load)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for table in (
            "partners_partner",
            "partners_dealerstore",
            "partners_attribution",
            "partners_statement",
            "partners_statementline",
            "customers_customer",
            "customers_order",
        ):
            cursor.execute(f"ANALYZE {table}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--partners", type=int, default=500)
    parser.add_argument("--stores", type=int, default=20_000)
    parser.add_argument("--orders", type=int, default=200_000)
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    print(build(partners=args.partners, stores=args.stores, orders=args.orders))
    print(portal_user())
    analyze()


if __name__ == "__main__":
    sys.exit(main())
