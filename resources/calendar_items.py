"""Class sessions on the calendar (crm.calendar): those a user teaches, and those of classes where
one of the user's customers holds a seat. Sessions move through the timetable, not the calendar."""

from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from crm import calendar

from .models import Enrolment, Session


def _sessions(users, start, end):
    user_ids = [u.pk for u in users]
    seats = Enrolment.objects.filter(
        school_class=OuterRef("school_class"), status=Enrolment.Status.ENROLLED, customer__owner_id__in=user_ids
    )
    rows = (
        Session.objects.filter(starts_at__gte=start, starts_at__lt=end)
        .exclude(status=Session.Status.CANCELLED)
        .filter(Q(teacher__user_id__in=user_ids) | Q(Exists(seats)))
        .select_related("school_class", "room", "teacher")
    )
    return [
        calendar.Item(
            "session",
            s.pk,
            f"{s.school_class} · {s.room}",
            s.starts_at,
            s.ends_at,
            reverse("resources:class", args=[s.school_class_id]),
            s.teacher.user_id,
            str(s.teacher),
        )
        for s in rows
    ]


def register():
    calendar.register("session", label=_("Class sessions"), items=_sessions, icon="bi-easel")
