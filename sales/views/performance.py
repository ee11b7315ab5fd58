"""Targets, attainment and the leaderboard; daily and weekly reports."""

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from crm import permissions
from crm.models import Department

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


@login_required
def report_list(request):
    permissions.require(request.user, "sales.view")
    reports = Report.objects.filter(user__in=reps_for(request.user)).select_related("user", "read_by")[:60]
    return render(request, "sales/performance/reports.html", {"reports": reports})


@login_required
@require_POST
def report_note(request, pk):
    report = get_object_or_404(Report, pk=pk, user=request.user)
    report.note = request.POST.get("note", "")[:5000]
    report.save(update_fields=["note"])
    messages.success(request, _("Note saved."))
    return redirect("sales:reports")


@login_required
@require_POST
def report_read(request, pk):
    permissions.require(request.user, "sales.assign")
    report = get_object_or_404(Report.objects.filter(user__in=reps_for(request.user)), pk=pk)
    report.read_by, report.read_at = request.user, timezone.now()
    report.save(update_fields=["read_by", "read_at"])
    return redirect("sales:reports")


urlpatterns = [
    path("leaderboard/", leaderboard, name="leaderboard"),
    path("targets/new/", target_form, name="target_create"),
    path("reports/", report_list, name="reports"),
    path("reports/<int:pk>/note/", report_note, name="report_note"),
    path("reports/<int:pk>/read/", report_read, name="report_read"),
]
