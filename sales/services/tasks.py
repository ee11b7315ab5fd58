"""Tasks (任务): to-dos that remind like reminders."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import Reminder, Task
from .reminders import create_reminder


@transaction.atomic
def create_task(
    *,
    actor,
    assignee,
    title,
    due_at=None,
    priority=Task.Priority.NORMAL,
    description="",
    customer=None,
    lead=None,
    opportunity=None,
    by_rule="",
):
    if not (title or "").strip():
        raise ValidationError({"title": _("Enter a title.")})
    task = Task.objects.create(
        title=title.strip()[:200],
        description=description,
        assignee=assignee,
        due_at=due_at,
        priority=priority,
        customer=customer,
        lead=lead,
        opportunity=opportunity,
        created_by=actor,
        by_rule=by_rule,
    )
    if due_at is not None:
        create_reminder(owner=assignee, title=task.title, due_at=due_at, customer=customer, lead=lead, task=task)
    return task


@transaction.atomic
def complete_task(*, task, actor=None):
    Task.objects.filter(pk=task.pk, status=Task.Status.OPEN).update(
        status=Task.Status.DONE, completed_at=timezone.now()
    )

    Reminder.objects.filter(task=task, status=Reminder.Status.OPEN).update(
        status=Reminder.Status.DONE, completed_at=timezone.now()
    )
