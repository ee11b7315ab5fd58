"""Sales' items on the calendar (crm.calendar): open reminders and open tasks, both movable, and
the follow-ups due of the customers and leads a person owns."""

import datetime

from auditlog.models import LogEntry
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm import calendar

from .models import FollowUp, Lead, Reminder, Task
from .services.reminders import reschedule_reminder


def _open_reminders(users, start, end):
    return Reminder.objects.filter(
        owner__in=users, status=Reminder.Status.OPEN, due_at__gte=start, due_at__lt=end
    ).order_by()


def _reminder_items(users, rows):
    """Items of ``(pk, title, due_at, customer_id, owner_id)`` rows."""
    owners, link = calendar.names(users), calendar.links("customers:detail")
    half_hour = datetime.timedelta(minutes=30)
    return [
        calendar.Item(
            "reminder",
            pk,
            title,
            due_at,
            due_at + half_hour,
            link(customer_id) if customer_id else "",
            owner_id,
            owners.get(owner_id, ""),
            movable=True,
        )
        for pk, title, due_at, customer_id, owner_id in rows
    ]


def _reminders(users, start, end):
    rows = _open_reminders(users, start, end).values_list("pk", "title", "due_at", "customer_id", "owner_id")
    return _reminder_items(users, rows)


#: the first ``limit`` open reminders of each (owner, day), each through the owner's index range
_FIRST_OF_EACH_DAY = """
SELECT r.id, r.title, r.due_at, r.customer_id, r.owner_id
FROM unnest(%s::bigint[]) AS o(id)
CROSS JOIN unnest(%s::timestamptz[], %s::timestamptz[]) AS d(lo, hi)
CROSS JOIN LATERAL (
    SELECT x.id, x.title, x.due_at, x.customer_id, x.owner_id FROM sales_reminder x
    WHERE x.owner_id = o.id AND x.status = %s AND x.due_at >= d.lo AND x.due_at < d.hi
    ORDER BY x.due_at, x.id LIMIT %s
) AS r
"""


def _reminders_per_day(users, start, end, limit):
    """The first ``limit`` open reminders of each local day (by time) and each day's count: the
    counts in an index-only scan of ``reminder_owner_due``, the items in one short index scan per
    owner and day, so neither reads more rows than the page shows."""
    tz = timezone.get_current_timezone()
    counts = dict(
        _open_reminders(users, start, end)
        .annotate(day=TruncDate("due_at", tzinfo=tz))
        .values("day")
        .annotate(n=Count("*"))
        .values_list("day", "n")
    )
    if not counts:
        return [], {}
    days = sorted(counts)
    bounds = [datetime.datetime.combine(day, datetime.time.min, tz) for day in days]
    ends = [datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time.min, tz) for day in days]
    if connection.vendor != "postgresql":  # no LATERAL join: the same rows, cut per owner and day here
        taken, rows = {}, []
        ordered = _open_reminders(users, start, end).order_by("due_at", "pk")
        for row in ordered.values_list("pk", "title", "due_at", "customer_id", "owner_id"):
            key = (row[4], timezone.localtime(row[2], tz).date())
            if taken.get(key, 0) < limit:
                taken[key] = taken.get(key, 0) + 1
                rows.append(row)
        return _reminder_items(users, rows), counts
    with connection.cursor() as cursor:
        cursor.execute(
            _FIRST_OF_EACH_DAY,
            [
                [user.pk for user in users],
                [max(b, start) for b in bounds],
                [min(e, end) for e in ends],
                Reminder.Status.OPEN,
                limit,
            ],
        )
        rows = cursor.fetchall()
    return _reminder_items(users, rows), counts


def _tasks(users, start, end):
    rows = (
        Task.objects.filter(assignee__in=users, status=Task.Status.OPEN, due_at__gte=start, due_at__lt=end)
        .order_by()
        .values_list("pk", "title", "due_at", "customer_id", "assignee_id")
    )
    owners, link = calendar.names(users), calendar.links("customers:detail")
    half_hour = datetime.timedelta(minutes=30)
    return [
        calendar.Item(
            "task",
            pk,
            title,
            due_at,
            due_at + half_hour,
            link(customer_id) if customer_id else "",
            assignee_id,
            owners.get(assignee_id, ""),
            movable=True,
        )
        for pk, title, due_at, customer_id, assignee_id in rows
    ]


def _followups_due(users, start, end):
    """跟进到期: each customer's and lead's next follow-up time (``FollowUp.next_followup_at`` of
    its latest follow-up — a later touch replaces it) between ``start`` and ``end``, on the
    calendar of the customer's (else the lead's) owner, linked to the record. One that is already
    on that owner's calendar as an open reminder of the follow-up is not shown twice; anonymized
    customers and converted or closed leads have none. One query, reading only the range through
    the index on ``next_followup_at``."""
    users = list(users)
    owners = calendar.names(users)
    customer_link, lead_link = calendar.links("customers:detail"), calendar.links("sales:lead")
    half_hour = datetime.timedelta(minutes=30)
    closed = [Lead.Status.CONVERTED, Lead.Status.INVALID, Lead.Status.DUPLICATE]
    later = FollowUp.objects.filter(
        Q(customer_id=OuterRef("customer_id")) | Q(customer__isnull=True, lead_id=OuterRef("lead_id")),
        at__gt=OuterRef("at"),
    )
    reminded = Reminder.objects.filter(followup=OuterRef("pk"), status=Reminder.Status.OPEN, owner_id=OuterRef("owner"))
    rows = (
        FollowUp.objects.filter(
            Q(customer__isnull=False, customer__owner__in=users, customer__anonymized_at__isnull=True)
            | (Q(customer__isnull=True, lead__owner__in=users) & ~Q(lead__status__in=closed)),
            next_followup_at__gte=start,
            next_followup_at__lt=end,
        )
        .annotate(owner=Coalesce("customer__owner_id", "lead__owner_id"))
        .exclude(Exists(later))
        .exclude(Exists(reminded))
        .order_by()
        .values_list("pk", "customer__name", "lead__name", "next_followup_at", "customer_id", "lead_id", "owner")
    )
    return [
        calendar.Item(
            "followup",
            pk,
            _("Follow-up due: %(name)s") % {"name": customer_name or lead_name},
            due_at,
            due_at + half_hour,
            customer_link(customer_id) if customer_id else lead_link(lead_id),
            owner_id,
            owners.get(owner_id, ""),
        )
        for pk, customer_name, lead_name, due_at, customer_id, lead_id, owner_id in rows
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
    calendar.register(
        "reminder",
        label=_("Reminders"),
        items=_reminders,
        reschedule=move_reminder,
        icon="bi-alarm",
        per_day=_reminders_per_day,
    )
    calendar.register("task", label=_("Tasks"), items=_tasks, reschedule=move_task, icon="bi-check2-square")
    calendar.register("followup", label=_("Follow-ups due"), items=_followups_due, icon="bi-telephone-forward")
