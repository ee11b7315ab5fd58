"""Reads of field work, every one through the permission layer."""

import calendar
import datetime

from django.db.models import QuerySet
from django.utils import timezone

from crm import permissions
from crm.models import DataScope, Department, User

from .models import ClockIn, Visit, WorkHours, WorkSite

#: at most this many people on one attendance table (a department's page, not the company's)
MAX_PEOPLE = 200
#: at most this many visits on the team's day
MAX_VISITS = 300


def clock_ins_for(user) -> QuerySet:
    return permissions.visible(user, ClockIn.objects.all())


def visits_for(user) -> QuerySet:
    return permissions.visible(user, Visit.objects.all())


def day_bounds(day: datetime.date):
    start = timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
    return start, start + datetime.timedelta(days=1)


def my_day(user, day: datetime.date | None = None) -> dict:
    """The user's clock-ins of the day by kind, and the day's visits (open first)."""
    day = day or timezone.localdate()
    start, end = day_bounds(day)
    clocks = {c.kind: c for c in ClockIn.objects.filter(user=user, day=day).select_related("site")}
    visits = list(
        Visit.objects.filter(user=user, started_at__gte=start, started_at__lt=end)
        .select_related("customer")
        .order_by("-started_at", "-id")[:50]
    )
    open_visit = Visit.objects.filter(user=user, ended_at__isnull=True).select_related("customer").first()
    return {
        "day": day,
        "start_clock": clocks.get(ClockIn.Kind.START),
        "end_clock": clocks.get(ClockIn.Kind.END),
        "visits": visits,
        "open_visit": open_visit,
    }


def team_visits(user, day: datetime.date) -> list[Visit]:
    """The visits started on ``day`` that ``user`` may see (a manager: the team's), by time."""
    start, end = day_bounds(day)
    return list(
        visits_for(user)
        .filter(started_at__gte=start, started_at__lt=end)
        .select_related("user", "customer")
        .order_by("started_at", "id")[:MAX_VISITS]
    )


def people_for(user, department: Department | None = None) -> QuerySet:
    """The active people whose attendance ``user`` sees, optionally one department and below."""
    people = User.objects.filter(is_active=True, is_service=False)
    scope = permissions.effective_scope(user)
    if scope == DataScope.SELF or (scope != DataScope.ALL and not permissions.scope_department_ids(user)):
        people = people.filter(pk=user.pk)
    elif scope != DataScope.ALL:
        people = people.filter(department_id__in=sorted(permissions.scope_department_ids(user)))
    if department is not None:
        people = people.filter(department__path__startswith=department.path)
    return people.select_related("department").order_by("department__path", "last_name", "first_name", "id")


def attendance_month(user, *, year: int, month: int, department: Department | None = None) -> dict:
    """The monthly attendance table: one row per person in scope, one cell per day (start and end
    clock-ins with their flags) and the month's totals. Three queries whatever the size."""
    days = [datetime.date(year, month, d) for d in range(1, calendar.monthrange(year, month)[1] + 1)]
    people = list(people_for(user, department)[: MAX_PEOPLE + 1])
    truncated = len(people) > MAX_PEOPLE
    people = people[:MAX_PEOPLE]
    by_person = {
        person.pk: {
            "person": person,
            "cells": {day: {} for day in days},
            "present": 0,
            "late": 0,
            "early": 0,
            "outside": 0,
        }
        for person in people
    }
    rows = clock_ins_for(user).filter(day__gte=days[0], day__lte=days[-1], user_id__in=list(by_person))
    for clock in rows.order_by("day", "kind"):
        row = by_person[clock.user_id]
        row["cells"][clock.day][clock.kind] = clock
        row["late"] += clock.is_late
        row["early"] += clock.is_early
        row["outside"] += clock.is_outside
    for row in by_person.values():
        row["present"] = sum(1 for cell in row["cells"].values() if ClockIn.Kind.START in cell)
        row["cell_list"] = [row["cells"][day] for day in days]
    return {"days": days, "rows": list(by_person.values()), "truncated": truncated}


def sites_for_admin(user) -> QuerySet:
    return permissions.visible(user, WorkSite.objects.select_related("department"))


def hours_for_admin(user) -> QuerySet:
    return WorkHours.objects.filter(department__in=permissions.departments_for(user)).select_related("department")
