"""Demo membership: four tiers, and rep1's customers as members with the points of their orders."""

from decimal import Decimal

from customers.models import Order

from .models import Member, Tier
from .services import points

TIERS = [
    ("普通", "0", None, "1"),
    ("银卡", "5000", 10000, "1"),
    ("金卡", "20000", 30000, "1.2"),
    ("钻石", "50000", 80000, "1.5"),
]


def seed(ctx):
    for position, (name, spend, pts, rate) in enumerate(TIERS):
        Tier.objects.create(
            name=name, position=position, min_spend=Decimal(spend), min_points=pts, points_per_yuan=Decimal(rate)
        )
    orders = (
        Order.objects.filter(customer__owner=ctx.users["rep1"]).select_related("customer").order_by("placed_at", "id")
    )
    for order in orders[:200]:
        points.earn_for_order(order)
    ctx.log(f"  members: {Member.objects.count()} members, {len(TIERS)} tiers")
