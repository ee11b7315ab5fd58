"""Demo customers: hundreds for ``small``, 100,000 with 1,000,000 orders for ``large`` (bulk inserts),
with households, referrals, tags and satisfaction records."""

import datetime
from decimal import Decimal

from crm.demo import REGIONS
from crm.name_keys import keys_for

from . import regions
from .models import Customer, CustomerRelation, CustomerTag, Order, OrderLine, RelationKind, Satisfaction, Tag, TagGroup
from .services.orders import rebuild_value_figures, recompute_all

SIZES = {"small": {"customers": 300, "orders": 1500}, "large": {"customers": 100_000, "orders": 1_000_000}}
BATCH = 5000
PRODUCTS = [
    ("MATH-01", "数学", 2980),
    ("ENG-01", "英语", 3680),
    ("CODE-01", "编程", 4280),
    ("ART-01", "美术", 1880),
    ("PIANO-01", "钢琴", 5800),
    ("CAMP-01", "夏令营", 6800),
    ("BOOK-01", "教辅", 128),
    ("TRIAL-01", "试听课", 99),
]
TAG_GROUPS = [
    ("意向", False, "danger", ["高意向", "中意向", "低意向"]),
    ("兴趣", True, "primary", ["数学", "英语", "编程", "美术", "钢琴"]),
    ("人生阶段", False, "success", ["学龄前", "小学", "初中"]),
]


def seed(ctx):
    size = SIZES[ctx.size]
    rng = ctx.rng
    reps = ctx.reps
    sources = [value for value, _ in Customer.Source.choices]
    channels = [value for value, _ in Customer.Channel.choices]
    batch = []
    for index in range(size["customers"]):
        owner = reps[index % len(reps)] if rng.random() > 0.08 else None
        department = owner.department if owner else ctx.departments[rng.choice(["sales1", "sales2"])]
        is_store = rng.random() < 0.1
        created = ctx.moment(720 if ctx.size == "large" else 400)
        batch.append(
            Customer(
                kind=Customer.Kind.ORGANIZATION if is_store else Customer.Kind.INDIVIDUAL,
                name=(name := ctx.name() + ("便利店" if is_store else "")),
                name_keys=keys_for(name),
                mobile=ctx.mobile(index),
                gender="" if is_store else rng.choice(["female", "male"]),
                **regions.normalized(regions.match(rng.choice(REGIONS))),
                source=rng.choice(sources),
                owner=owner,
                department=department,
                preferred_channel=rng.choice(channels),
                active_hours=rng.choice(["", "09:00-12:00", "19:00-21:00", "周末"]),
                created_at=created,
                owned_since=created if owner else None,
            )
        )
        if len(batch) >= BATCH:
            Customer.objects.bulk_create(batch)
            batch = []
    Customer.objects.bulk_create(batch)
    ids = list(Customer.objects.order_by("id").values_list("id", flat=True))
    created_at = dict(Customer.objects.values_list("id", "created_at"))
    ctx.log(f"  customers: {len(ids)}")

    _households(ctx, ids)
    _tags(ctx, ids)
    _orders(ctx, ids, created_at, size["orders"])
    _satisfaction(ctx, ids)
    rebuild_value_figures()
    recompute_all()
    ctx.log("  value figures, segments and stages computed")


def _households(ctx, ids):
    """Every fifth individual is a parent with one or two children; some have a spouse; a few refer others."""
    rng = ctx.rng
    links = []
    used = set()
    for position in range(0, len(ids) - 4, 5):
        parent, spouse, child1, child2 = ids[position : position + 4]
        links.append(CustomerRelation(from_customer_id=parent, to_customer_id=child1, kind=RelationKind.PARENT))
        if rng.random() < 0.5:
            links.append(CustomerRelation(from_customer_id=parent, to_customer_id=child2, kind=RelationKind.PARENT))
            links.append(
                CustomerRelation(
                    from_customer_id=min(child1, child2), to_customer_id=max(child1, child2), kind=RelationKind.SIBLING
                )
            )
        if rng.random() < 0.4:
            links.append(
                CustomerRelation(
                    from_customer_id=min(parent, spouse), to_customer_id=max(parent, spouse), kind=RelationKind.SPOUSE
                )
            )
        used.update((parent, spouse, child1, child2))
        if rng.random() < 0.15 and position >= 10:
            links.append(
                CustomerRelation(
                    from_customer_id=ids[position - 5],
                    to_customer_id=parent,
                    kind=RelationKind.REFERRER,
                    is_family=False,
                )
            )
        if len(links) >= BATCH:
            CustomerRelation.objects.bulk_create(links, ignore_conflicts=True)
            links = []
    CustomerRelation.objects.bulk_create(links, ignore_conflicts=True)


