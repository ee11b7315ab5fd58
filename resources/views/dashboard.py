"""The school's figures (BI) and a lesson-hour ledger per enrolment, with its refunds."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from crm import permissions
from crm.errors import DomainError
from crm.ui import add_domain_error

from .. import bi, selectors
from ..forms import RefundForm
from ..services import refunds


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
        {"enrolment": enrolment, "lines": bi.hour_ledger(enrolment), "form": form},
        status=422 if form is not None and form.errors else 200,
    )
