"""Points (积分) and tiers (会员等级).

**Never below zero.** A spend is one conditional UPDATE — ``points = points - n WHERE points >=
n`` — so two spends of the last points cannot both pass (the second waits for the row lock,
re-reads and matches nothing); the CHECK ``points >= 0`` is the last line of defence. The same
row lock serializes everything that touches a member's lots (spends and expiries), so the lots'
``remaining`` always add up to ``points``.

**Lots, oldest-expiring first.** Every award is valid until the end of the month
``MEMBERS_POINTS_VALID_MONTHS`` after it (or the date the caller gives); a spend takes what is left
of the lots that expire first; at a period's end :func:`expire_points` takes off what is left of
each expired lot, one "expired" line per lot (reference ``expire:<lot>``: exactly once).

**Idempotent.** Every entry has a reference, unique per member: the same reference again returns
the first entry and changes nothing (a concurrent duplicate fails on the index and its whole
transaction, the balance change included, is rolled back).

**Tiers** are recomputed at once on an order and nightly: the highest tier whose 12-month spend
(paid orders) or points threshold the member reaches; every change is kept (``TierChange``), and
the first time a member reaches a tier its free service is granted as an entitlement.
"""

import calendar
import datetime
import math
from collections import defaultdict
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from catalog.services import entitlements
from crm import notifications
from crm.errors import DomainError
from customers.models import Order

from ..models import EarnRule, Member, PointsEntry, Tier, TierChange


def member_for(customer) -> Member:
    member, _created = Member.objects.get_or_create(customer=customer)
    return member


def expiry_for(day: datetime.date) -> datetime.date:
    """The last day of the month ``MEMBERS_POINTS_VALID_MONTHS`` after ``day``'s."""
    months = day.year * 12 + day.month - 1 + settings.MEMBERS_POINTS_VALID_MONTHS
    year, month = divmod(months, 12)
    return datetime.date(year, month + 1, calendar.monthrange(year, month + 1)[1])


def _insufficient(member_pk: int, wanted: int) -> DomainError:
    held = Member.objects.values_list("points", flat=True).get(pk=member_pk)
    return DomainError(
        "insufficient_points",
        _("Only %(points)s points left; cannot spend %(n)s.") % {"points": f"{held:,}", "n": f"{wanted:,}"},
        fields={"points": _("Not enough points.")},
    )


def _use_lots(member_pk: int, points: int) -> None:
    """Take ``points`` off the member's lots, the oldest-expiring first (never-expiring last);
    the caller holds the member's row lock."""
    lots = (
        PointsEntry.objects.filter(member_id=member_pk, remaining__gt=0)
        .order_by(F("expires_on").asc(nulls_last=True), "id")
        .values_list("pk", "remaining")
    )
    left = points
    for pk, remaining in list(lots):
        take = min(left, remaining)
        PointsEntry.objects.filter(pk=pk).update(remaining=F("remaining") - take)
        left -= take
        if not left:
            return


def _change(
    *, member: Member, delta: int, reason: str, reference: str, order=None, expires_on=None, kind=None
) -> PointsEntry:
    reference = reference[:100]
    earlier = PointsEntry.objects.filter(member=member, reference=reference).first()
    if earlier is not None:
        return earlier
    try:
        with transaction.atomic():
            rows = Member.objects.filter(pk=member.pk)
            if delta < 0:
                rows = rows.filter(points__gte=-delta)
            if not rows.update(points=F("points") + delta):
                raise _insufficient(member.pk, -delta)
            if delta < 0:
                _use_lots(member.pk, -delta)
            balance = Member.objects.values_list("points", flat=True).get(pk=member.pk)
            return PointsEntry.objects.create(
                member=member,
                kind=kind or (PointsEntry.Kind.EARN if delta > 0 else PointsEntry.Kind.SPEND),
                delta=delta,
                remaining=max(delta, 0),
                expires_on=(expires_on or expiry_for(timezone.localdate())) if delta > 0 else None,
                balance_after=balance,
                reason=reason[:100],
                reference=reference,
                order=order,
            )
    except IntegrityError:
        return PointsEntry.objects.get(member=member, reference=reference)


def _check_points(points) -> int:
    if isinstance(points, bool) or not isinstance(points, int) or not 1 <= points <= 10_000_000:
        raise DomainError(
            "invalid_points",
            _("Points must be a whole number from 1 to 10,000,000."),
            fields={"points": _("Points must be a whole number from 1 to 10,000,000.")},
        )
    return points


def earn(*, member: Member, points: int, reason: str, reference: str, order=None, expires_on=None) -> PointsEntry:
    return _change(
        member=member,
        delta=_check_points(points),
        reason=reason,
        reference=reference,
        order=order,
        expires_on=expires_on,
    )


def spend(*, member: Member, points: int, reason: str, reference: str) -> PointsEntry:
    """Spend the oldest-expiring points first. Raises ``DomainError("insufficient_points")``."""
    return _change(member=member, delta=-_check_points(points), reason=reason, reference=reference)


