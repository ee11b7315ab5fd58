"""The school's figures (BI) and a lesson-hour ledger per enrolment, with its refunds."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from crm import permissions, privacy
from crm.errors import DomainError
from crm.ui import add_domain_error, export_rows

from .. import bi, selectors
from ..forms import RefundForm
from ..services import refunds
from ..services.forecast import WEEKS, forecast_for


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """Renewal rate by course, teacher and rep (the enrolments of the user's scope), class fill
    rate and teacher load this week."""
    permissions.require(request.user, "resources.view")
    by = request.GET.get("by", "course")
    if by not in bi.GROUPS:
        by = "course"
    classes = selectors.fill_rates()
    return render(
        request,
        "resources/dashboard.html",
        {
            "by": by,
            "groups": bi.GROUPS,
            "rates": bi.renewal_rates(by=by, enrolments=selectors.enrolments_for(request.user))[:120],
            "classes": classes[:20],
            "fill": round(100 * sum(c.enrolled for c in classes) / sum(c.capacity for c in classes))
            if classes
            else None,
            "load": selectors.teacher_load(selectors.week_start(timezone.localdate())),
        },
    )


@login_required
def hours(request: HttpRequest, pk: int) -> HttpResponse:
    """The parent-readable ledger; a POST (who may enrol) refunds hours through the service."""
    permissions.require(request.user, "resources.view")
    enrolment = get_object_or_404(
        selectors.enrolments_for(request.user).select_related(
            "customer", "school_class__course", "school_class__teacher", "entitlement"
        ),
        pk=pk,
    )
    can_refund = permissions.can(request.user, "resources.enrol") and enrolment.entitlement_id is not None
    form = RefundForm(request.POST or None) if can_refund else None
    if request.method == "POST":
        permissions.require(request.user, "resources.enrol")
        if form is not None and form.is_valid():
            try:
                line = refunds.refund_hours(
                    enrolment=enrolment,
                    hours=form.cleaned_data["hours"],
                    reason=form.cleaned_data["reason"],
                    actor=request.user,
                )
            except (DomainError, ValidationError) as exc:
                add_domain_error(form, exc, "hours", field_map={"quantity": "hours"})
            else:
                messages.success(request, _("%(n)s lesson hours refunded.") % {"n": line.quantity})
                return redirect("resources:hours", pk=enrolment.pk)
    return render(
        request,
        "resources/hours.html",
        {
            "enrolment": enrolment,
            "lines": bi.hour_ledger(enrolment),
            "forecast": forecast_for(enrolment),
            "form": form,
        },
        status=422 if form is not None and form.errors else 200,
    )


def _choice(value: str, allowed) -> int | None:
    return int(value) if value.isdigit() and int(value) in allowed else None


@login_required
def renewals(request: HttpRequest) -> HttpResponse:
    """续费预测: the enrolled students of the user's scope by the date their lesson hours are
    projected to reach the renewal line (``?days=30|60|90``, ``?course=``, ``?export=xlsx``)."""
    permissions.require(request.user, "resources.view")
    courses = list(selectors.courses().order_by("subject", "level", "name", "id"))
    days = _choice(request.GET.get("days", ""), selectors.FORECAST_WINDOWS)
    course = _choice(request.GET.get("course", ""), {c.pk for c in courses})
    export = request.GET.get("export")
    if export in ("xlsx", "csv"):
        permissions.require(request.user, "customers.export")
        # the spreadsheet holds every row; the page the first MAX_ROWS, and says so
        rows, _total = selectors.renewal_forecasts(request.user, within_days=days, course_id=course, limit=None)
        privacy.log_access(
            action=privacy.Action.EXPORT,
            subject=privacy.Subject.CUSTOMER,
            ids=sorted({r.enrolment.customer_id for r in rows}),
            request=request,
            detail=request.GET.urlencode(),
        )
        header = [
            _("Student"),
            _("Parent or guardian"),
            _("Course"),
            capfirst(_("class")),
            _("Lesson hours left"),
            _("Renewal line"),
            _("Hours a week"),
            _("Weeks left"),
            _("Reaches the renewal line on"),
            _("Runs out on"),
            _("Owner"),
        ]
        lines = [
            [
                r.enrolment.customer.name,
                r.parent.name if r.parent else "",
                r.enrolment.school_class.course.name,
                r.enrolment.school_class.name,
                r.balance,
                r.threshold,
                r.weekly,
                r.weeks_left,
                r.threshold_on,
                r.empty_on,
                str(r.enrolment.customer.owner or ""),
            ]
            for r in rows
        ]
        return export_rows([header, *lines], fmt=export, filename="renewal-forecast", sheet=_("Renewal forecast"))
    rows, total = selectors.renewal_forecasts(
        request.user, within_days=days, course_id=course, limit=selectors.MAX_ROWS
    )
    return render(
        request,
        "resources/renewals.html",
        {
            "rows": rows,
            "total": total,
            "courses": courses,
            "days": days,
            "course": course,
            "windows": selectors.FORECAST_WINDOWS,
            "weeks": WEEKS,
            "can_export": permissions.can(request.user, "customers.export"),
        },
    )
