"""Reads of coupon records, always through the permission layer (crm/permissions.py)."""

from django.db.models import QuerySet

from crm import permissions
from crm.models import Department, User

from .models import Batch, BudgetAccount, Campaign, SubsidyPlan, SubsidyPlanVersion


def accounts_for(user: User) -> QuerySet[BudgetAccount]:
    return permissions.visible(user, BudgetAccount.objects.select_related("period", "department", "owner"))


def campaigns_for(user: User) -> QuerySet[Campaign]:
    return permissions.visible(user, Campaign.objects.select_related("budget_account", "owner", "department"))


def batches_for(user: User) -> QuerySet[Batch]:
    return permissions.visible(user, Batch.objects.select_related("campaign", "campaign__budget_account"))


def plans_for(user: User) -> QuerySet[SubsidyPlan]:
    return permissions.visible(user, SubsidyPlan.objects.select_related("created_by", "department"))


def versions_for(user: User) -> QuerySet[SubsidyPlanVersion]:
    return permissions.visible(user, SubsidyPlanVersion.objects.select_related("plan", "created_by"))


def campaign_departments_for(user: User) -> QuerySet[Department]:
    """The departments of the campaigns the user sees (the filter's choices)."""
    campaigns = permissions.visible(user, Campaign.objects.all()).values("department_id")
    return Department.objects.filter(pk__in=campaigns).order_by("path")
