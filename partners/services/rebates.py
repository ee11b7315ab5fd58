"""返点: rebates on a partner's period volume, by tiers (``RebatePlan``)."""

import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Sum
from django.utils import timezone

from customers.models import Order

from ..models import Attribution, Partner, RebatePlan

CENT = Decimal("0.01")


def rebate_for(plan: RebatePlan, volume: Decimal, tiers=None) -> Decimal:
    """The rebate on ``volume`` under ``plan``. A tier applies from its threshold inclusive (a
    volume of exactly ¥1,000,000 reaches the ¥1,000,000 tier). Retroactive: the highest tier
    reached, on the whole volume. Marginal: each tier's rate on the volume between its threshold
    and the next tier's. Below the first tier: nothing."""
    tiers = sorted(tiers if tiers is not None else plan.tiers.all(), key=lambda tier: tier.threshold)
    reached = [tier for tier in tiers if volume >= tier.threshold]
    if not reached:
        return Decimal("0.00")
    if plan.mode == RebatePlan.Mode.RETROACTIVE:
        return (volume * reached[-1].rate / 100).quantize(CENT, rounding=ROUND_HALF_UP)
    total = Decimal(0)
    for index, tier in enumerate(reached):
        upper = tiers[index + 1].threshold if index + 1 < len(tiers) else None
        top = volume if upper is None else min(volume, upper)
        total += (top - tier.threshold) * tier.rate / 100
    return total.quantize(CENT, rounding=ROUND_HALF_UP)


def period_bounds(plan: RebatePlan, day: datetime.date) -> tuple[datetime.date, datetime.date]:
    """The first day of ``plan``'s period holding ``day`` and the first day after it."""
    if plan.period == RebatePlan.Period.MONTH:
        start = day.replace(day=1)
        months = 1
    elif plan.period == RebatePlan.Period.QUARTER:
        start = day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
        months = 3
    else:
        start = day.replace(month=1, day=1)
        months = 12
    month = start.month - 1 + months
    end = start.replace(year=start.year + month // 12, month=month % 12 + 1)
    return start, end


def volume_of(partner: Partner, start: datetime.date, end: datetime.date) -> Decimal:
    """The paid amount (less coupon discounts) of the partner's attributed paid orders placed in
    [start, end) local time."""

    def aware(day):
        return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))

    totals = Attribution.objects.filter(
        partner=partner,
        order__status=Order.Status.PAID,
        order__placed_at__gte=aware(start),
        order__placed_at__lt=aware(end),
    ).aggregate(amount=Sum("order__amount"), discount=Sum("order__discount"))
    return (totals["amount"] or Decimal(0)) - (totals["discount"] or Decimal(0))


def volumes_of(partner_ids: list[int], start: datetime.date, end: datetime.date) -> dict[int, Decimal]:
    """:func:`volume_of` of each of ``partner_ids`` that has any (partner id -> volume), one grouped query."""

    def aware(day):
        return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))

    totals = (
        Attribution.objects.filter(
            partner_id__in=partner_ids,
            order__status=Order.Status.PAID,
            order__placed_at__gte=aware(start),
            order__placed_at__lt=aware(end),
        )
        .order_by()
        .values("partner_id")
        .annotate(amount=Sum("order__amount"), discount=Sum("order__discount"))
    )
    return {row["partner_id"]: (row["amount"] or Decimal(0)) - (row["discount"] or Decimal(0)) for row in totals}
