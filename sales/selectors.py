"""Reads of sales records, always through the permission layer (crm/permissions.py)."""

from django.db.models import Q, QuerySet

from crm import permissions
from crm.models import DataScope, Department, Role, User

from .models import Lead, Opportunity, Report


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


def reports_for(user: User) -> QuerySet[Report]:
    """日报、周报、月报 the user may read: their own, their reps' (``reps_for``), the reports of the
    teams in their scope and of the teams they manage."""
    scope = permissions.effective_scope(user)
    if scope == DataScope.ALL:
        teams = Q(department__isnull=False)
    elif scope == DataScope.SELF:
        teams = Q(department__manager=user)
    else:
        teams = Q(department_id__in=sorted(permissions.scope_department_ids(user))) | Q(department__manager=user)
    return Report.objects.filter(Q(user=user) | Q(user__in=reps_for(user)) | teams).select_related(
        "user", "department", "read_by", "commented_by"
    )


def report_authors(report: Report) -> list[User]:
    """Who annotates a report: the rep, or for a team the team's manager."""
    if report.user_id:
        return [report.user]
    if report.department.manager_id:
        return [User.objects.select_related("department").get(pk=report.department.manager_id)]
    return []


def may_annotate(user: User, report: Report) -> bool:
    return report.user_id == user.pk or (report.department_id is not None and report.department.manager_id == user.pk)


def may_review(user: User, report: Report) -> bool:
    """The manager reads and comments: one who may assign, sees the report and is not its author."""
    return (
        permissions.can(user, "sales.assign")
        and not may_annotate(user, report)
        and reports_for(user).filter(pk=report.pk).exists()
    )


def teams() -> QuerySet[Department]:
    return Department.objects.filter(kind=Department.Kind.TEAM)
