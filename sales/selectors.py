"""Reads of sales records, always through the permission layer (crm/permissions.py)."""

from django.db.models import QuerySet

from crm import permissions
from crm.models import DataScope, Role, User

from .models import Lead, Opportunity


def leads_for(user: User) -> QuerySet[Lead]:
    """The leads a user may open and act on (their data scope)."""
    return permissions.visible(user, Lead.objects.select_related("owner", "department"))


def opportunities_for(user: User) -> QuerySet[Opportunity]:
    """The opportunities a user may open and act on (their data scope)."""
    return permissions.visible(user, Opportunity.objects.select_related("customer", "owner", "stage"))


def reps_for(user: User) -> QuerySet[User]:
    """The reps whose figures the user may see."""
    reps = User.objects.filter(is_active=True, is_service=False, role=Role.REP).select_related("department")
    scope = permissions.effective_scope(user)
    if scope == DataScope.ALL:
        return reps
    if scope == DataScope.SELF:
        return reps.filter(pk=user.pk)
    return reps.filter(department_id__in=sorted(permissions.scope_department_ids(user)))
