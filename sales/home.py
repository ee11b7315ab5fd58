"""The sales panels of the home pages (首页工作台): a rep's workbench (reminders, open tasks, hot
leads, pool warnings) and a manager's or director's (team figures, approvals waiting, stuck
opportunities). Registered into crm.home by SalesConfig.ready(); crm imports no app."""

import datetime

from django.db.models import Count, F, Q, QuerySet, Sum
from django.utils import timezone

from crm import permissions
from crm.approvals import kinds as approval_kinds
from crm.approvals import selectors as approval_selectors
from crm.home import month_start_of
from crm.models import DataScope, Notification, User
from customers.selectors import customers_for

from .models import FollowUp, Grade, Lead, Opportunity, OpportunityStage, Reminder, Target, Task

PANEL_SIZE = 8
STUCK_AFTER_DAYS = 14
POOL_WARNING_DAYS = 7


def end_of_today() -> datetime.datetime:
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    return timezone.make_aware(datetime.datetime.combine(tomorrow, datetime.time.min))


def reminder_panel(user: User, now: datetime.datetime | None = None) -> dict:
    """The user's overdue and today's open reminders: three queries whatever their number."""
    now = now or timezone.now()
    end = end_of_today()
    mine = Reminder.objects.filter(owner=user, status=Reminder.Status.OPEN)
    counts = mine.aggregate(
        overdue=Count("id", filter=Q(due_at__lt=now)), today=Count("id", filter=Q(due_at__gte=now, due_at__lt=end))
    )
    rows = mine.select_related("customer", "lead").order_by("due_at", "id")
    return {
        "reminders_overdue": list(rows.filter(due_at__lt=now)[:PANEL_SIZE]),
        "reminders_today": list(rows.filter(due_at__gte=now, due_at__lt=end)[:PANEL_SIZE]),
        "reminders_overdue_count": counts["overdue"],
        "reminders_today_count": counts["today"],
        "now": now,
    }


def workbench_for_rep(user: User, now: datetime.datetime | None = None) -> dict:
    """A rep's workbench: reminders, open tasks, hot leads, recent pool warnings."""
    now = now or timezone.now()
    context = reminder_panel(user, now)
    tasks = Task.objects.filter(assignee=user, status=Task.Status.OPEN)
    context["tasks_open_count"] = tasks.count()
    context["tasks_open"] = list(
        tasks.select_related("customer", "lead").order_by(F("due_at").asc(nulls_last=True), "id")[:PANEL_SIZE]
    )
    context["hot_leads"] = list(
        Lead.objects.filter(owner=user, grade__in=(Grade.A, Grade.B), status__in=Lead.OPEN_STATUSES).order_by(
            "-created_at", "-id"
        )[:PANEL_SIZE]
    )
    context["pool_warnings"] = list(
        Notification.objects.filter(
            recipient=user, kind="pool_warning", created_at__gte=now - datetime.timedelta(days=POOL_WARNING_DAYS)
        )[:5]
    )
    return context


def count_in_scope(user: User, queryset: QuerySet) -> int:
    """``permissions.visible(user, queryset).count()``, in parts that each read one index: the
    records of the user's departments, plus the user's own outside them (disjoint, so they add
    up). The scope's single "owner = me OR department IN (...)" makes PostgreSQL read the rows."""
    model = queryset.model
    scope = permissions.effective_scope(user)
    ids = []
    if user.is_active and scope in (DataScope.DEPARTMENT, DataScope.DEPARTMENT_TREE):
        ids = sorted(permissions.scope_department_ids(user))
    if not ids:
        return permissions.visible(user, queryset).count()
    in_departments = {f"{model.scope_department_field}__in": ids}
    return (
        queryset.filter(**in_departments).count()
        + queryset.filter(**{model.scope_owner_field: user}).exclude(**in_departments).count()
    )


def _owners_in_scope(user: User) -> list[int] | None:
    """The ids of the users whose records (owned by them) ``user`` sees: themself and the users
    of the departments in scope; None when that is everyone."""
    scope = permissions.effective_scope(user)
    if scope == DataScope.ALL:
        return None
    ids = sorted(permissions.scope_department_ids(user)) if scope != DataScope.SELF else []
    return sorted({user.pk} | set(User.objects.filter(department_id__in=ids).values_list("pk", flat=True)))


