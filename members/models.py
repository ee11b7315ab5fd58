"""Membership (会员): tiers by rules on 12-month spend or points, and a points ledger.

A member's ``points`` is the sum of the ledger; it never goes below zero: a spend is one
conditional UPDATE (``points = points - n WHERE points >= n``) and a CHECK backs it.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Tier(models.Model):
    """会员等级 (普通/银卡/金卡/钻石): reached by 12-month spend or by points, whichever first."""

    name = models.CharField(_("name"), max_length=30, unique=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    min_spend = models.DecimalField(_("12-month spend from"), max_digits=12, decimal_places=2, default=0)
    min_points = models.PositiveIntegerField(_("points from"), null=True, blank=True)
    points_per_yuan = models.DecimalField(_("points per yuan"), max_digits=6, decimal_places=2, default=1)

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

    def __str__(self):
        return str(self.customer)


class PointsEntry(models.Model):
    """积分流水: one earn (positive) or spend (negative); ``reference`` makes a retry a no-op."""

    member = models.ForeignKey(Member, verbose_name=_("member"), on_delete=models.CASCADE, related_name="entries")
    delta = models.IntegerField(_("points"))
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
        ]

    def __str__(self):
        return f"{self.member}: {self.delta:+d}"
