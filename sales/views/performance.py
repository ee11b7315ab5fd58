"""Targets, attainment and the leaderboard; daily and weekly reports."""
import datetime

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from crm import permissions
from crm.models import Department, DataScope, Role, User
from crm.ui import StyledFormMixin

from ..models import Report, Target
from ..services import performance


def _team_users(user):
    """The reps whose figures the user may see."""
    reps = User.objects.filter(is_active=True, is_service=False, role=Role.REP).select_related("department")
    scope = permissions.effective_scope(user)
    if scope == DataScope.ALL:
        return reps
    if scope == DataScope.SELF:
        return reps.filter(pk=user.pk)
    return reps.filter(department_id__in=sorted(permissions.scope_department_ids(user)))


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
    board = performance.leaderboard(users=_team_users(request.user), period=period, start=start, metric=metric)
    teams = []
    if permissions.can(request.user, "sales.assign"):
        ids = permissions.scope_department_ids(request.user) or set(Department.objects.values_list("pk", flat=True))
        for department in Department.objects.filter(pk__in=ids, kind__in=["department", "team"]):
            teams.append(performance.team_attainment(department=department, period=period, start=start, metric=metric))
    previous = performance.period_start(period, start - datetime.timedelta(days=1))
    following = performance.period_bounds(period, start)[1]
    chart = {
        "tooltip": {}, "grid": {"left": 80, "right": 24, "top": 10, "bottom": 24},
        "xAxis": {"type": "value"},
        "yAxis": {"type": "category", "inverse": True, "data": [str(r["user"]) for r in board["rows"]]},
        "series": [{"type": "bar", "data": [float(r["value"]) for r in board["rows"]], "itemStyle": {"color": "#1f6feb"},
                    "label": {"show": True, "position": "right"}}],
    }
    return render(request, "sales/performance/leaderboard.html", {
        "board": board, "teams": teams, "period": period, "start": start, "metric": metric,
        "metrics": Target.Metric.choices, "periods": Target.Period.choices, "chart": chart,
        "previous": previous, "following": following,
        "can_set_targets": permissions.can(request.user, "sales.assign"),
    })


class TargetForm(StyledFormMixin, forms.Form):
    user = forms.ModelChoiceField(queryset=User.objects.none(), required=False, label=gettext_lazy("Rep"))
    department = forms.ModelChoiceField(queryset=Department.objects.none(), required=False,
                                        label=gettext_lazy("or team"))
    metric = forms.ChoiceField(choices=Target.Metric.choices, label=gettext_lazy("metric"))
    period = forms.ChoiceField(choices=Target.Period.choices, label=gettext_lazy("period"))
    start = forms.DateField(label=gettext_lazy("period start"), widget=forms.DateInput())
    value = forms.DecimalField(label=gettext_lazy("target"), min_value=0, max_digits=14, decimal_places=2)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = _team_users(user)
        ids = permissions.scope_department_ids(user)
        self.fields["department"].queryset = (Department.objects.filter(pk__in=ids) if ids
                                              else Department.objects.all())

    def clean(self):
        data = super().clean()
        if bool(data.get("user")) == bool(data.get("department")):
            raise forms.ValidationError(_("Choose a rep or a team (one of them)."))
        return data


@login_required
@require_http_methods(["GET", "POST"])
def target_form(request):
    permissions.require(request.user, "sales.assign")
    form = TargetForm(request.POST or None, user=request.user,
                      initial={"start": timezone.localdate().replace(day=1), "metric": "amount_won"})
    if request.method == "POST" and form.is_valid():
        performance.set_target(actor=request.user, **form.cleaned_data)
        messages.success(request, _("Target saved."))
        return redirect("sales:leaderboard")
    return render(request, "crm/admin/form.html", {"form": form, "title": _("Set a target"),
                                                   "cancel_url": "/sales/leaderboard/"})


@login_required
def report_list(request):
    permissions.require(request.user, "sales.view")
    reports = Report.objects.filter(user__in=_team_users(request.user)).select_related("user", "read_by")[:60]
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
    report = get_object_or_404(Report.objects.filter(user__in=_team_users(request.user)), pk=pk)
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