def _tags(ctx, ids):
    rng = ctx.rng
    groups = {}
    for position, (name, multiple, color, names) in enumerate(TAG_GROUPS):
        group = TagGroup.objects.create(name=name, multiple=multiple, color=color, position=position)
        groups[name] = [Tag.objects.create(group=group, name=tag) for tag in names]
    links = []
    for customer_id in ids:
        if rng.random() < 0.7:
            links.append(CustomerTag(customer_id=customer_id, tag=rng.choice(groups["意向"]), source="import"))
        for tag in rng.sample(groups["兴趣"], rng.choice([0, 1, 1, 2])):
            links.append(CustomerTag(customer_id=customer_id, tag=tag, source="import"))
        if rng.random() < 0.5:
            links.append(CustomerTag(customer_id=customer_id, tag=rng.choice(groups["人生阶段"]), source="import"))
        if len(links) >= BATCH:
            CustomerTag.objects.bulk_create(links, ignore_conflicts=True)
            links = []
    CustomerTag.objects.bulk_create(links, ignore_conflicts=True)


def _orders(ctx, ids, created_at, total):
    """Orders skewed so that a fifth of the customers bring most of the revenue."""
    rng = ctx.rng
    with_lines = ctx.size == "small"
    orders, lines = [], []
    heavy = ids[: max(1, len(ids) // 5)]
    for index in range(total):
        customer_id = rng.choice(heavy) if rng.random() < 0.6 else rng.choice(ids)
        sku, category, price = rng.choice(PRODUCTS)
        quantity = 1 if price > 500 else rng.randint(1, 3)
        amount = Decimal(price * quantity)
        start = created_at[customer_id]
        span = max((ctx.anchor - start).total_seconds(), 3600)
        placed = start + datetime.timedelta(seconds=rng.uniform(0, span))
        order = Order(
            customer_id=customer_id,
            amount=amount,
            cost=(amount * Decimal("0.55")).quantize(Decimal("0.01")),
            channel=rng.choice(["store", "online", "mini_program", "sales"]),
            placed_at=placed,
            created_at=placed,
            external_id=f"DEMO-{index + 1:07d}",
            status=Order.Status.CANCELLED if rng.random() < 0.03 else Order.Status.PAID,
        )
        orders.append(order)
        if with_lines:
            lines.append((order, OrderLine(sku=sku, category=category, quantity=quantity, price=Decimal(price))))
        if len(orders) >= BATCH:
            _flush(orders, lines)
            orders, lines = [], []
    _flush(orders, lines)
    ctx.log(f"  orders: {total}")


def _flush(orders, lines):
    Order.objects.bulk_create(orders)
    if lines:
        if orders and orders[0].pk is None:
            by_external = dict(
                Order.objects.filter(external_id__in=[o.external_id for o in orders]).values_list("external_id", "pk")
            )
            for order in orders:
                order.pk = by_external[order.external_id]
        for order, line in lines:
            line.order_id = order.pk
        OrderLine.objects.bulk_create([line for _order, line in lines])


def _satisfaction(ctx, ids):
    rng = ctx.rng
    records = []
    for customer_id in ids[::3]:
        for _ in range(rng.choice([1, 1, 2])):
            if rng.random() < 0.7:
                kind, score = Satisfaction.Kind.CSAT, rng.choice([2, 3, 4, 4, 5, 5, 5])
            else:
                kind, score = Satisfaction.Kind.NPS, rng.choice([3, 6, 7, 8, 9, 10])
            records.append(
                Satisfaction(
                    customer_id=customer_id,
                    kind=kind,
                    score=score,
                    source=rng.choice(["survey", "service", "follow_up"]),
                    recorded_at=ctx.moment(300),
                )
            )
        if len(records) >= BATCH:
            Satisfaction.objects.bulk_create(records)
            records = []
    Satisfaction.objects.bulk_create(records)
