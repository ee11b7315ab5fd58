"""Membership (会员): tiers by rules on 12-month spend or points, and a points ledger.

A member's ``points`` is the sum of the ledger; it never goes below zero: a spend is one
conditional UPDATE (``points = points - n WHERE points >= n``) and a CHECK backs it.

Every award is a *lot* with its own expiry (``expires_on``) and what is left of it
(``remaining``): a spend uses the oldest-expiring lots first, and at a period's end what is left
of the expired lots is taken off as one "expired" line per lot.
"""

from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Tier(models.Model):
    """会员等级 (普通/银卡/金卡/钻石): reached by 12-month spend or by points, whichever first."""

    name = models.CharField(_("name"), max_length=30, unique=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    min_spend = models.DecimalField(_("12-month spend from"), max_digits=12, decimal_places=2, default=0)
    min_points = models.PositiveIntegerField(_("points from"), null=True, blank=True)
    points_per_yuan = models.DecimalField(_("points per yuan"), max_digits=6, decimal_places=2, default=1)
    # the tier's free service (e.g. two free trial lessons a year): granted as an entitlement the
    # first time a member reaches the tier
    benefit_sku = models.ForeignKey(
        "catalog.Sku",
        verbose_name=_("free service"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    benefit_quantity = models.PositiveIntegerField(_("free units"), default=0)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("member tier")
        verbose_name_plural = _("member tiers")

    def __str__(self):
        return self.name


class Member(models.Model):
    """会员: one per customer, with the points held and the tier."""

    scope_owner_field = "customer__owner"
    scope_department_field = "customer__department"

    customer = models.OneToOneField(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.CASCADE, related_name="member"
    )
    tier = models.ForeignKey(
        Tier, verbose_name=_("tier"), null=True, blank=True, on_delete=models.PROTECT, related_name="members"
    )
    points = models.IntegerField(_("points"), default=0)
    joined_at = models.DateTimeField(_("joined"), default=timezone.now)

    class Meta:
        ordering = ["-joined_at", "-id"]
        verbose_name = _("member")
        verbose_name_plural = _("members")
        constraints = [models.CheckConstraint(condition=Q(points__gte=0), name="members_points_not_negative")]
        # the member list's order (most points first): its first page is read off the index
        indexes = [models.Index(fields=["-points", "id"], name="member_points_order")]

    def __str__(self):
        return str(self.customer)

    def get_absolute_url(self):
        return reverse("members:member", args=[self.pk])


class PointsEntry(models.Model):
    """积分流水: one earn (positive) or spend or expiry (negative); ``reference`` makes a retry a
    no-op. An earn is a lot: ``remaining`` of it is still held until ``expires_on``."""

    class Kind(models.TextChoices):
        EARN = "earn", _("Earned")
        SPEND = "spend", _("Spent")
        EXPIRE = "expire", _("Expired")

    member = models.ForeignKey(Member, verbose_name=_("member"), on_delete=models.CASCADE, related_name="entries")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.EARN)
    delta = models.IntegerField(_("points"))
    remaining = models.PositiveIntegerField(_("points left"), default=0)
    expires_on = models.DateField(_("expires on"), null=True, blank=True)
    expiry_noticed_at = models.DateTimeField(null=True, blank=True)
    balance_after = models.IntegerField(_("balance after"))
    reason = models.CharField(_("reason"), max_length=100)
    reference = models.CharField(_("reference"), max_length=100)
    order = models.ForeignKey("customers.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("points entry")
        verbose_name_plural = _("points entries")
        constraints = [
            models.UniqueConstraint(fields=["member", "reference"], name="members_entry_once"),
            models.CheckConstraint(condition=~Q(delta=0), name="members_entry_not_zero"),
            models.CheckConstraint(
                condition=Q(remaining=0) | Q(delta__gte=F("remaining")), name="members_lot_within_award"
            ),
        ]
        indexes = [
            models.Index(fields=["member", "expires_on", "id"], condition=Q(remaining__gt=0), name="members_open_lots"),
            models.Index(fields=["expires_on"], condition=Q(remaining__gt=0), name="members_lots_by_expiry"),
        ]

    def __str__(self):
        return f"{self.member}: {self.delta:+d}"


class TierChange(models.Model):
    """会员等级变更: every change of a member's tier, with why (an order, the nightly run)."""

    member = models.ForeignKey(Member, verbose_name=_("member"), on_delete=models.CASCADE, related_name="tier_changes")
    from_tier = models.ForeignKey(Tier, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    to_tier = models.ForeignKey(Tier, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(_("reason"), max_length=100)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("tier change")
        verbose_name_plural = _("tier changes")


class EarnRule(models.Model):
    """积分规则, for a tier (blank: any): an order earns points per yuan of a line of a category;
    a lesson attended or a check-in earns a fixed number of points (0: none for that tier)."""

    class Source(models.TextChoices):
        ORDER = "order", _("Order")
        ATTENDANCE = "attendance", _("Lesson attended")
        CHECK_IN = "check_in", _("Check-in")

    source = models.CharField(_("earned on"), max_length=20, choices=Source.choices, default=Source.ORDER)
    category = models.CharField(_("category"), max_length=64, blank=True)
    tier = models.ForeignKey(Tier, verbose_name=_("tier"), null=True, blank=True, on_delete=models.CASCADE)
    points_per_yuan = models.DecimalField(_("points per yuan"), max_digits=6, decimal_places=2, default=0)
    points = models.PositiveIntegerField(_("points each time"), default=0)

    class Meta:
        ordering = ["source", "category", "tier__position", "id"]
        verbose_name = _("earning rule")
        verbose_name_plural = _("earning rules")
        constraints = [
            models.UniqueConstraint(
                fields=["source", "category", "tier"], name="members_rule_once_per_source", nulls_distinct=False
            )
        ]


class PointsOffer(models.Model):
    """积分兑换: a coupon of a batch for so many points."""

    batch = models.ForeignKey("coupons.Batch", verbose_name=_("coupon batch"), on_delete=models.PROTECT)
    points = models.PositiveIntegerField(_("points"))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["points", "id"]
        verbose_name = _("points offer")
        verbose_name_plural = _("points offers")
        constraints = [models.CheckConstraint(condition=Q(points__gte=1), name="members_offer_costs_points")]

    def __str__(self):
        return f"{self.batch} · {self.points}"
