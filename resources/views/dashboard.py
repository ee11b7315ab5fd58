"""The school's figures (BI) and a lesson-hour ledger per enrolment."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from crm import permissions

from .. import bi, selectors


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
    permissions.require(request.user, "resources.view")
    enrolment = get_object_or_404(
        selectors.enrolments_for(request.user).select_related(
            "customer", "school_class__course", "school_class__teacher", "entitlement"
        ),
        pk=pk,
    )
    return render(request, "resources/hours.html", {"enrolment": enrolment, "lines": bi.hour_ledger(enrolment)})
