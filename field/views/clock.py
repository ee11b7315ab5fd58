"""打卡 pages: my day (clock in and out), the team's monthly attendance (with XLSX)."""

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm import permissions
from crm.ui import neutralize

from .. import selectors
from ..forms import ClockForm, apply_service_errors
from ..models import ClockIn
from ..services import clock as clock_services


def is_draft(request):
    """An offline draft the phone submits by itself once back online (it wants JSON back)."""
    return request.headers.get("X-Field-Draft") == "1"


def draft_refused(form):
    errors = [str(message) for messages_ in form.errors.values() for message in messages_]
    return JsonResponse({"ok": False, "errors": errors}, status=400)


@login_required
def clock_page(request: HttpRequest) -> HttpResponse:
    """Today: the start and end of my day, with where and the flags."""
    permissions.require(request.user, "field.use")
    context = selectors.my_day(request.user)
    context["hours"] = clock_services.hours_for(request.user.department)
    context["sites"] = clock_services.sites_for(request.user.department)
    context["next_kind"] = (
        ClockIn.Kind.START
        if context["start_clock"] is None
        else ClockIn.Kind.END
        if context["end_clock"] is None
        else None
    )
    context["form"] = ClockForm(initial={"kind": context["next_kind"] or ClockIn.Kind.END}, user=request.user)
    return render(request, "field/clock.html", context)


@login_required
@require_POST
def clock_submit(request: HttpRequest) -> HttpResponse:
    permissions.require(request.user, "field.use")
    form = ClockForm(request.POST, user=request.user)
    draft = is_draft(request)
    if form.is_valid():
        try:
            record = clock_services.clock(
                user=request.user, kind=form.cleaned_data["kind"], **form.position(), **form.evidence(request)
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            if draft:
                return JsonResponse({"ok": True, "url": reverse("field:clock")})
            when = timezone.localtime(record.at).strftime("%H:%M")
            text = (
                _("Clocked in at %(time)s.") if record.kind == ClockIn.Kind.START else _("Clocked out at %(time)s.")
            ) % {"time": when}
            messages.success(request, text)
            return redirect("field:clock")
    if draft:
        return draft_refused(form)
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, error)
    return redirect("field:clock")


def _month(request):
    text = request.GET.get("month", "")
    if text:
        try:
            first = datetime.datetime.strptime(text, "%Y-%m").date()  # noqa: DTZ007 (a month, not a moment)
        except ValueError as exc:
            raise Http404 from exc
    else:
        first = timezone.localdate().replace(day=1)
    return first


@login_required
def attendance(request: HttpRequest) -> HttpResponse:
    """A manager's monthly attendance table of the team (?month=YYYY-MM, ?department=, ?export=xlsx)."""
    permissions.require(request.user, "field.team")
    first = _month(request)
    departments = permissions.departments_for(request.user)
    department = None
    if request.GET.get("department"):
        if not request.GET["department"].isdigit():
            raise Http404
        department = get_object_or_404(departments, pk=request.GET["department"])
    table = selectors.attendance_month(request.user, year=first.year, month=first.month, department=department)
    if request.GET.get("export") == "xlsx":
        return _xlsx(table, first)
    previous = (first - datetime.timedelta(days=1)).replace(day=1)
    following = (first + datetime.timedelta(days=32)).replace(day=1)
    return render(
        request,
        "field/attendance.html",
        {
            **table,
            "month": first,
            "previous": previous,
            "following": following,
            "departments": departments,
            "department": department,
        },
    )


def _cell_text(cell):
    parts = []
    for kind in (ClockIn.Kind.START, ClockIn.Kind.END):
        clock = cell.get(kind)
        if clock is None:
            parts.append("—")
            continue
        flags = "".join(
            flag for flag, on in ((_("L"), clock.is_late), (_("E"), clock.is_early), (_("O"), clock.is_outside)) if on
        )
        parts.append(timezone.localtime(clock.at).strftime("%H:%M") + (f"({flags})" if flags else ""))
    return "" if parts == ["—", "—"] else " / ".join(parts)


def _xlsx(table, first):
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(first.strftime("%Y-%m"))
    sheet.append(
        [
            _("Person"),
            _("Department"),
            _("Days present"),
            _("Late"),
            _("Left early"),
            _("Outside"),
            *[day.strftime("%m-%d") for day in table["days"]],
        ]
    )
    for row in table["rows"]:
        person = row["person"]
        sheet.append(
            [
                neutralize(value)
                for value in (
                    person.display_name,
                    str(person.department or ""),
                    row["present"],
                    row["late"],
                    row["early"],
                    row["outside"],
                    *[_cell_text(cell) for cell in row["cell_list"]],
                )
            ]
        )
    sheet.append([])
    sheet.append([_("L: late · E: left early · O: outside the work sites")])
    response = HttpResponse(content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="attendance-{first:%Y-%m}.xlsx"'
    book.save(response)
    return response
