"""会员配置: the tiers (会员等级), the earning rules (积分规则) and the points offers (积分兑换),
kept by admins (``members.configure``) on the membership settings pages.

Every write is one transaction and audit-logged row by row (each row saved or deleted on its own,
inside ``set_actor``). A sales policy names a tier by its name (``SalesPolicy.member_tier``), so
renaming a tier renames it on every such policy in the same transaction, under the tier's row
lock: two admins renaming at once are serialized, and no policy is left naming a tier that no
longer exists. A tier that members hold, that policies are for, or that members' tier histories
name is not deleted (``tier_in_use``, ``tier_in_history``). New thresholds apply from the next
recompute (nightly, or queued by hand with :func:`queue_tier_recompute`).
"""

from dataclasses import dataclass
from decimal import Decimal

from auditlog.context import set_actor
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from catalog.models import SalesPolicy, Sku
from coupons.models import Batch
from crm.errors import DomainError

from ..models import EarnRule, PointsOffer, Tier, TierChange


@dataclass(frozen=True)
class TierData:
    name: str
    position: int
    min_spend: Decimal
    min_points: int | None
    points_per_yuan: Decimal
    benefit_sku: Sku | None = None
    benefit_quantity: int = 0


@dataclass(frozen=True)
class EarnRuleData:
    source: str
    category: str
    tier: Tier | None
    points_per_yuan: Decimal
    points: int


@dataclass(frozen=True)
class OfferData:
    batch: Batch
    points: int
    is_active: bool = True


# --- tiers ---------------------------------------------------------------------------------------


def _name_taken(name: str) -> DomainError:
    message = _("Another tier is already called %(name)s.") % {"name": name}
    return DomainError("tier_name_taken", message, fields={"name": message})


def check_tier(data: TierData) -> None:
    """A tier has a name; a free service has a SKU (``tier_benefit_sku``)."""
    if not data.name.strip():
        raise DomainError("tier_name_required", _("Name the tier."), fields={"name": _("Name the tier.")})
    if data.benefit_quantity and data.benefit_sku is None:
        message = _("Choose the free service, or set the free units to 0.")
        raise DomainError("tier_benefit_sku", message, fields={"benefit_sku": message})


def _save_tier(tier: Tier, data: TierData) -> Tier:
    tier.name = data.name.strip()
    tier.position = data.position
    tier.min_spend = data.min_spend
    tier.min_points = data.min_points
    tier.points_per_yuan = data.points_per_yuan
    tier.benefit_sku = data.benefit_sku
    tier.benefit_quantity = data.benefit_quantity if data.benefit_sku is not None else 0
    try:
        with transaction.atomic():  # the unique name settles a race between two admins
            tier.save()
    except IntegrityError:
        raise _name_taken(tier.name) from None
    return tier


@transaction.atomic
def add_tier(*, data: TierData, actor) -> Tier:
    """Add a tier; audit-logged. Raises ``tier_name_taken``, ``tier_name_required``,
    ``tier_benefit_sku``. Members reach it from the next recompute."""
    check_tier(data)
    if Tier.objects.filter(name=data.name.strip()).exists():
        raise _name_taken(data.name.strip())
    with set_actor(actor):
        return _save_tier(Tier(), data)


@transaction.atomic
def change_tier(*, tier: Tier, data: TierData, actor) -> tuple[Tier, int]:
    """Change a tier; audit-logged. A new name is written, in the same transaction, on every
    sales policy for the old name (each policy saved on its own, so the audit log has one row per
    policy). Returns the tier and the number of policies renamed. Errors as :func:`add_tier`."""
    check_tier(data)
    tier = Tier.objects.select_for_update().get(pk=tier.pk)
    old_name, new_name = tier.name, data.name.strip()
    if new_name != old_name and Tier.objects.filter(name=new_name).exclude(pk=tier.pk).exists():
        raise _name_taken(new_name)
    renamed = 0
    with set_actor(actor):
        _save_tier(tier, data)
        if new_name != old_name:
            for policy in SalesPolicy.objects.select_for_update().filter(member_tier=old_name).order_by("pk"):
                policy.member_tier = new_name
                policy.save(update_fields=["member_tier"])
                renamed += 1
    return tier, renamed


def tier_usage(tier: Tier) -> dict[str, int]:
    """What holds on to a tier: its members, the sales policies for it, the tier changes naming it."""
    return {
        "members": tier.members.count(),
        "policies": SalesPolicy.objects.filter(member_tier=tier.name).count(),
        "changes": TierChange.objects.filter(Q(from_tier=tier) | Q(to_tier=tier)).count(),
    }


