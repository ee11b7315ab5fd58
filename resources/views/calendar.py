"""The week grid of sessions (课表) per teacher, room or class — server-rendered, no script."""

import datetime

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from crm import permissions

from .. import selectors
from ..models import Room, SchoolClass, Teacher


def _pick(model, value):
    try:
        pk = int(value)
    except (TypeError, ValueError):
        return None
    if not 0 < pk < 2**31:
        return None
    return model.objects.filter(pk=pk).first()


@login_required
def calendar(request: HttpRequest) -> HttpResponse:
    permissions.require(request.user, "resources.view")
    try:
        day = datetime.date.fromisoformat(request.GET.get("week", ""))
    except ValueError:
        day = timezone.localdate()
    start = selectors.week_start(day)
    teacher = _pick(Teacher, request.GET.get("teacher"))
    room = _pick(Room, request.GET.get("room"))
    school_class = _pick(SchoolClass, request.GET.get("class"))
    sessions = selectors.week_sessions(start=start, teacher=teacher, room=room, school_class=school_class)
    return render(
        request,
        "resources/calendar.html",
        {
            "days": selectors.week_grid(sessions, start),
            "start": start,
            "end": start + datetime.timedelta(days=6),
            "previous": start - datetime.timedelta(days=7),
            "next": start + datetime.timedelta(days=7),
            "teacher": teacher,
            "room": room,
            "school_class": school_class,
            "teachers": list(Teacher.objects.filter(is_active=True)[: selectors.MAX_ROWS]),
            "rooms": list(Room.objects.all()[: selectors.MAX_ROWS]),
            "classes": list(SchoolClass.objects.all()[: selectors.MAX_ROWS]),
        },
    )
