"""Reads of courses and classes.

The timetable (courses, classes, sessions, teachers, rooms) is the school's and everyone who may
open it sees all of it — a rep books trials into any class. The students are customers: who is
enrolled, waiting or present is narrowed by the permission layer (the customer's owner and
department), so a rep sees his own customers on a roster and counts for the rest.
"""

import datetime

from django.db.models import Count, F, Q, QuerySet, Sum
from django.utils import timezone

from crm import permissions
from customers.models import CustomerRelation, RelationKind
from customers.selectors import customers_for

from .models import Attendance, Course, Enrolment, Room, SchoolClass, Session, Teacher, TrialLesson
from .services.forecast import Forecast, forecasts

#: at most this many rows on a list page
MAX_ROWS = 300


def classes_for(user) -> QuerySet:
    return SchoolClass.objects.select_related("course", "teacher", "room")


def enrolments_for(user) -> QuerySet:
    return permissions.visible(user, Enrolment.objects.all())


def trials_for(user) -> QuerySet:
    return permissions.visible(user, TrialLesson.objects.all())


def roster(user, school_class: SchoolClass) -> dict:
    """The class's students the user may see: enrolled (with hours left) and waiting, in order."""
    rows = list(
        enrolments_for(user)
        .filter(school_class=school_class)
        .exclude(status=Enrolment.Status.LEFT)
        .select_related("customer", "entitlement")
        .order_by("created_at", "id")[:MAX_ROWS]
    )
    return {
        "enrolled": [e for e in rows if e.status == Enrolment.Status.ENROLLED],
        "waiting": [e for e in rows if e.status == Enrolment.Status.WAITING],
        "waiting_total": school_class.enrolments.filter(status=Enrolment.Status.WAITING).count(),
    }


def week_start(day: datetime.date) -> datetime.date:
    return day - datetime.timedelta(days=day.weekday())


def week_sessions(*, start: datetime.date, teacher=None, room=None, school_class=None) -> list[Session]:
    """The (not cancelled) sessions of the week from ``start`` (a Monday), optionally of one
    teacher, room or class — one query."""
    begin = timezone.make_aware(datetime.datetime.combine(start, datetime.time.min))
    sessions = (
        Session.objects.filter(starts_at__gte=begin, starts_at__lt=begin + datetime.timedelta(days=7))
        .exclude(status=Session.Status.CANCELLED)
        .select_related("school_class", "teacher", "room")
    )
    if teacher is not None:
        sessions = sessions.filter(teacher=teacher)
    if room is not None:
        sessions = sessions.filter(room=room)
    if school_class is not None:
        sessions = sessions.filter(school_class=school_class)
    return list(sessions.order_by("starts_at", "id")[:MAX_ROWS])


def week_grid(sessions: list[Session], start: datetime.date) -> list[dict]:
    """Seven columns (Monday first), each the day's sessions by time."""
    days = [{"day": start + datetime.timedelta(days=i), "sessions": []} for i in range(7)]
    for session in sessions:
        index = (timezone.localtime(session.starts_at).date() - start).days
        if 0 <= index < 7:
            days[index]["sessions"].append(session)
    return days


def fill_rates() -> list[SchoolClass]:
    """Classes by fill rate (enrolled ÷ capacity), fullest first."""
    classes = list(
        SchoolClass.objects.select_related("course", "teacher")
        .annotate(waiting=Count("enrolments", filter=Q(enrolments__status=Enrolment.Status.WAITING)))
        .order_by("id")[:MAX_ROWS]
    )
    return sorted(classes, key=lambda c: (-c.enrolled / c.capacity, c.pk))


