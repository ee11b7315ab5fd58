"""Scheduling (排课): sessions generated from a class's rule, and no double booking.

**Never double-booked.** A teacher or a room has at most one session (not cancelled) at any
moment. On PostgreSQL two exclusion constraints over ``tstzrange(starts_at, ends_at)`` (btree_gist)
refuse an overlapping row whatever the race; the service checks the same rule first on every
database, so SQLite keeps it too and the user reads which session is in the way.
"""

import datetime

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.errors import DomainError

from ..models import Holiday, Room, SchoolClass, Session, Teacher

#: a rule never generates more sessions than this (a year of daily lessons)
MAX_SESSIONS = 366
#: and never looks further ahead than this for free days
MAX_DAYS = 3 * 366


def conflicts(*, teacher: Teacher, room: Room, starts_at, ends_at, exclude_pk=None) -> list[Session]:
    """The sessions (not cancelled) that overlap [starts_at, ends_at) with the teacher or the room."""
    found = (
        Session.objects.filter(starts_at__lt=ends_at, ends_at__gt=starts_at)
        .filter(Q(teacher=teacher) | Q(room=room))
        .exclude(status=Session.Status.CANCELLED)
        .select_related("school_class", "teacher", "room")
    )
    if exclude_pk:
        found = found.exclude(pk=exclude_pk)
    return list(found[:5])


def _explain(session: Session, *, teacher: Teacher, room: Room) -> str:
    start = timezone.localtime(session.starts_at)
    end = timezone.localtime(session.ends_at)
    values = {
        "class": session.school_class.name,
        "day": f"{start:%Y-%m-%d}",
        "start": f"{start:%H:%M}",
        "end": f"{end:%H:%M}",
    }
    if session.teacher_id == teacher.pk:
        values["who"] = teacher.name
        return _("%(who)s already teaches %(class)s on %(day)s %(start)s–%(end)s.") % values
    values["who"] = room.name
    return _("%(who)s is taken by %(class)s on %(day)s %(start)s–%(end)s.") % values


#: free slots are looked for in steps of this many minutes, this many days ahead
SLOT_STEP = 30
SLOT_DAYS = 14


def next_free_slots(*, teacher: Teacher, room: Room, starts_at, ends_at, count: int = 3, exclude_pk=None) -> list:
    """The first ``count`` (start, end) of the same length from ``starts_at`` on, inside the
    teacher's availability, when neither the teacher nor the room is booked: one query for the
    teacher's and the room's sessions of the next ``SLOT_DAYS`` days (the range index), then the
    gaps between them."""
    length = ends_at - starts_at
    horizon = starts_at + datetime.timedelta(days=SLOT_DAYS)
    busy = (
        Session.objects.filter(starts_at__lt=horizon, ends_at__gt=starts_at)
        .filter(Q(teacher=teacher) | Q(room=room))
        .exclude(status=Session.Status.CANCELLED)
    )
    if exclude_pk:
        busy = busy.exclude(pk=exclude_pk)
    taken = sorted(busy.values_list("starts_at", "ends_at")[:2000])
    step = datetime.timedelta(minutes=SLOT_STEP)
    found = []
    candidate = starts_at + step
    while candidate < horizon and len(found) < count:
        end = candidate + length
        local_start, local_end = timezone.localtime(candidate), timezone.localtime(end)
        if (
            local_start.date() == local_end.date()
            and 7 <= local_start.hour
            and (local_end.hour, local_end.minute) <= (21, 0)
            and teacher.is_available(candidate, end)
            and not any(a < end and b > candidate for a, b in taken)
        ):
            found.append((candidate, end))
            candidate = end
            continue
        candidate += step
    return found


def format_slots(slots: list) -> str:
    parts = []
    for start, end in slots:
        start, end = timezone.localtime(start), timezone.localtime(end)
        parts.append(f"{start:%m-%d} {start:%H:%M}–{end:%H:%M}")
    return "、".join(parts)


