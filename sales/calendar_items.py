"""Sales' items on the calendar (crm.calendar): open reminders and open tasks, both movable."""

import datetime

from auditlog.models import LogEntry
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from crm import calendar

from .models import Reminder, Task
from .services.reminders import reschedule_reminder


def _reminders(users, start, end):
    rows = Reminder.objects.filter(
        owner__in=users, status=Reminder.Status.OPEN, due_at__gte=start, due_at__lt=end
    ).select_related("owner")
    return [
        calendar.Item(
            "reminder",
            r.pk,
            r.title,
            r.due_at,
            r.due_at + datetime.timedelta(minutes=30),
            reverse("customers:detail", args=[r.customer_id]) if r.customer_id else "",
            r.owner_id,
            str(r.owner),
            movable=True,
        )
        for r in rows
    ]


def _tasks(users, start, end):
    rows = Task.objects.filter(
        assignee__in=users, status=Task.Status.OPEN, due_at__gte=start, due_at__lt=end
    ).select_related("assignee")
    return [
        calendar.Item(
            "task",
            t.pk,
            t.title,
            t.due_at,
            t.due_at + datetime.timedelta(minutes=30),
            reverse("customers:detail", args=[t.customer_id]) if t.customer_id else "",
            t.assignee_id,
            str(t.assignee),
            movable=True,
        )
        for t in rows
    ]


def _audit(obj, actor, before, after):
    LogEntry.objects.log_create(
        obj, force_log=True, action=LogEntry.Action.UPDATE, actor=actor, changes={"due_at": [str(before), str(after)]}
    )


@transaction.atomic
def move_reminder(user, pk, start):
    """Only its owner moves a reminder (the reminder service checks the time is ahead)."""
    reminder = Reminder.objects.select_for_update().filter(pk=pk, status=Reminder.Status.OPEN).first()
    if reminder is None or reminder.owner_id != user.pk:
        raise PermissionDenied("reminder")
    before = reminder.due_at
    reschedule_reminder(reminder=reminder, due_at=start)
    _audit(reminder, user, before, start)


@transaction.atomic
def move_task(user, pk, start):
    """Only its assignee moves a task; its reminder (if any) moves with it."""
    task = Task.objects.select_for_update().filter(pk=pk, status=Task.Status.OPEN).first()
    if task is None or task.assignee_id != user.pk:
        raise PermissionDenied("task")
    before = task.due_at
    Task.objects.filter(pk=task.pk).update(due_at=start)
    _audit(task, user, before, start)


def register():
    calendar.register("reminder", label=_("Reminders"), items=_reminders, reschedule=move_reminder, icon="bi-alarm")
    calendar.register("task", label=_("Tasks"), items=_tasks, reschedule=move_task, icon="bi-check2-square")
