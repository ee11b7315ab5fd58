"""监控: claims, redemptions, subsidy spent and GMV per day and department over a chosen period
(filters in the URL), as charts and a table, inside the viewer's data scope."""

import datetime
from decimal import Decimal

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy

from crm import permissions

from ..forms.monitoring import DEFAULT_DAYS, MonitoringFilter
from ..selectors import campaign_departments_for
from ..services.monitoring import daily_series

METRICS = (
    ("claims", gettext_lazy("Claims")),
    ("redemptions", gettext_lazy("Redemptions")),
    ("subsidy", gettext_lazy("Subsidy spent (¥)")),
    ("gmv", gettext_lazy("GMV (¥)")),
)


@login_required
def monitoring(request):
    permissions.require(request.user, "coupons.view")
    form = MonitoringFilter(request.GET or None)
    form.fields["department"].queryset = campaign_departments_for(request.user)
    if request.GET and not form.is_valid():
        today = timezone.localdate()
        start, end, department = today - datetime.timedelta(days=DEFAULT_DAYS - 1), today, None
    elif request.GET:
        start, end, department = form.cleaned_data["start"], form.cleaned_data["end"], form.cleaned_data["department"]
    else:
        form = MonitoringFilter(
            initial={
                "end": timezone.localdate(),
                "start": timezone.localdate() - datetime.timedelta(days=DEFAULT_DAYS - 1),
            }
        )
        form.fields["department"].queryset = campaign_departments_for(request.user)
        start, end, department = form.initial["start"], form.initial["end"], None
    days, departments, cells = daily_series(request.user, start=start, end=end, department=department)
    labels = [d.isoformat() for d in days]
    charts = []
    for key, title in METRICS:
        series = [
            {
                "name": dept.name,
                "type": "line",
                "smooth": True,
                "showSymbol": len(days) <= 31,
                "data": [float(cells.get((day, dept.pk), {}).get(key, 0)) for day in days],
            }
            for dept in departments
        ]
        charts.append(
            {
                "id": f"chart-{key}",
                "title": title,
                "option": {
                    "tooltip": {"trigger": "axis"},
                    "legend": {"type": "scroll", "bottom": 0},
                    "grid": {"left": 56, "right": 16, "top": 16, "bottom": 56},
                    "xAxis": {"type": "category", "data": labels},
                    "yAxis": {"type": "value"},
                    "series": series,
                },
            }
        )
    rows, totals = [], {key: 0 for key, _title in METRICS}
    for day in days:
        for dept in departments:
            figures = cells.get((day, dept.pk))
            if figures:
                rows.append({"day": day, "department": dept, **figures})
                for key in totals:
                    totals[key] += figures[key]
    totals["subsidy_per_gmv"] = (
        (totals["subsidy"] / totals["gmv"]).quantize(Decimal("0.0001")) if totals["gmv"] else None
    )
    return render(
        request,
        "coupons/monitoring.html",
        {
            "form": form,
            "charts": charts,
            "rows": rows,
            "totals": totals,
            "start": start,
            "end": end,
            "department": department,
            "departments": departments,
        },
    )


urlpatterns = [path("monitoring/", monitoring, name="monitoring")]