def check_free(*, teacher: Teacher, room: Room, starts_at, ends_at, exclude_pk=None) -> None:
    """Raise ``DomainError("double_booked")`` naming the session in the way and offering the
    next free slots (``exc.slots``)."""
    if ends_at <= starts_at:
        raise DomainError(
            "invalid_time",
            _("The end must be after the start."),
            fields={"ends_at": _("The end must be after the start.")},
        )
    found = conflicts(teacher=teacher, room=room, starts_at=starts_at, ends_at=ends_at, exclude_pk=exclude_pk)
    if found:
        message = _explain(found[0], teacher=teacher, room=room)
        slots = next_free_slots(teacher=teacher, room=room, starts_at=starts_at, ends_at=ends_at, exclude_pk=exclude_pk)
        if slots:
            message = f"{message} " + _("Free: %(slots)s.") % {"slots": format_slots(slots)}
        field = "teacher" if found[0].teacher_id == teacher.pk else "room"
        error = DomainError("double_booked", message, fields={field: message})
        error.slots = slots
        raise error


def _day_blocked(day: datetime.date, holidays: set, leaves: list) -> bool:
    return day in holidays or any(a <= day <= b for a, b in leaves)


def planned_times(school_class: SchoolClass, count: int, *, after: datetime.date | None = None) -> list:
    """The next ``count`` (starts_at, ends_at) of the class's rule from its first day (or the day
    after ``after``), skipping holidays and the teacher's leave."""
    weekdays = {int(d) for d in school_class.weekdays}
    if not weekdays or count < 1:
        return []
    day = max(school_class.first_day, after + datetime.timedelta(days=1)) if after else school_class.first_day
    last = day + datetime.timedelta(days=MAX_DAYS)
    holidays = set(Holiday.objects.filter(day__gte=day, day__lte=last).values_list("day", flat=True))
    leaves = list(
        school_class.teacher.leaves.filter(ends_on__gte=day, starts_on__lte=last).values_list("starts_on", "ends_on")
    )
    times = []
    while len(times) < count and day <= last:
        if day.weekday() in weekdays and not _day_blocked(day, holidays, leaves):
            start = timezone.make_aware(datetime.datetime.combine(day, school_class.start_time))
            times.append((start, start + datetime.timedelta(minutes=school_class.minutes)))
        day += datetime.timedelta(days=1)
    return times


@transaction.atomic
def generate_sessions(*, school_class: SchoolClass, count: int | None = None) -> list[Session]:
    """Create the class's sessions by its rule (``count``: the course's lesson count less the
    sessions it already has). Refuses all of them (``double_booked``) if one would clash."""
    existing = school_class.sessions.exclude(status=Session.Status.CANCELLED)
    have = existing.count()
    count = min(MAX_SESSIONS, school_class.course.lesson_count - have if count is None else count)
    last = existing.order_by("-starts_at").first()
    after = timezone.localtime(last.starts_at).date() if last else None
    number = (school_class.sessions.order_by("-number").values_list("number", flat=True).first() or 0) + 1
    created = []
    for starts_at, ends_at in planned_times(school_class, count, after=after):
        created.append(
            _create(
                school_class=school_class,
                number=number,
                teacher=school_class.teacher,
                room=school_class.room,
                starts_at=starts_at,
                ends_at=ends_at,
            )
        )
        number += 1
    return created


def _create(*, school_class, number, teacher, room, starts_at, ends_at) -> Session:
    check_free(teacher=teacher, room=room, starts_at=starts_at, ends_at=ends_at)
    try:
        with transaction.atomic():
            return Session.objects.create(
                school_class=school_class,
                number=number,
                teacher=teacher,
                room=room,
                starts_at=starts_at,
                ends_at=ends_at,
            )
    except IntegrityError as exc:
        # a concurrent booking won the race: the exclusion constraint refused ours
        if "no_overlap" not in str(exc):
            raise
        raise DomainError("double_booked", _("The teacher or the room was booked at the same time.")) from exc


@transaction.atomic
def add_session(*, school_class: SchoolClass, starts_at, ends_at, teacher=None, room=None) -> Session:
    """One more session (a make-up lesson or a changed day), by the same rule."""
    number = (school_class.sessions.order_by("-number").values_list("number", flat=True).first() or 0) + 1
    return _create(
        school_class=school_class,
        number=number,
        teacher=teacher or school_class.teacher,
        room=room or school_class.room,
        starts_at=starts_at,
        ends_at=ends_at,
    )


@transaction.atomic
def cancel_session(*, session: Session) -> Session:
    session.status = Session.Status.CANCELLED
    session.save(update_fields=["status"])
    return session
