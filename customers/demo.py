"""Demo customers: hundreds for ``small``, 100,000 for ``large`` (bulk inserts)."""
from crm.demo import REGIONS

from .models import Customer

SIZES = {"small": 300, "large": 100_000}
BATCH = 5000


def seed(ctx):
    total = SIZES[ctx.size]
    reps = ctx.reps
    sources = [value for value, _ in Customer.Source.choices]
    channels = [value for value, _ in Customer.Channel.choices]
    batch = []
    for index in range(total):
        rng = ctx.rng
        owner = reps[index % len(reps)] if rng.random() > 0.08 else None
        department = owner.department if owner else ctx.departments[rng.choice(["sales1", "sales2"])]
        is_store = rng.random() < 0.1
        name = ctx.name() + ("便利店" if is_store else "")
        batch.append(Customer(
            kind=Customer.Kind.ORGANIZATION if is_store else Customer.Kind.INDIVIDUAL,
            name=name,
            mobile=ctx.mobile(index),
            gender="" if is_store else rng.choice(["female", "male"]),
            region=rng.choice(REGIONS),
            source=rng.choice(sources),
            owner=owner,
            department=department,
            preferred_channel=rng.choice(channels),
            active_hours=rng.choice(["", "09:00-12:00", "19:00-21:00", "周末"]),
            created_at=ctx.moment(720 if ctx.size == "large" else 120),
        ))
        if len(batch) >= BATCH:
            Customer.objects.bulk_create(batch)
            batch = []
    Customer.objects.bulk_create(batch)
    ctx.log(f"  customers: {total}")
