"""Demo membership: four tiers, earning rules (编程 and 夏令营 earn double for 金卡 and 钻石), rep1's
customers as members with the points of their orders, a welcome gift to the school's students,
daily check-ins, an award about to expire
(so the notice has something to say), coupons to exchange points for and one exchange, and a
nightly tier review."""

import datetime
from decimal import Decimal

from django.db.models import F
from django.utils import timezone

from coupons.models import Batch
from crm.errors import DomainError
from customers.models import Customer, Order

from . import demo_large
from .models import EarnRule, Member, PointsEntry, PointsOffer, Tier
from .services import offers, points

TIERS = [
    ("普通", "0", None, "1"),
    ("银卡", "5000", 10000, "1"),
    ("金卡", "20000", 30000, "1.2"),
    ("钻石", "50000", 80000, "1.5"),
]


def seed(ctx):
    tiers = [
        Tier.objects.create(
            name=name, position=position, min_spend=Decimal(spend), min_points=pts, points_per_yuan=Decimal(rate)
        )
        for position, (name, spend, pts, rate) in enumerate(TIERS)
    ]
    for tier in tiers[2:]:
        for category in ("编程", "夏令营"):
            EarnRule.objects.create(category=category, tier=tier, points_per_yuan=Decimal(2))
    orders = (
        Order.objects.filter(customer__owner=ctx.users["rep1"])
        .select_related("customer")
        .prefetch_related("lines")
        .order_by("placed_at", "id")
    )
    for order in orders[:200]:
        points.earn_for_order(order)
    today = timezone.localdate()
    # the school's students (rep1's first customers, as resources enrols them) get a welcome gift
    for student in Customer.objects.filter(owner=ctx.users["rep1"], anonymized_at__isnull=True).order_by("id")[:8]:
        points.earn(member=points.member_for(student), points=800, reason="开学礼", reference="demo:welcome")
    members = list(Member.objects.filter(customer__owner=ctx.users["rep1"]).order_by("id")[:10])
    for number, member in enumerate(members):
        for days in range(number % 4 + 1):
            points.check_in(member=member, day=today - datetime.timedelta(days=days))
    if members:
        points.earn(
            member=members[0],
            points=300,
            reason="开学季活动",
            reference="demo:expiring",
            expires_on=today + datetime.timedelta(days=10),
        )
    now = timezone.now()
    batch = (
        Batch.objects.filter(
            status=Batch.Status.ACTIVE,
            channels="",
            audience=Batch.Audience.EVERYONE,
            budget_mode=Batch.BudgetMode.AT_REDEMPTION,
            claim_start__lte=now,
            claim_end__gt=now + datetime.timedelta(days=7),
            quantity__gte=F("issued") + 100,
        )
        .order_by("code")
        .first()
    )
    if batch is not None:
        offer = PointsOffer.objects.create(batch=batch, points=500)
        rich = Member.objects.filter(pk__in=[m.pk for m in members], points__gte=2000).order_by("id").first()
        if rich is not None:
            try:
                offers.redeem_offer(member=rich, offer=offer, reference="demo-exchange")
            except DomainError:
                pass  # a batch that refuses this customer leaves the demo without an exchange
    if ctx.size == "large":
        demo_large.generate(members=100_000, entries_per_member=20)
    else:
        points.recompute_tiers()
    ctx.log(
        f"  members: {Member.objects.count()} members, {len(TIERS)} tiers, {PointsEntry.objects.count()} ledger lines"
    )
