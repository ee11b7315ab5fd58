"""日程 (/calendar/): the user's reminders, tasks and class sessions by day, week or month; the
team's for managers; moving a reminder or task; the private iCalendar feed."""

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm import calendar, permissions
from crm.models import User

from . import ical, services
from .models import CalendarFeed

VIEWS = ("day", "week", "month")

#: the items the page lists of one day (the grid reads the rest through items.json)
PER_DAY = 20


def _range(view, day):
    if view == "day":
        first, days = day, 1
    elif view == "week":
        first, days = day - datetime.timedelta(days=day.weekday()), 7
    else:
        first = day.replace(day=1)
        days = ((first + datetime.timedelta(days=32)).replace(day=1) - first).days
    tz = timezone.get_current_timezone()
    start = datetime.datetime.combine(first, datetime.time.min, tz)
    return first, days, start, start + datetime.timedelta(days=days)


def _team(user):
    """The active users of the manager's department and those below it."""
    if user.is_superuser or user.role == "admin" or not user.department_id:
        return (
            User.objects.filter(is_active=True, pk=user.pk)
            if not user.is_superuser
            else User.objects.filter(is_active=True)
        )
    return User.objects.filter(is_active=True, department__path__startswith=user.department.path)


@login_required
def calendar_page(request: HttpRequest) -> HttpResponse:
    permissions.require(request.user, "calendar.view")
    view = request.GET.get("view", "week")
    view = view if view in VIEWS else "week"
    try:  # a well-formed but impossible date (2024-02-30) raises; it shows today like a malformed one
        day = parse_date(request.GET.get("date", "") or "") or timezone.localdate()
    except ValueError:
        day = timezone.localdate()
    if not datetime.date.min + datetime.timedelta(days=40) <= day <= datetime.date.max - datetime.timedelta(days=40):
        day = timezone.localdate()  # the first or last month there is: no page before or after it
    team = request.GET.get("team") == "1" and permissions.can(request.user, "calendar.team")
    users = list(_team(request.user)) if team else [request.user]
    first, days, start, end = _range(view, day)
    shown, counts = calendar.days_for(users, start, end, PER_DAY)
    by_day = {first + datetime.timedelta(days=i): [] for i in range(days)}
    by_day.update(shown)
    if view == "month":  # the first of the month before and after (31 days on could skip February)
        previous = (first - datetime.timedelta(days=1)).replace(day=1)
        following = first + datetime.timedelta(days=days)
    else:
        step = {"day": 1, "week": 7}[view]
        previous, following = day - datetime.timedelta(days=step), day + datetime.timedelta(days=step)
    return render(
        request,
        "agenda/calendar.html",
        {
            "view": view,
            "day": day,
            "today": timezone.localdate(),
            "days": [
                (d, by_day[d], counts.get(d, 0) - len(by_day[d]))
                for d in sorted(by_day)
                if view != "month" or by_day[d]
            ],
            "count": sum(counts.values()),
            "team": team,
            "can_team": permissions.can(request.user, "calendar.team"),
            "previous": previous,
            "following": following,
            "first": first,
            "last": first + datetime.timedelta(days=days - 1),
            "has_feed": CalendarFeed.objects.filter(user=request.user).exists(),
            "feed_url": request.session.pop("calendar_feed_url", ""),
        },
    )


@login_required
def items_json(request: HttpRequest) -> JsonResponse:
    """The items between ``start`` and ``end`` as FullCalendar reads them."""
    permissions.require(request.user, "calendar.view")
    try:  # an impossible date (2024-02-30) raises where a malformed one gives None
        start = parse_datetime((request.GET.get("start") or "").replace(" ", "+"))
        end = parse_datetime((request.GET.get("end") or "").replace(" ", "+"))
    except ValueError:
        start = end = None
    if start is None or end is None or end <= start or end - start > datetime.timedelta(days=62):
        return JsonResponse({"error": "start and end"}, status=400)
    start, end = (timezone.make_aware(t) if timezone.is_naive(t) else t for t in (start, end))
    team = request.GET.get("team") == "1" and permissions.can(request.user, "calendar.team")
    users = list(_team(request.user)) if team else [request.user]
    items = calendar.items_for(users, start, end)
    return JsonResponse(
        [
            {
                "id": item.key,
                "title": f"{item.title} · {item.owner_name}" if team else item.title,
                "start": timezone.localtime(item.start).isoformat(),
                "end": timezone.localtime(item.end).isoformat() if item.end else None,
                "url": item.url or None,
                "editable": item.movable and item.owner_id == request.user.pk,
                "classNames": [f"cal-{item.source}"],
            }
            for item in items
        ],
        safe=False,
    )


@login_required
@require_POST
def move(request: HttpRequest) -> HttpResponse:
    """Move a reminder or task to another day (kept at its time) or to a given time."""
    permissions.require(request.user, "calendar.view")
    key = request.POST.get("key", "")
    try:  # an impossible date (2024-02-30) raises where a malformed one gives None
        start = parse_datetime(request.POST.get("start", "") or "")
        target = parse_date(request.POST.get("date", "") or "")
        time = parse_datetime(request.POST.get("time", "") or "")
    except ValueError:
        return HttpResponse(status=400)
    if start is None:
        if target is None:
            return HttpResponse(status=400)
        at = timezone.localtime(time).time() if time else datetime.time(9, 0)
        start = datetime.datetime.combine(target, at, timezone.get_current_timezone())
    elif timezone.is_naive(start):
        start = timezone.make_aware(start)
    try:
        services.reschedule(user=request.user, key=key, start=start)
    except LookupError as exc:
        raise Http404 from exc
    except PermissionDenied:
        raise
    except ValidationError as exc:
        if request.headers.get("X-Requested-With") == "fetch":
            return JsonResponse({"error": " ".join(exc.messages)}, status=422)
        messages.error(request, " ".join(exc.messages))
    else:
        if request.headers.get("X-Requested-With") == "fetch":
            return JsonResponse({"start": timezone.localtime(start).isoformat()})
        messages.success(
            request, _("Moved to %(time)s.") % {"time": timezone.localtime(start).strftime("%Y-%m-%d %H:%M")}
        )
    return redirect(request.POST.get("next") or reverse("agenda:calendar"))


@login_required
@require_POST
def feed_issue(request: HttpRequest) -> HttpResponse:
    permissions.require(request.user, "calendar.view")
    raw = services.issue_feed(user=request.user)
    request.session["calendar_feed_url"] = request.build_absolute_uri(reverse("agenda:feed", args=[raw]))
    return redirect("agenda:calendar")


@login_required
@require_POST
def feed_revoke(request: HttpRequest) -> HttpResponse:
    services.revoke_feed(user=request.user)
    messages.success(request, _("The calendar feed was turned off; its address no longer works."))
    return redirect("agenda:calendar")


def feed(request: HttpRequest, token: str) -> HttpResponse:
    """The feed itself: no session, the secret in the address is the key."""
    user = services.feed_user(token)
    if user is None:
        raise Http404
    now = timezone.now()
    items = calendar.items_for([user], now - datetime.timedelta(days=30), now + datetime.timedelta(days=90))
    return HttpResponse(ical.render(items, host=request.get_host()), content_type="text/calendar; charset=utf-8")


app_name = "agenda"
urlpatterns = [
    path("", calendar_page, name="calendar"),
    path("items.json", items_json, name="items"),
    path("move", move, name="move"),
    path("feed/issue", feed_issue, name="feed_issue"),
    path("feed/revoke", feed_revoke, name="feed_revoke"),
    path("feed/<str:token>.ics", feed, name="feed"),
]
