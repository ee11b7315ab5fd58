"""我的 (the phone's own page) and 今日 (today's reminders, tasks, clock-ins and visits)."""

from django.contrib.auth.decorators import login_required
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from crm import permissions
from sales.models import Reminder, Task
from sales.views.work import reminder_panel

from .. import selectors

TODAY_TASKS = 20


@login_required
def me(request: HttpRequest) -> HttpResponse:
    """Who I am, and the pages a phone needs that the tab bar has no room for."""
    user = request.user
    return render(
        request,
        "field/me.html",
        {
            "can_field": permissions.can(user, "field.use"),
            "can_team": permissions.can(user, "field.team"),
            "can_configure": permissions.can(user, "field.configure"),
            "can_sales": permissions.can(user, "sales.view"),
            **(selectors.my_day(user) if permissions.can(user, "field.use") else {}),
        },
    )


@login_required
def today(request: HttpRequest) -> HttpResponse:
    """Today by thumb: overdue and today's reminders (done, snooze, move), open tasks due by tonight,
    the day's clock-ins and visits."""
    permissions.require(request.user, "sales.view")
    user = request.user
    context = reminder_panel(user)
    _start, end = selectors.day_bounds(timezone.localdate())
    tasks = (
        Task.objects.filter(assignee=user, status=Task.Status.OPEN, due_at__lt=end)
        .select_related("customer", "lead")
        .order_by(F("due_at").asc(nulls_last=True), "id")
    )
    context.update(
        {
            "tasks_today": list(tasks[:TODAY_TASKS]),
            "later_count": Reminder.objects.filter(owner=user, status=Reminder.Status.OPEN, due_at__gte=end).count(),
            "can_field": permissions.can(user, "field.use"),
            **selectors.my_day(user),
        }
    )
    return render(request, "field/today.html", context)