SOURCE_LABELS = {"attendance": gettext_lazy("Lesson attended"), "check_in": gettext_lazy("Check-in")}


def points_for_event(*, kind: str, tier: Tier | None) -> int:
    """The points a ``kind`` of event ("attendance", "check_in") earns a member of ``tier``: the
    earning rule for the kind and the tier, else the kind's rule for any tier, else
    ``MEMBERS_POINTS_FOR[kind]``. One query."""
    rules = dict(
        EarnRule.objects.filter(Q(tier=tier) | Q(tier__isnull=True) if tier is not None else Q(tier__isnull=True))
        .filter(source=kind, category="")
        .values_list("tier_id", "points")
    )
    if tier is not None and tier.pk in rules:
        return rules[tier.pk]
    if None in rules:
        return rules[None]
    return settings.MEMBERS_POINTS_FOR.get(kind, 0)


def award(*, customer, kind: str, reference: str) -> PointsEntry | None:
    """The points a lesson attended or a check-in earns (:func:`points_for_event`, by the
    member's tier), once per ``reference`` — the source record ("attendance:12", "visit:7"): a
    retry returns the first entry. Nothing when there are no tiers (no membership) or no points
    for ``kind`` and the tier."""
    if not Tier.objects.exists():
        return None
    member = member_for(customer)
    earlier = PointsEntry.objects.filter(member=member, reference=reference[:100]).first()
    if earlier is not None:
        return earlier
    points = points_for_event(kind=kind, tier=member.tier)
    if points < 1:
        return None
    return earn(member=member, points=points, reason=str(SOURCE_LABELS.get(kind, kind)), reference=reference)


def check_in(*, member: Member, day: datetime.date | None = None) -> PointsEntry:
    """签到: the check-in points once per member and day (a second check-in the same day returns
    the first)."""
    day = day or timezone.localdate()
    entry = award(customer=member.customer, kind="check_in", reference=f"check_in:{day.isoformat()}")
    if entry is None:
        raise DomainError("no_points", _("Check-ins earn no points."))
    return entry


# -- expiry ----------------------------------------------------------------------------------


def expire_points(today: datetime.date | None = None) -> int:
    """Take off what is left of every lot that expired before ``today`` (one line per lot, in one
    transaction per member, under the member's row lock). Safe to run twice: a second run finds
    nothing left. Returns the points taken off."""
    today = today or timezone.localdate()
    members = (
        PointsEntry.objects.filter(remaining__gt=0, expires_on__lt=today).values_list("member_id", flat=True).distinct()
    )
    total = 0
    for member_id in list(members):
        with transaction.atomic():
            Member.objects.select_for_update().filter(pk=member_id).values_list("pk").get()
            lots = list(
                PointsEntry.objects.filter(member_id=member_id, remaining__gt=0, expires_on__lt=today).order_by(
                    "expires_on", "id"
                )
            )
            for lot in lots:
                points = lot.remaining
                PointsEntry.objects.filter(pk=lot.pk).update(remaining=0)
                Member.objects.filter(pk=member_id).update(points=F("points") - points)
                balance = Member.objects.values_list("points", flat=True).get(pk=member_id)
                PointsEntry.objects.create(
                    member_id=member_id,
                    kind=PointsEntry.Kind.EXPIRE,
                    delta=-points,
                    balance_after=balance,
                    reason=(_("Expired (earned %(day)s)") % {"day": timezone.localdate(lot.at).isoformat()})[:100],
                    reference=f"expire:{lot.pk}",
                )
                total += points
    return total


def notice_expiring_points(today: datetime.date | None = None) -> int:
    """Tell each member's owner, once per member and expiry date, of the points that expire within
    ``MEMBERS_EXPIRY_NOTICE_DAYS``: a conditional UPDATE marks the lots (``expiry_noticed_at IS
    NULL``) and only the run that marked them sends, so a second or concurrent run sends nothing."""
    today = today or timezone.localdate()
    until = today + datetime.timedelta(days=settings.MEMBERS_EXPIRY_NOTICE_DAYS)
    due = (
        PointsEntry.objects.filter(
            remaining__gt=0, expiry_noticed_at__isnull=True, expires_on__gte=today, expires_on__lte=until
        )
        .values_list("member_id", "expires_on")
        .distinct()
    )
    sent = 0
    for member_id, expires_on in list(due):
        with transaction.atomic():
            lots = PointsEntry.objects.filter(
                member_id=member_id, expires_on=expires_on, remaining__gt=0, expiry_noticed_at__isnull=True
            )
            points = lots.aggregate(s=Sum("remaining"))["s"] or 0
            if not lots.update(expiry_noticed_at=timezone.now()):
                continue
            member = Member.objects.select_related("customer__owner").get(pk=member_id)
            if member.customer.owner is None:
                continue
            notifications.notify(
                recipient=member.customer.owner,
                title=_("%(customer)s: %(points)s points expire on %(day)s")
                % {"customer": member.customer.name, "points": f"{points:,}", "day": expires_on.isoformat()},
                url=member.get_absolute_url(),
                kind="points_expiring",
            )
            sent += 1
    return sent