def team_figures(user: User, now: datetime.datetime | None = None, *, new_customers: int | None = None) -> dict:
    """This month in the user's scope: amount and deals won against the team target, new
    customers (counted here unless the caller has counted them), follow-ups, and overdue
    reminders of the team."""
    now = now or timezone.now()
    start = month_start_of(now)
    month = timezone.localdate(start)
    won = permissions.visible(user, Opportunity.objects.filter(stage__is_won=True, closed_at__gte=start)).aggregate(
        amount=Sum("amount"), deals=Count("id")
    )
    target = None
    if user.department_id:
        target = (
            Target.objects.filter(
                department_id=user.department_id,
                metric=Target.Metric.AMOUNT_WON,
                period=Target.Period.MONTH,
                start=month,
            )
            .values_list("value", flat=True)
            .first()
        )
    amount = won["amount"] or 0
    return {
        "month": month,
        "amount_won": amount,
        "deals_won": won["deals"],
        "target": target,
        "attainment": round(float(amount) * 100 / float(target), 1) if target else None,
        "new_customers": new_customers
        if new_customers is not None
        else customers_for(user).filter(created_at__gte=start).count(),
        "followups": count_in_scope(user, FollowUp.objects.filter(at__gte=start)),
        "overdue_reminders": _overdue_reminders(user, now),
    }


def _overdue_reminders(user: User, now: datetime.datetime) -> int:
    """The team's open reminders past due. A reminder's scope is its owner's (department), so
    this is the reminders of the users in scope: one read of the (owner, status, due) index."""
    overdue = Reminder.objects.filter(status=Reminder.Status.OPEN, due_at__lt=now)
    if not user.is_active:
        return 0
    owners = _owners_in_scope(user)
    return overdue.count() if owners is None else overdue.filter(owner_id__in=owners).count()


def workbench_for_manager(
    user: User, now: datetime.datetime | None = None, *, new_customers: int | None = None
) -> dict:
    """A manager's or director's workbench: team figures, approvals waiting for the user's role
    in scope, opportunities stuck in a stage for 14 days, and the user's own reminders.
    ``new_customers``: this month's new customers in scope, when the caller counted them already."""
    now = now or timezone.now()
    context = reminder_panel(user, now)
    context["team"] = team_figures(user, now, new_customers=new_customers)
    opportunities = permissions.visible(user, Opportunity.objects.all())
    # 待我审批: every kind of request routed to the user (the approval engine's inbox)
    context["approvals_count"] = approval_selectors.inbox_count(user)
    context["approvals"] = [step.request for step in approval_selectors.inbox_for(user)[:PANEL_SIZE]]
    for approval in context["approvals"]:
        approval.kind_label = approval_kinds.label_of(approval.kind)
    open_stages = list(OpportunityStage.objects.filter(is_won=False, is_lost=False).values_list("pk", flat=True))
    stuck_since = now - datetime.timedelta(days=STUCK_AFTER_DAYS)
    stuck = opportunities.filter(stage_id__in=open_stages, stage_entered_at__lt=stuck_since)
    context["stuck_count"] = count_in_scope(
        user, Opportunity.objects.filter(stage_id__in=open_stages, stage_entered_at__lt=stuck_since)
    )
    context["stuck_opportunities"] = list(
        stuck.select_related("customer", "owner", "stage").order_by("stage_entered_at", "id")[:PANEL_SIZE]
    )
    context["stuck_after_days"] = STUCK_AFTER_DAYS
    return context


def manager_panel(user: User, *, now: datetime.datetime, context: dict) -> dict:
    """The manager's home: the workbench, for those who see sales; this month's new customers
    come from the customers panel, which counted them in its own scan."""
    if not permissions.can(user, "sales.view"):
        return {}
    return workbench_for_manager(user, now, new_customers=context["customer_new_month"])


def rep_panel(user: User, *, now: datetime.datetime, context: dict) -> dict:
    return workbench_for_rep(user, now)