def teacher_load(start: datetime.date) -> list[dict]:
    """Each active teacher's booked minutes in the week from ``start`` against the minutes of
    their weekly availability (load = booked ÷ available)."""
    begin = timezone.make_aware(datetime.datetime.combine(start, datetime.time.min))
    end = begin + datetime.timedelta(days=7)
    teachers = list(Teacher.objects.filter(is_active=True).order_by("name", "id")[:MAX_ROWS])
    booked = {}
    for teacher_id, starts_at, ends_at in (
        Session.objects.filter(starts_at__gte=begin, starts_at__lt=end, teacher__in=teachers)
        .exclude(status=Session.Status.CANCELLED)
        .values_list("teacher_id", "starts_at", "ends_at")
    ):
        booked[teacher_id] = booked.get(teacher_id, 0) + int((ends_at - starts_at).total_seconds() // 60)
    rows = []
    for teacher in teachers:
        available = teacher.available_minutes_per_week()
        minutes = booked.get(teacher.pk, 0)
        rows.append(
            {
                "teacher": teacher,
                "booked_hours": round(minutes / 60, 1),
                "available_hours": round(available / 60, 1),
                "load": round(100 * minutes / available) if available else None,
            }
        )
    return rows


def hours_used(enrolment: Enrolment) -> int:
    return Attendance.objects.filter(enrolment=enrolment, status__in=["present", "absent"]).count()


def courses() -> QuerySet:
    return Course.objects.select_related("sku").annotate(class_count=Count("classes"))


def rooms() -> QuerySet:
    return Room.objects.all()


def upcoming_with_seats(*, days: int = 30) -> list[Session]:
    """Scheduled sessions of the next ``days`` days with a free seat for a trial."""
    now = timezone.now()
    live = Count("trials", filter=Q(trials__status__in=[TrialLesson.Status.BOOKED, TrialLesson.Status.ATTENDED]))
    return list(
        Session.objects.filter(
            status=Session.Status.SCHEDULED, starts_at__gt=now, starts_at__lt=now + datetime.timedelta(days=days)
        )
        .select_related("school_class__course", "teacher", "room")
        .annotate(live_trials=live)
        .filter(school_class__capacity__gt=F("school_class__enrolled") + F("live_trials"))
        .order_by("starts_at", "id")[:100]
    )


def total_enrolled() -> int:
    return SchoolClass.objects.aggregate(n=Sum("enrolled"))["n"] or 0


#: the "due within" filters of the renewal forecast, in days
FORECAST_WINDOWS = (30, 60, 90)


def renewal_forecasts(
    user, *, within_days: int | None = None, course_id: int | None = None, limit: int | None = None
) -> tuple[list[Forecast], int]:
    """续费预测: the forecast (``services.forecast``) of every enrolled student in the user's scope,
    by projected threshold date (soonest first; no projection last), optionally only those due
    within ``within_days`` days or of one course: the first ``limit`` rows (None: all of them) and
    how many there are. Each row carries ``parent``: a parent or guardian linked to the student that
    the user may see, or None. Three queries."""
    enrolments = enrolments_for(user)
    if course_id is not None:
        enrolments = enrolments.filter(school_class__course_id=course_id)
    today = timezone.localdate()
    rows = forecasts(enrolments, today=today)
    if within_days is not None:
        last = today + datetime.timedelta(days=within_days)
        rows = [r for r in rows if r.threshold_on is not None and r.threshold_on <= last]
    rows.sort(
        key=lambda r: (
            r.threshold_on is None,
            r.threshold_on or datetime.date.max,
            r.enrolment.customer.name,
            r.enrolment.pk,
        )
    )
    total = len(rows)
    if limit is not None:
        rows = rows[:limit]
    parents = {}
    if rows:
        links = (
            CustomerRelation.objects.filter(
                kind__in=[RelationKind.PARENT, RelationKind.GUARDIAN],
                to_customer_id__in=[r.enrolment.customer_id for r in rows],
                from_customer__in=customers_for(user).values("pk"),
            )
            .select_related("from_customer")
            .order_by("id")
        )
        for link in links:
            parents.setdefault(link.to_customer_id, link.from_customer)
    for row in rows:
        row.parent = parents.get(row.enrolment.customer_id)
    return rows, total
