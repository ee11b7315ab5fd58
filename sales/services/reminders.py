"""跟进提醒: reminders and their notices, sent exactly once each.

Each open reminder notifies its owner at every offset before it is due (the owner's own list, or
the default 1 day and 1 hour), once more when it is due, and — if still open after a delay — its
owner's manager (escalation). The proof of a sent notice is a ``ReminderNotice`` row, unique per
(reminder, offset, due time), written in the same transaction as the notification. The dispatcher
locks the reminders it works on (SKIP LOCKED), so a second beat process, a duplicate tick or a
retried task finds the notices already written or the rows busy; a killed worker's transaction
rolls back and the next tick sends what it had not committed. A notice whose time has passed is
still sent (late, but sent), unless its time had already passed when the reminder was created or
last rescheduled (``scheduled_at``): an overdue reminder never announces "in 1 day".
"""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import Department, User
from crm.notifications import notify_many

from ..models import Reminder, ReminderNotice, SalesSettings, Task

DUE = 0
MAX_OFFSET_MINUTES = 7 * 24 * 60


def parse_offsets(text):
    """ "1440,60" → [1440, 60]; refuses negatives and more than a week."""
    offsets = []
    for part in (text or "").replace("，", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            value = int(part)
        except ValueError as exc:
            raise ValidationError({"offsets": _("Use minutes, separated by commas, e.g. 1440,60.")}) from exc
        if not 0 < value <= MAX_OFFSET_MINUTES:
            raise ValidationError({"offsets": _("Each offset is between 1 minute and 7 days.")})
        offsets.append(value)
    return sorted(set(offsets), reverse=True)


def _next_notice_at(reminder, settings=None, after=None):
    settings = settings or SalesSettings.current()
    times = [
        at
        for _o, at in _schedule(reminder, parse_offsets(settings.reminder_offsets), settings.escalate_after_minutes)
        if after is None or at > after
    ]
    return min(times) if times else None


@transaction.atomic
def create_reminder(*, owner, title, due_at, customer=None, lead=None, followup=None, task=None, offsets=""):
    parse_offsets(offsets)
    now = timezone.now()
    reminder = Reminder(
        owner=owner,
        title=title[:200],
        due_at=due_at,
        customer=customer,
        lead=lead,
        followup=followup,
        task=task,
        offsets=offsets,
        created_at=now,
        scheduled_at=now,
    )
    reminder.next_notice_at = _next_notice_at(reminder)
    reminder.save()
    return reminder


@transaction.atomic
def complete_reminder(*, reminder, actor=None):
    Reminder.objects.filter(pk=reminder.pk, status=Reminder.Status.OPEN).update(
        status=Reminder.Status.DONE, completed_at=timezone.now()
    )
    if reminder.task_id:
        Task.objects.filter(pk=reminder.task_id, status=Task.Status.OPEN).update(
            status=Task.Status.DONE, completed_at=timezone.now()
        )


@transaction.atomic
def reschedule_reminder(*, reminder, due_at):
    """Snooze or move a reminder; its notices start over for the new time."""
    now = timezone.now()
    if due_at <= now:
        raise ValidationError({"due_at": _("Choose a time in the future.")})
    reminder.due_at = due_at
    reminder.scheduled_at = now
    Reminder.objects.filter(pk=reminder.pk).update(
        due_at=due_at,
        status=Reminder.Status.OPEN,
        completed_at=None,
        scheduled_at=now,
        next_notice_at=_next_notice_at(reminder, after=now),
    )


def manager_of(user):
    """The manager of the user's department, or of the nearest department above that has one."""
    if not user.department_id:
        return None
    ids = [int(part) for part in user.department.path.strip("/").split("/") if part]
    managers = dict(Department.objects.filter(pk__in=ids, manager__isnull=False).values_list("pk", "manager_id"))
    for department_id in reversed(ids):
        manager_id = managers.get(department_id)
        if manager_id and manager_id != user.pk:
            return User.objects.select_related("department").get(pk=manager_id)
    return None


def _schedule(reminder, default_offsets, escalate_after):
    """(offset, fire time) pairs of a reminder: before-due offsets, due, escalation."""
    offsets = parse_offsets(reminder.offsets) if reminder.offsets else default_offsets
    pairs = [(o, reminder.due_at - datetime.timedelta(minutes=o)) for o in offsets]
    pairs.append((DUE, reminder.due_at))
    pairs.append((-escalate_after, reminder.due_at + datetime.timedelta(minutes=escalate_after)))
    start = reminder.scheduled_at or reminder.created_at
    # an offset whose time had come by then (a 1-hour notice of a reminder snoozed by one hour) is skipped
    return [(o, at) for o, at in pairs if at > start]


def _text(reminder, offset, now):
    when = timezone.localtime(reminder.due_at).strftime("%m-%d %H:%M")
    if offset > 0:
        hours = offset / 60
        ahead = (
            _("in %(n)d days") % {"n": hours // 24}
            if hours >= 24
            else _("in %(n)d hours") % {"n": max(1, hours)}
            if hours >= 1
            else _("in %(n)d minutes") % {"n": offset}
        )
        return _("Reminder %(ahead)s: %(title)s (%(when)s)") % {"ahead": ahead, "title": reminder.title, "when": when}
    if offset == DUE:
        return _("Due now: %(title)s (%(when)s)") % {"title": reminder.title, "when": when}
    return _("Overdue, not done by %(owner)s: %(title)s (due %(when)s)") % {
        "owner": reminder.owner,
        "title": reminder.title,
        "when": when,
    }


def _url(reminder):
    if reminder.customer_id:
        return f"/customers/{reminder.customer_id}/"
    if reminder.lead_id:
        return f"/sales/leads/{reminder.lead_id}/"
    return "/sales/reminders/"


def dispatch_due(*, now=None, batch_size=500, limit=None):
    """Send every notice that is due and not yet sent. Returns how many were sent."""
    now = now or timezone.now()
    settings = SalesSettings.current()
    default_offsets = parse_offsets(settings.reminder_offsets)
    sent = 0
    last_id = 0
    while limit is None or sent < limit:
        with transaction.atomic():
            batch = list(
                Reminder.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(status=Reminder.Status.OPEN, next_notice_at__lte=now, pk__gt=last_id)
                .select_related("owner", "owner__department")
                .order_by("pk")[:batch_size]
            )
            if not batch:
                break
            last_id = batch[-1].pk
            done = set(ReminderNotice.objects.filter(reminder__in=batch).values_list("reminder_id", "offset", "due_at"))
            notices, items = [], []
            for reminder in batch:
                schedule = _schedule(reminder, default_offsets, settings.escalate_after_minutes)
                upcoming = [at for _o, at in schedule if at > now]
                reminder.next_notice_at = min(upcoming) if upcoming else None
                for offset, fire_at in schedule:
                    if fire_at > now or (reminder.pk, offset, reminder.due_at) in done:
                        continue
                    recipient = reminder.owner
                    if offset < 0:
                        recipient = manager_of(reminder.owner)
                    notices.append(
                        ReminderNotice(reminder=reminder, offset=offset, due_at=reminder.due_at, sent_at=now)
                    )
                    if recipient is not None:
                        items.append(
                            {
                                "recipient": recipient,
                                "title": _text(reminder, offset, now),
                                "url": _url(reminder),
                                "kind": "reminder",
                            }
                        )
            ReminderNotice.objects.bulk_create(notices, batch_size=1000)
            Reminder.objects.bulk_update(batch, ["next_notice_at"], batch_size=1000)
            notify_many(items)
            sent += len(items)
    return sent


def open_reminders_q(user):
    return Q(owner=user, status=Reminder.Status.OPEN)
