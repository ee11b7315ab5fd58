"""Benchmark scenarios of contracts and collections, and the large set's contracts.

The large demo set gets 30,000 contracts with 90,000 instalments (three each) on the large set's
customers, owned by their customers' owners: signed over the last year, with the instalments a
month apart, the older ones paid (one payment matched to each), some paid in part and some
overdue, so every ageing bucket of the collections dashboard has rows. :func:`ensure` adds them
once (``bench/dataset.py`` calls it for the large set); the rows go in with set-based inserts
(``bulk_create`` in batches), not one service call per contract — the services' rules (amounts
adding up, received never above amount) hold by construction and the test
``contracts/tests/test_bench_set.py`` checks them at a small scale.

Targets (issue 17): the contract list and the collections dashboard ≤ 150 ms median server time,
with query counts flat in data size.
"""

import datetime
import random
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from bench.scenarios import Scenario, register
from contracts.models import Contract, Instalment, Payment, PaymentMatch
from customers.models import Customer

PREFIX = "BX"
CONTRACTS = 30_000
PARTS = 3
BATCH = 5_000
CENTS = Decimal("0.01")


def generated() -> int:
    return Contract.objects.filter(number__startswith=PREFIX).count()


def ensure(*, contracts: int = CONTRACTS, seed: int = 17, log=print) -> int:
    """Add the bench contracts unless they are there; returns how many were added."""
    if generated() >= contracts:
        return 0
    added = generate(contracts=contracts - generated(), seed=seed)
    log(f"  contracts (bench): {added} contracts, {added * PARTS} instalments")
    analyze()
    return added


def analyze():
    """Fresh planner statistics for the contract tables (what autovacuum does soon after a load):
    added to a set that was analysed before, the plans would still count the few demo contracts."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in (Contract, Instalment, Payment, PaymentMatch):
            cursor.execute(f"ANALYZE {model._meta.db_table}")


@transaction.atomic
def generate(*, contracts: int, seed: int = 17, today: datetime.date | None = None) -> int:
    rng = random.Random(seed)
    today = today or timezone.localdate()
    now = timezone.now()
    owners = list(
        Customer.objects.filter(owner__isnull=False)
        .order_by("pk")
        .values_list("pk", "owner_id", "department_id")[: max(contracts, 1)]
    )
    if not owners:
        return 0
    offset = generated()  # numbers continue after the bench contracts already there
    made = 0
    while made < contracts:
        size = min(BATCH, contracts - made)
        batch, plans = [], []
        for index in range(made, made + size):
            customer_id, owner_id, department_id = owners[index % len(owners)]
            amount = Decimal(rng.choice([3600, 6000, 9000, 12000, 18000, 24000, 36000, 48000]))
            signed = today - datetime.timedelta(days=rng.randrange(0, 365))
            third = (amount / PARTS).quantize(CENTS)
            parts = [third] * (PARTS - 1) + [amount - third * (PARTS - 1)]
            dues = [signed + datetime.timedelta(days=30 * i) for i in range(PARTS)]
            # paid: instalments due more than 20 days ago mostly are; one in five late payers pays half
            late_payer = rng.random() < 0.2
            received = []
            for due, part in zip(dues, parts):
                if (today - due).days > 20 and not late_payer:
                    received.append(part)
                elif (today - due).days > 20 and late_payer and not received:
                    received.append((part / 2).quantize(CENTS))
                else:
                    received.append(Decimal("0.00"))
            batch.append(
                Contract(
                    number=f"{PREFIX}{offset + index + 1:07d}",
                    title=f"基准合同 {offset + index + 1}",
                    customer_id=customer_id,
                    owner_id=owner_id,
                    department_id=department_id,
                    amount=amount,
                    signed_on=signed,
                    starts_on=signed,
                    ends_on=signed + datetime.timedelta(days=365),
                    status=Contract.Status.ACTIVE,
                    received=sum(received, Decimal("0.00")),
                    signed_at=timezone.make_aware(datetime.datetime.combine(signed, datetime.time(10))),
                    created_at=now,
                )
            )
            plans.append(list(zip(dues, parts, received)))
        Contract.objects.bulk_create(batch, batch_size=BATCH)
        instalments, payments = [], []
        for contract, plan in zip(batch, plans):
            for sequence, (due, part, got) in enumerate(plan, 1):
                instalments.append(
                    Instalment(
                        contract=contract,
                        sequence=sequence,
                        due_on=due,
                        amount=part,
                        received=got,
                        settled_at=now if got == part else None,
                    )
                )
                if got:
                    payments.append(
                        Payment(
                            contract=contract,
                            amount=got,
                            received_on=min(today, due + datetime.timedelta(days=rng.randrange(0, 15))),
                            reference="银行转账",
                            created_at=now,
                        )
                    )
        Instalment.objects.bulk_create(instalments, batch_size=BATCH)
        Payment.objects.bulk_create(payments, batch_size=BATCH)
        paid = [i for i in instalments if i.received]
        PaymentMatch.objects.bulk_create(
            [PaymentMatch(payment=p, instalment=i, amount=i.received) for p, i in zip(payments, paid)],
            batch_size=BATCH,
        )
        made += size
    return made


def _contract_url(ctx):
    contract = ctx.cached(
        "contracts.busy", lambda: Contract.objects.filter(owner=ctx.user("rep1")).order_by("pk").first()
    )
    return f"/contracts/{contract.pk}/"


def _year():
    return timezone.localdate().year


register(
    # the contract list (合同)
    Scenario("contracts.list", "director", "/contracts/"),
    Scenario("contracts.list.manager1", "manager1", "/contracts/"),
    Scenario("contracts.list.rep1", "rep1", "/contracts/"),
    Scenario("contracts.list.search", "director", "/contracts/?q=BX00123"),
    Scenario("contracts.detail", "rep1", _contract_url),
    # the collections dashboard (回款看板) and its drill-down
    Scenario("contracts.collections", "director", lambda ctx: f"/contracts/collections/?year={_year()}"),
    Scenario("contracts.collections.manager1", "manager1", lambda ctx: f"/contracts/collections/?year={_year()}"),
    Scenario(
        "contracts.collections.department",
        "director",
        lambda ctx: f"/contracts/collections/?year={_year()}&group=department",
    ),
    Scenario("contracts.collections.overdue_60", "director", "/contracts/collections/instalments/?bucket=d60"),
)
