"""Targets, attainment and the leaderboard; daily, weekly and monthly reports of reps and teams."""

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from crm import permissions
from crm.errors import DomainError
from crm.models import Department

from .. import selectors
from ..forms.performance import TargetForm
from ..models import Report, Target
from ..selectors import reps_for
from ..services import performance


def _period(request):
    period = request.GET.get("period", Target.Period.MONTH)
    if period not in Target.Period.values:
        period = Target.Period.MONTH
    try:
        day = datetime.date.fromisoformat(request.GET.get("start", ""))
    except ValueError:
        day = timezone.localdate()
    return period, performance.period_start(period, day)


@login_required
def leaderboard(request):
    permissions.require(request.user, "sales.view")
    period, start = _period(request)
    metric = request.GET.get("metric", Target.Metric.AMOUNT_WON)
    if metric not in Target.Metric.values:
        metric = Target.Metric.AMOUNT_WON
    board = performance.leaderboard(users=reps_for(request.user), period=period, start=start, metric=metric)
    teams = []
    if permissions.can(request.user, "sales.assign"):
        ids = permissions.scope_department_ids(request.user) or set(Department.objects.values_list("pk", flat=True))
        for department in Department.objects.filter(pk__in=ids, kind__in=["department", "team"]):
            teams.append(performance.team_attainment(department=department, period=period, start=start, metric=metric))
    previous = performance.period_start(period, start - datetime.timedelta(days=1))
    following = performance.period_bounds(period, start)[1]
    chart = {
        "tooltip": {},
        "grid": {"left": 80, "right": 24, "top": 10, "bottom": 24},
        "xAxis": {"type": "value"},
        "yAxis": {"type": "category", "inverse": True, "data": [str(r["user"]) for r in board["rows"]]},
        "series": [
            {
                "type": "bar",
                "data": [float(r["value"]) for r in board["rows"]],
                "itemStyle": {"color": "#1f6feb"},
                "label": {"show": True, "position": "right"},
            }
        ],
    }
    return render(
        request,
        "sales/performance/leaderboard.html",
        {
            "board": board,
            "teams": teams,
            "period": period,
            "start": start,
            "metric": metric,
            "metrics": Target.Metric.choices,
            "periods": Target.Period.choices,
            "chart": chart,
            "previous": previous,
            "following": following,
            "can_set_targets": permissions.can(request.user, "sales.assign"),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def target_form(request):
    permissions.require(request.user, "sales.assign")
    form = TargetForm(
        request.POST or None,
        user=request.user,
        initial={"start": timezone.localdate().replace(day=1), "metric": "amount_won"},
    )
    if request.method == "POST" and form.is_valid():
        performance.set_target(actor=request.user, **form.cleaned_data)
        messages.success(request, _("Target saved."))
        return redirect("sales:leaderboard")
    return render(
        request, "crm/admin/form.html", {"form": form, "title": _("Set a target"), "cancel_url": "/sales/leaderboard/"}
    )


def _report(request, pk):
    return get_object_or_404(selectors.reports_for(request.user), pk=pk)


def _back(request, report):
    target = request.POST.get("next", "")
    return redirect(target if target.startswith("/sales/reports/") else report.get_absolute_url())


@login_required
def report_list(request):
    """日报、周报、月报: the user's own, their reps' and their teams' reports, newest first."""
    permissions.require(request.user, "sales.view")
    kind = request.GET.get("kind", "")
    reports = selectors.reports_for(request.user)
    if kind in Report.Kind.values:
        reports = reports.filter(kind=kind)
    if request.GET.get("team") == "1":
        reports = reports.filter(department__isnull=False)
    reports = list(reports.order_by("-start", "department_id", "user__username")[:60])
    for report in reports:
        report.can_note = selectors.may_annotate(request.user, report)
    return render(
        request,
        "sales/performance/reports.html",
        {
            "reports": reports,
            "kind": kind,
            "kinds": Report.Kind.choices,
            "team_only": request.GET.get("team") == "1",
            "can_review": permissions.can(request.user, "sales.assign"),
        },
    )


@login_required
def report_detail(request, pk):
    """One report: its figures, the author's note, and the manager's read mark and comment box."""
    permissions.require(request.user, "sales.view")
    report = _report(request, pk)
    return render(
        request,
        "sales/performance/report_detail.html",
        {
            "report": report,
            "can_note": selectors.may_annotate(request.user, report),
            "can_review": selectors.may_review(request.user, report),
        },
    )


@login_required
@require_POST
def report_note(request, pk):
    report = _report(request, pk)
    try:
        performance.annotate_report(report=report, actor=request.user, note=request.POST.get("note", ""))
    except DomainError as exc:
        raise PermissionDenied(exc.code) from exc
    messages.success(request, _("Note saved."))
    return _back(request, report)


@login_required
@require_POST
def report_read(request, pk):
    permissions.require(request.user, "sales.assign")
    report = _report(request, pk)
    try:
        performance.mark_report_read(report=report, actor=request.user)
    except DomainError as exc:
        raise PermissionDenied(exc.code) from exc
    return _back(request, report)


@login_required
@require_POST
def report_comment(request, pk):
    permissions.require(request.user, "sales.assign")
    report = _report(request, pk)
    try:
        performance.comment_report(report=report, actor=request.user, comment=request.POST.get("comment", ""))
    except DomainError as exc:
        if exc.code == "not_reviewer":
            raise PermissionDenied(exc.code) from exc
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Comment saved; the author is notified."))
    return _back(request, report)


urlpatterns = [
    path("leaderboard/", leaderboard, name="leaderboard"),
    path("targets/new/", target_form, name="target_create"),
    path("reports/", report_list, name="reports"),
    path("reports/<int:pk>/", report_detail, name="report"),
    path("reports/<int:pk>/note/", report_note, name="report_note"),
    path("reports/<int:pk>/comment/", report_comment, name="report_comment"),
    path("reports/<int:pk>/read/", report_read, name="report_read"),
]
