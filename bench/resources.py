"""Benchmark scenarios of the school: a class page (roster and its sessions), the week's timetable
of a busy teacher and of everyone, and the renewal dashboard, on the large set (1,000 classes,
50,000 sessions)."""

from bench.scenarios import Scenario, register


def _busy_class(ctx):
    from resources.models import SchoolClass

    return ctx.cached("school_class", lambda: SchoolClass.objects.order_by("-id").first())


def _class_url(ctx):
    return f"/resources/classes/{_busy_class(ctx).pk}/"


def _teacher_week_url(ctx):
    return f"/resources/calendar/?teacher={_busy_class(ctx).teacher_id}"


register(
    Scenario("resources.class", "admin", _class_url),
    Scenario("resources.timetable", "admin", "/resources/calendar/"),
    Scenario("resources.timetable.teacher", "rep1", _teacher_week_url),
    Scenario("resources.dashboard", "director", "/resources/dashboard/"),
)