@transaction.atomic
def remove_tier(*, tier: Tier, actor) -> None:
    """Delete a tier and its own earning rules; audit-logged. Refused while members hold it or
    sales policies are for it (``tier_in_use``, naming how many), or while members' tier histories
    name it (``tier_in_history``)."""
    tier = Tier.objects.select_for_update().filter(pk=tier.pk).first()
    if tier is None:
        return
    usage = tier_usage(tier)
    if usage["members"] or usage["policies"]:
        raise DomainError(
            "tier_in_use",
            _(
                "The tier %(name)s is not deleted: %(members)s members hold it and %(policies)s sales "
                "policies are for it. Move them to another tier first."
            )
            % {"name": tier.name, "members": f"{usage['members']:,}", "policies": f"{usage['policies']:,}"},
        )
    if usage["changes"]:
        raise DomainError(
            "tier_in_history",
            _("The tier %(name)s is not deleted: %(changes)s tier changes in members' histories name it.")
            % {"name": tier.name, "changes": f"{usage['changes']:,}"},
        )
    with set_actor(actor):
        for rule in EarnRule.objects.filter(tier=tier).order_by("pk"):
            rule.delete()
        tier.delete()


def queue_tier_recompute() -> None:
    """Queue the nightly tier review now (after the commit): new thresholds apply at once."""
    from ..tasks import recompute_tiers

    transaction.on_commit(recompute_tiers.delay)


# --- earning rules -------------------------------------------------------------------------------


def _rule_taken() -> DomainError:
    message = _("Another rule already earns on this source for this category and tier.")
    return DomainError("earn_rule_taken", message, fields={"source": message})


def check_earn_rule(data: EarnRuleData) -> None:
    """An order rule gives points per yuan; a lesson or a check-in gives a fixed number of points
    and has no category (``earn_rule_category``)."""
    if data.source != EarnRule.Source.ORDER and data.category:
        message = _("Only an order rule has a category.")
        raise DomainError("earn_rule_category", message, fields={"category": message})


def _save_rule(rule: EarnRule, data: EarnRuleData) -> EarnRule:
    rule.source = data.source
    rule.category = data.category.strip() if data.source == EarnRule.Source.ORDER else ""
    rule.tier = data.tier
    rule.points_per_yuan = data.points_per_yuan if data.source == EarnRule.Source.ORDER else Decimal(0)
    rule.points = data.points if data.source != EarnRule.Source.ORDER else 0
    taken = EarnRule.objects.filter(source=rule.source, category=rule.category, tier=rule.tier)
    if rule.pk:
        taken = taken.exclude(pk=rule.pk)
    if taken.exists():
        raise _rule_taken()
    try:
        with transaction.atomic():  # the unique constraint settles a race between two admins
            rule.save()
    except IntegrityError:
        raise _rule_taken() from None
    return rule


@transaction.atomic
def add_earn_rule(*, data: EarnRuleData, actor) -> EarnRule:
    """Add an earning rule; audit-logged. Raises ``earn_rule_taken``, ``earn_rule_category``."""
    check_earn_rule(data)
    with set_actor(actor):
        return _save_rule(EarnRule(), data)


@transaction.atomic
def change_earn_rule(*, rule: EarnRule, data: EarnRuleData, actor) -> EarnRule:
    """Change an earning rule; audit-logged; points already earned stay. Errors as
    :func:`add_earn_rule`."""
    check_earn_rule(data)
    rule = EarnRule.objects.select_for_update().get(pk=rule.pk)
    with set_actor(actor):
        return _save_rule(rule, data)


@transaction.atomic
def remove_earn_rule(*, rule: EarnRule, actor) -> None:
    """Delete an earning rule; audit-logged. Points already earned stay."""
    with set_actor(actor):
        row = EarnRule.objects.filter(pk=rule.pk).first()
        if row is not None:
            row.delete()


# --- points offers -------------------------------------------------------------------------------


def check_offer(data: OfferData) -> None:
    """An offer costs at least one point (``offer_points``)."""
    if data.points < 1:
        message = _("An offer costs at least 1 point.")
        raise DomainError("offer_points", message, fields={"points": message})


def _save_offer(offer: PointsOffer, data: OfferData) -> PointsOffer:
    offer.batch = data.batch
    offer.points = data.points
    offer.is_active = data.is_active
    offer.save()
    return offer


@transaction.atomic
def add_offer(*, data: OfferData, actor) -> PointsOffer:
    """Add a points offer (a coupon of ``data.batch`` for so many points); audit-logged."""
    check_offer(data)
    with set_actor(actor):
        return _save_offer(PointsOffer(), data)


@transaction.atomic
def change_offer(*, offer: PointsOffer, data: OfferData, actor) -> PointsOffer:
    """Change a points offer; audit-logged. Coupons already exchanged stay."""
    check_offer(data)
    offer = PointsOffer.objects.select_for_update().get(pk=offer.pk)
    with set_actor(actor):
        return _save_offer(offer, data)


@transaction.atomic
def remove_offer(*, offer: PointsOffer, actor) -> None:
    """Delete a points offer; audit-logged. Coupons already exchanged stay."""
    with set_actor(actor):
        row = PointsOffer.objects.filter(pk=offer.pk).first()
        if row is not None:
            row.delete()