# -- tiers -----------------------------------------------------------------------------------


def spend_last_12_months(customer, now=None) -> Decimal:
    since = (now or timezone.now()) - datetime.timedelta(days=365)
    total = (
        Order.objects.filter(customer=customer, placed_at__gte=since)
        .exclude(status=Order.Status.CANCELLED)
        .aggregate(s=Sum("amount"))["s"]
    )
    return total or Decimal(0)


def tier_for(*, spend_12m: Decimal, points: int) -> Tier | None:
    return (
        Tier.objects.filter(Q(min_spend__lte=spend_12m) | Q(min_points__isnull=False, min_points__lte=points))
        .order_by("-position", "-id")
        .first()
    )


def recompute_tier(member: Member, *, reason: str = "") -> Tier | None:
    """Set the member's tier from the rules; a change is kept in the tier history."""
    member.refresh_from_db(fields=["points", "tier"])
    tier = tier_for(spend_12m=spend_last_12_months(member.customer), points=member.points)
    if tier is not None and tier.pk != member.tier_id:
        first_time = not TierChange.objects.filter(member=member, to_tier=tier).exists()
        TierChange.objects.create(member=member, from_tier_id=member.tier_id, to_tier=tier, reason=reason[:100])
        member.tier = tier
        member.save(update_fields=["tier"])
        if first_time and tier.benefit_sku_id and tier.benefit_quantity:
            entitlements.grant(
                customer=member.customer,
                name=(_("%(tier)s benefit: %(service)s") % {"tier": tier.name, "service": tier.benefit_sku.name})[:50],
                quantity=tier.benefit_quantity,
                sku=tier.benefit_sku,
                expires_on=expiry_for(timezone.localdate()),
            )
    return tier


def recompute_tiers() -> int:
    """The nightly run: every member's tier (12-month spend moves as orders age). Returns the
    number of changes."""
    changed = 0
    for member in Member.objects.select_related("customer").iterator(chunk_size=500):
        before = member.tier_id
        recompute_tier(member, reason=_("Nightly review"))
        changed += member.tier_id != before
    return changed


def _rates(tier_id) -> dict:
    """``{category: points per yuan}`` for the tier: a rule for the category and the tier first,
    then for the category and any tier; ``""`` is every other category."""
    rates: dict = {}
    rules = EarnRule.objects.filter(Q(tier_id=tier_id) | Q(tier__isnull=True), source=EarnRule.Source.ORDER)
    for category, rule_tier, rate in rules.values_list("category", "tier_id", "points_per_yuan"):
        if rule_tier is not None or category not in rates:
            rates[category] = rate
    return rates


def points_for_order(order, tier: Tier | None) -> int:
    default = tier.points_per_yuan if tier is not None else Decimal(1)
    rates = _rates(tier.pk if tier is not None else None)
    lines = list(order.lines.all()) if order.pk and rates else []
    if not lines:
        return math.floor(order.amount * rates.get("", default))
    by_category: dict = defaultdict(Decimal)
    for line in lines:
        by_category[line.category] += line.price * line.quantity
    return sum(
        math.floor(amount * rates.get(category, rates.get("", default))) for category, amount in by_category.items()
    )


def earn_for_order(order) -> PointsEntry | None:
    """The order_placed hook: points for a paid order by the earning rules of the member's tier
    and each line's category (one per whole yuan by default), once per order; then the tier at
    once."""

    if order.status == Order.Status.CANCELLED or not Tier.objects.exists():
        return None
    return _earn_for_order(order, member_for(order.customer))


def earn_for_orders(orders) -> None:
    """:func:`earn_for_order` for many orders stored in this transaction (the order import). The
    points of an order depend on the tier the one before left, so each order still earns and moves
    the tier in turn (the same ledger, tier history and audit entries); whether there are tiers and
    the members of all the orders' customers are read once."""
    live = [order for order in orders if order.status != Order.Status.CANCELLED]
    if not live or not Tier.objects.exists():
        return
    members = {m.customer_id: m for m in Member.objects.filter(customer_id__in={o.customer_id for o in live})}
    for order in live:
        member = members.get(order.customer_id)
        if member is None:
            member = members[order.customer_id] = member_for(order.customer)
        member.customer = order.customer
        _earn_for_order(order, member)


def _earn_for_order(order, member: Member) -> PointsEntry | None:
    points = points_for_order(order, member.tier)
    entry = None
    if points >= 1:
        entry = earn(member=member, points=points, reason=_("Order"), reference=f"order:{order.pk}", order=order)
        member.refresh_from_db(fields=["points"])
    recompute_tier(member, reason=_("Order %(number)s") % {"number": order.external_id or order.pk})
    return entry
