"""Points (积分) and tiers (会员等级).

**Never below zero.** A spend is one conditional UPDATE — ``points = points - n WHERE points >=
n`` — so two spends of the last points cannot both pass (the second waits for the row lock,
re-reads and matches nothing); the CHECK ``points >= 0`` is the last line of defence.

**Idempotent.** Every entry has a reference, unique per member: the same reference again returns
the first entry and changes nothing (a concurrent duplicate fails on the index and its whole
transaction, the balance change included, is rolled back).

**Tiers** are recomputed at once on an order: the highest tier whose 12-month spend (paid orders)
or points threshold the member reaches.
"""

import datetime
import math
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.errors import DomainError
from customers.models import Order

from ..models import Member, PointsEntry, Tier


def member_for(customer) -> Member:
    member, _created = Member.objects.get_or_create(customer=customer)
    return member


def _change(*, member: Member, delta: int, reason: str, reference: str, order=None) -> PointsEntry:
    earlier = PointsEntry.objects.filter(member=member, reference=reference).first()
    if earlier is not None:
        return earlier
    try:
        with transaction.atomic():
            rows = Member.objects.filter(pk=member.pk)
            if delta < 0:
                rows = rows.filter(points__gte=-delta)
            if not rows.update(points=F("points") + delta):
                held = Member.objects.values_list("points", flat=True).get(pk=member.pk)
                raise DomainError(
                    "insufficient_points",
                    _("Only %(points)s points left; cannot spend %(n)s.") % {"points": f"{held:,}", "n": f"{-delta:,}"},
                    fields={"points": _("Not enough points.")},
                )
            balance = Member.objects.values_list("points", flat=True).get(pk=member.pk)
            return PointsEntry.objects.create(
                member=member,
                delta=delta,
                balance_after=balance,
                reason=reason[:100],
                reference=reference[:100],
                order=order,
            )
    except IntegrityError:
        return PointsEntry.objects.get(member=member, reference=reference[:100])


def _check_points(points) -> int:
    if isinstance(points, bool) or not isinstance(points, int) or not 1 <= points <= 10_000_000:
        raise DomainError(
            "invalid_points",
            _("Points must be a whole number from 1 to 10,000,000."),
            fields={"points": _("Points must be a whole number from 1 to 10,000,000.")},
        )
    return points


def earn(*, member: Member, points: int, reason: str, reference: str, order=None) -> PointsEntry:
    return _change(member=member, delta=_check_points(points), reason=reason, reference=reference, order=order)


def spend(*, member: Member, points: int, reason: str, reference: str) -> PointsEntry:
    """Raises ``DomainError("insufficient_points")``."""
    return _change(member=member, delta=-_check_points(points), reason=reason, reference=reference)


def spend_last_12_months(customer, now=None) -> Decimal:

    since = (now or timezone.now()) - datetime.timedelta(days=365)
    total = (
        Order.objects.filter(customer=customer, placed_at__gte=since)
        .exclude(status=Order.Status.CANCELLED)
        .aggregate(s=Sum("amount"))["s"]
    )
    return total or Decimal(0)


def recompute_tier(member: Member) -> Tier | None:
    spend_12m = spend_last_12_months(member.customer)
    tier = (
        Tier.objects.filter(Q(min_spend__lte=spend_12m) | Q(min_points__isnull=False, min_points__lte=member.points))
        .order_by("-position", "-id")
        .first()
    )
    if tier is not None and tier.pk != member.tier_id:
        member.tier = tier
        member.save(update_fields=["tier"])
    return tier


def earn_for_order(order) -> PointsEntry | None:
    """The order_placed hook: points for a paid order at the member's tier's rate (one per whole
    yuan by default), once per order; then the tier at once."""

    if order.status == Order.Status.CANCELLED or not Tier.objects.exists():
        return None
    member = member_for(order.customer)
    rate = member.tier.points_per_yuan if member.tier_id else Decimal(1)
    points = math.floor(order.amount * rate)
    entry = None
    if points >= 1:
        entry = earn(member=member, points=points, reason=_("Order"), reference=f"order:{order.pk}", order=order)
        member.refresh_from_db(fields=["points"])
    recompute_tier(member)
    return entry
