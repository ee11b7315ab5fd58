"""Reads of membership: members in the user's data scope (by the customer's owner and
department), a member's standing (tier, projected tier, what the next tier takes) and ledger."""

import calendar
import datetime
from decimal import Decimal

from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from catalog.models import SalesPolicy
from crm import permissions
from customers.models import Order

from .models import Member, PointsEntry, PointsOffer, Tier, TierChange
from .services.points import spend_last_12_months, tier_for

#: at most this many rows on a list page or a ledger page
MAX_ROWS = 200


def members_for(user) -> QuerySet:
    if not permissions.can(user, "members.view"):
        return Member.objects.none()
    return permissions.visible(user, Member.objects.select_related("customer", "customer__owner", "tier"))


def member_tiers_of(customer_ids) -> dict[int, str]:
    """``{customer id: tier name}`` of the members among ``customer_ids`` (the pricing service's
    member-tier dimension). One query."""
    return dict(
        Member.objects.filter(customer_id__in=list(customer_ids), tier__isnull=False).values_list(
            "customer_id", "tier__name"
        )
    )


def tier_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in Tier.objects.values_list("name", flat=True)]


def price_benefits(tier: Tier | None, *, on: datetime.date | None = None, limit: int = 5) -> list[SalesPolicy]:
    """The tier's price benefit (会员价): the active sales policies for members of ``tier`` on
    ``on`` (today), the highest priority first. One query."""
    if tier is None:
        return []
    on = on or timezone.localdate()
    return list(
        SalesPolicy.objects.filter(member_tier=tier.name, is_active=True)
        .filter(
            Q(valid_from__isnull=True) | Q(valid_from__lte=on), Q(valid_until__isnull=True) | Q(valid_until__gte=on)
        )
        .select_related("sku", "category")
        .order_by("-priority", "name")[:limit]
    )


def ledger(member: Member, limit: int = MAX_ROWS) -> list[PointsEntry]:
    return list(PointsEntry.objects.filter(member=member).select_related("order").order_by("-at", "-id")[:limit])


def tier_history(member: Member, limit: int = 50) -> list[TierChange]:
    return list(TierChange.objects.filter(member=member).select_related("from_tier", "to_tier")[:limit])


def _month_end(day: datetime.date) -> datetime.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def standing(member: Member, *, now=None) -> dict:
    """The member's tier, the tier the member will hold after this month's end if nothing more
    is bought (orders older than 12 months by then drop out), the next tier and what it takes
    (points or 12-month spend, whichever is nearer), and the points that expire first."""
    now = now or timezone.now()
    tiers = list(Tier.objects.order_by("position", "id"))
    spend_12m = spend_last_12_months(member.customer, now)
    month_end = _month_end(timezone.localdate(now))
    after = timezone.make_aware(datetime.datetime.combine(month_end + datetime.timedelta(days=1), datetime.time.min))
    dropping = Order.objects.filter(
        customer_id=member.customer_id,
        placed_at__gte=now - datetime.timedelta(days=365),
        placed_at__lt=after - datetime.timedelta(days=365),
    ).exclude(status=Order.Status.CANCELLED).aggregate(s=Sum("amount"))["s"] or Decimal(0)
    expiring = (
        PointsEntry.objects.filter(member=member, remaining__gt=0, expires_on__lte=month_end).aggregate(
            s=Sum("remaining")
        )["s"]
        or 0
    )
    projected = tier_for(spend_12m=spend_12m - dropping, points=member.points - expiring)
    current_position = member.tier.position if member.tier_id else -1
    next_tier = next((t for t in tiers if t.position > current_position), None)
    first_lot = (
        PointsEntry.objects.filter(member=member, remaining__gt=0, expires_on__isnull=False)
        .order_by("expires_on")
        .values("expires_on")
        .annotate(points=Sum("remaining"))
        .first()
    )
    return {
        "tier": member.tier,
        "tiers": tiers,
        "spend_12m": spend_12m,
        "projected": projected,
        "month_end": month_end,
        "next_tier": next_tier,
        "points_to_next": max(0, next_tier.min_points - member.points)
        if next_tier and next_tier.min_points is not None
        else None,
        "spend_to_next": max(Decimal(0), next_tier.min_spend - spend_12m) if next_tier else None,
        "first_expiry": first_lot,
    }


def offers() -> list[PointsOffer]:
    return list(PointsOffer.objects.filter(is_active=True).select_related("batch")[:50])
