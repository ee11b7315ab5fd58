"""Class sessions on the calendar (crm.calendar): those a user teaches, and those of classes where
one of the user's customers holds a seat. Sessions move through the timetable, not the calendar."""

from django.db.models import Exists, OuterRef, Q
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
        .order_by()
        .values_list(
            "pk",
            "school_class_id",
            "school_class__name",
            "room__name",
            "starts_at",
            "ends_at",
            "teacher__user_id",
            "teacher__name",
        )
    )
    link = calendar.links("resources:class")
    return [
        calendar.Item("session", pk, f"{class_name} · {room}", starts_at, ends_at, link(class_id), user_id, teacher)
        for pk, class_id, class_name, room, starts_at, ends_at, user_id, teacher in rows
    ]


def register():
    calendar.register("session", label=_("Class sessions"), items=_sessions, icon="bi-easel")
