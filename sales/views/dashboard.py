"""The managers' sales dashboards (issue 7): the sales dashboard (funnel, pipeline, forecast, won
and lost, activity against results, stuck opportunities) and the performance dashboard
(attainment against targets, the leaderboard, the trend, last year).

Figures come from ``sales.services.dashboard`` for the viewer's data scope. Every chart carries
the list URL behind each of its bars (``data-drill-urls``, static/js/app.js), with the same
narrowing, so the list's total is the chart's figure. ``?export=xlsx&table=<name>`` exports a table.
"""

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.translation import gettext as _

from crm import permissions
from crm.db_router import reads_from_replica
from crm.labels import labelled
from crm.names import person_name
from crm.ui import export_rows

from ..forms.dashboard import DashboardFilterForm, PerformanceFilterForm
from ..models import Target
from ..services import dashboard as figures

BLUE, GREEN, RED, GREY, PURPLE, ORANGE = "#1f6feb", "#1a7f37", "#cf222e", "#8c959f", "#8250df", "#bf8700"


def _url(base, *params):
    pairs = []
    for group in params:
        pairs += list(group)
    return f"{base}?{urlencode(pairs)}" if pairs else base


def _chart(option):
    """Every chart can be saved as a PNG (the ECharts toolbox)."""
    option.setdefault("toolbox", {"right": 8, "top": 0, "feature": {"saveAsImage": {"title": _("Save as PNG")}}})
    option.setdefault("tooltip", {"trigger": "axis"})
    return option


def _charts(items):
    """[(name, option, urls or None)] → what the template renders: "chart-<name>" holds the option,
    "chart-<name>-urls" the list URL behind each data item."""
    return [
        {"id": f"chart-{name}", "option": option, "urls": urls, "urls_id": f"chart-{name}-urls"}
        for name, option, urls in items
    ]


def _money(value):
    return float(value or 0)


def _name(user):
    return person_name(user)


def _export(request, tables, filename):
    name = request.GET.get("table", "")
    if name not in tables:
        raise Http404
    headers, rows = tables[name]
    fmt = "csv" if request.GET.get("export") == "csv" else "xlsx"
    return export_rows([headers] + rows, fmt=fmt, filename=f"{filename}-{name}")


# --- the sales dashboard ------------------------------------------------------------------------

FUNNEL_LABELS = {
    "leads": lambda: _("New leads"),
    "qualified": lambda: _("Qualified leads"),
    "converted": lambda: _("Converted leads"),
    "opportunities": lambda: _("With an opportunity"),
    "won": lambda: _("With a won deal"),
}


def _sales_context(request):
    user = request.user
    form = DashboardFilterForm(request.GET or None, user=user)
    f = form.filters()
    data = figures.sales_dashboard(user, f)
    opp_list, lead_list = reverse("sales:opportunities"), reverse("sales:leads")
    scope = form.scope_params()
    without_owner = [(k, v) for k, v in scope if k != "owner"]
    period_created = [("created_after", f.since.isoformat()), ("created_before", f.until.isoformat())]
    period_closed = [("closed_after", f.since.isoformat()), ("closed_before", f.until.isoformat())]
    lead_created = [("lead_created_after", f.since.isoformat()), ("lead_created_before", f.until.isoformat())]

    # funnel
    funnel = data["funnel"]
    step_urls = {
        "leads": _url(lead_list, [("status", "all")], period_created, scope),
        "qualified": _url(lead_list, [("status", "qualified_on")], period_created, scope),
        "converted": _url(lead_list, [("status", "converted")], period_created, scope),
        "opportunities": _url(opp_list, [("status", "all")], lead_created, scope),
        "won": _url(opp_list, [("status", "won")], lead_created, scope),
    }
    for step in funnel["steps"]:
        step["label"] = FUNNEL_LABELS[step["key"]]()
        step["url"] = step_urls[step["key"]]
    funnel["opened_url"] = _url(opp_list, [("status", "all")], period_created, scope)
    top = max([s["count"] for s in funnel["steps"]] + [1])
    funnel_option = _chart(
        {
            "tooltip": {"trigger": "item"},
            "series": [
                {
                    "type": "funnel",
                    "left": "10%",
                    "width": "70%",
                    "top": 30,
                    "bottom": 10,
                    "sort": "none",
                    "min": 0,
                    "max": top,
                    "minSize": "4%",
                    "label": {"show": True, "position": "inside", "formatter": labelled("{b}", "{c}")},
                    "data": [{"name": s["label"], "value": s["count"]} for s in funnel["steps"]],
                }
            ],
        }
    )

    # time per stage
    stage_times = data["stage_times"]
    for row in stage_times:
        row["url"] = _url(
            opp_list,
            [
                ("status", "all"),
                ("left_stage", row["stage"].pk),
                ("left_after", f.since.isoformat()),
                ("left_before", f.until.isoformat()),
            ],
            scope,
        )
    stage_time_option = _chart(
        {
            "grid": {"left": 48, "right": 16, "top": 36, "bottom": 48},
            "xAxis": {
                "type": "category",
                "data": [r["stage"].name for r in stage_times],
                "axisLabel": {"interval": 0, "rotate": 20},
            },
            "yAxis": {"type": "value", "name": _("days")},
            "series": [
                {
                    "type": "bar",
                    "name": _("Average days in stage"),
                    "itemStyle": {"color": PURPLE},
                    "data": [r["avg_days"] or 0 for r in stage_times],
                }
            ],
        }
    )

    # pipeline
    pipe = data["pipeline"]
    for row in pipe["stages"]:
        row["url"] = _url(opp_list, [("stage", row["stage"].pk), ("status", "open")], scope)
    for row in pipe["owners"]:
        row["url"] = _url(opp_list, [("owner", row["owner"].pk), ("status", "open")], without_owner)
    pipeline_stage_option = _chart(
        {
            "legend": {"top": 0, "left": 0},
            "grid": {"left": 64, "right": 56, "top": 36, "bottom": 48},
            "xAxis": {
                "type": "category",
                "data": [r["stage"].name for r in pipe["stages"]],
                "axisLabel": {"interval": 0, "rotate": 20},
            },
            "yAxis": [
                {"type": "value", "name": _("amount (¥)")},
                {"type": "value", "name": _("count"), "minInterval": 1},
            ],
            "series": [
                {
                    "type": "bar",
                    "name": _("Amount"),
                    "itemStyle": {"color": BLUE},
                    "data": [_money(r["amount"]) for r in pipe["stages"]],
                },
                {
                    "type": "bar",
                    "name": _("Weighted amount"),
                    "itemStyle": {"color": PURPLE},
                    "data": [_money(r["weighted"]) for r in pipe["stages"]],
                },
                {
                    "type": "line",
                    "name": _("Count"),
                    "yAxisIndex": 1,
                    "itemStyle": {"color": ORANGE},
                    "data": [r["count"] for r in pipe["stages"]],
                },
            ],
        }
    )
    pipeline_owner_option = _chart(
        {
            "legend": {"top": 0, "left": 0},
            "grid": {"left": 96, "right": 40, "top": 36, "bottom": 24},
            "xAxis": [
                {"type": "value", "name": _("amount (¥)")},
                {"type": "value", "name": _("count"), "position": "top", "minInterval": 1},
            ],
            "yAxis": {"type": "category", "inverse": True, "data": [_name(r["owner"]) for r in pipe["owners"]]},
            "series": [
                {
                    "type": "bar",
                    "name": _("Amount"),
                    "itemStyle": {"color": BLUE},
                    "data": [_money(r["amount"]) for r in pipe["owners"]],
                },
                {
                    "type": "bar",
                    "name": _("Count"),
                    "itemStyle": {"color": ORANGE},
                    "xAxisIndex": 1,
                    "data": [r["count"] for r in pipe["owners"]],
                },
            ],
        }
    )

    # forecast
    forecast = data["forecast"]
    for row in forecast["months"]:
        row["url"] = _url(
            opp_list,
            [("status", "open"), ("close_after", row["month"].isoformat()), ("close_before", row["end"].isoformat())],
            scope,
        )
    forecast_option = _chart(
        {
            "legend": {"top": 0, "left": 0},
            "grid": {"left": 72, "right": 16, "top": 40, "bottom": 32},
            "xAxis": {"type": "category", "data": [row["month"].strftime("%Y-%m") for row in forecast["months"]]},
            "yAxis": {"type": "value", "name": _("amount (¥)")},
            "series": [
                {
                    "type": "bar",
                    "name": _("Pipeline amount"),
                    "itemStyle": {"color": GREY},
                    "data": [_money(r["amount"]) for r in forecast["months"]],
                },
                {
                    "type": "bar",
                    "name": _("Weighted by stage probability"),
                    "itemStyle": {"color": BLUE},
                    "data": [_money(r["by_stage"]) for r in forecast["months"]],
                },
                {
                    "type": "bar",
                    "name": _("Weighted by the owner's win rate"),
                    "itemStyle": {"color": GREEN},
                    "data": [_money(r["by_win_rate"]) for r in forecast["months"]],
                },
            ],
        }
    )

    # won and lost
    closed = data["closed"]
    closed["won_url"] = _url(opp_list, [("status", "won")], period_closed, scope)
    closed["lost_url"] = _url(opp_list, [("status", "lost")], period_closed, scope)
    for row in closed["reasons"]:
        row["url"] = (
            _url(opp_list, [("status", "lost"), ("lost_reason", row["reason"])], period_closed, scope)
            if row["reason"]
            else ""
        )
        row["label"] = row["reason"] or _("(no reason given)")
    reasons_option = _chart(
        {
            "tooltip": {"trigger": "item"},
            "legend": {"type": "scroll", "bottom": 0},
            "series": [
                {
                    "type": "pie",
                    "radius": ["35%", "65%"],
                    "center": ["50%", "45%"],
                    "label": {"formatter": labelled("{b}", "{c} ({d}%)")},
                    "data": [{"name": r["label"], "value": r["count"]} for r in closed["reasons"]],
                }
            ],
        }
    )

    # activity against results
    activity = data["activity"]
    for row in activity["rows"]:
        row["won_url"] = _url(opp_list, [("status", "won"), ("owner", row["user"].pk)], period_closed, without_owner)
    activity_option = _chart(
        {
            "legend": {"top": 0, "left": 0},
            "grid": {"left": 56, "right": 72, "top": 40, "bottom": 48},
            "xAxis": {
                "type": "category",
                "data": [_name(r["user"]) for r in activity["rows"]],
                "axisLabel": {"interval": 0, "rotate": 20},
            },
            "yAxis": [{"type": "value", "name": _("follow-ups per day")}, {"type": "value", "name": _("won (¥)")}],
            "series": [
                {
                    "type": "bar",
                    "name": _("Follow-ups per day"),
                    "itemStyle": {"color": BLUE},
                    "data": [r["per_day"] for r in activity["rows"]],
                },
                {
                    "type": "bar",
                    "name": _("Won amount"),
                    "yAxisIndex": 1,
                    "itemStyle": {"color": GREEN},
                    "data": [_money(r["won_amount"]) for r in activity["rows"]],
                },
            ],
        }
    )
    daily_option = _chart(
        {
            "grid": {"left": 48, "right": 16, "top": 36, "bottom": 32},
            "xAxis": {"type": "category", "data": [d["day"].isoformat() for d in activity["days"]]},
            "yAxis": {"type": "value", "minInterval": 1},
            "series": [
                {
                    "type": "line",
                    "name": _("Follow-ups"),
                    "itemStyle": {"color": BLUE},
                    "areaStyle": {"opacity": 0.1},
                    "data": [d["followups"] for d in activity["days"]],
                }
            ],
        }
    )

    stuck = data["stuck"]
    stuck["url"] = _url(opp_list, [("status", "open"), ("stuck_days", stuck["days"])], scope)

    charts = _charts(
        [
            ("funnel", funnel_option, [s["url"] for s in funnel["steps"]]),
            ("stage-time", stage_time_option, [r["url"] for r in stage_times]),
            ("pipeline-stage", pipeline_stage_option, [r["url"] for r in pipe["stages"]]),
            ("pipeline-owner", pipeline_owner_option, [r["url"] for r in pipe["owners"]]),
            ("forecast", forecast_option, [r["url"] for r in forecast["months"]]),
            ("lost-reasons", reasons_option, [r["url"] for r in closed["reasons"]]),
            ("activity", activity_option, [r["won_url"] for r in activity["rows"]]),
            (
                "daily",
                daily_option,
                [
                    _url(
                        reverse("sales:followups"),
                        [("at_after", d["day"].isoformat()), ("at_before", d["day"].isoformat())],
                        [("created_by" if k == "owner" else k, v) for k, v in scope if k in ("owner", "department")],
                    )
                    for d in activity["days"]
                ],
            ),
        ]
    )
    tables = {
        "funnel": (
            [_("Step"), _("Count"), _("Conversion from the step before (%)")],
            [[s["label"], s["count"], s["rate"]] for s in funnel["steps"]],
        ),
        "stage_time": (
            [_("Stage"), _("Stays ended in the period"), _("Average days in stage")],
            [[r["stage"].name, r["stays"], r["avg_days"]] for r in stage_times],
        ),
        "pipeline_stage": (
            [_("Stage"), _("Count"), _("Amount"), _("Weighted amount")],
            [[r["stage"].name, r["count"], r["amount"], r["weighted"]] for r in pipe["stages"]],
        ),
        "pipeline_owner": (
            [_("Owner"), _("Count"), _("Amount"), _("Weighted amount")],
            [[_name(r["owner"]), r["count"], r["amount"], r["weighted"]] for r in pipe["owners"]],
        ),
        "forecast": (
            [
                _("Month"),
                _("Count"),
                _("Pipeline amount"),
                _("Weighted by stage probability"),
                _("Weighted by the owner's win rate"),
            ],
            [
                [r["month"].strftime("%Y-%m"), r["count"], r["amount"], r["by_stage"], r["by_win_rate"]]
                for r in forecast["months"]
            ],
        ),
        "win_rates": (
            [_("Owner"), _("Won"), _("Closed"), _("Win rate (%)")],
            [[_name(r["owner"]), r["won"], r["closed"], r["rate"]] for r in forecast["rates"]],
        ),
        "lost_reasons": (
            [_("Lost reason"), _("Count"), _("Amount"), _("Share (%)")],
            [[r["label"], r["count"], r["amount"], r["share"]] for r in closed["reasons"]],
        ),
        "activity": (
            [
                _("Rep"),
                _("Follow-ups"),
                _("Follow-ups per day"),
                _("Deals won"),
                _("Won amount"),
                _("Won per follow-up"),
            ],
            [
                [
                    _name(r["user"]),
                    r["followups"],
                    r["per_day"],
                    r["won_count"],
                    r["won_amount"],
                    r["amount_per_followup"],
                ]
                for r in activity["rows"]
            ],
        ),
        "stuck": (
            [_("Opportunity"), _("Customer"), _("Owner"), _("Stage"), _("Amount"), _("Days in stage")],
            [
                [o.name, o.customer.name, _name(o.owner), o.stage.name, o.amount, o.days_in_stage]
                for o in stuck["items"]
            ],
        ),
    }
    return form, f, data, charts, tables


@login_required
@reads_from_replica
def sales_dashboard(request):
    permissions.require(request.user, "sales.view")
    form, f, data, charts, tables = _sales_context(request)
    if request.GET.get("export"):
        return _export(request, tables, "sales-dashboard")
    return render(
        request,
        "sales/dashboard/sales.html",
        {
            "form": form,
            "filters": f,
            "charts": charts,
            "qs": form.querystring(),
            **data,
            "performance_url": reverse("sales:dashboard_performance"),
        },
    )


# --- performance --------------------------------------------------------------------------------

WON_METRICS = (Target.Metric.AMOUNT_WON, Target.Metric.DEALS_WON)


def _value(metric, value):
    return _money(value) if metric == Target.Metric.AMOUNT_WON else value


def _performance_context(request):
    user = request.user
    form = PerformanceFilterForm(request.GET or None, user=user)
    options = form.options()
    f = form.filters()
    metric = options["metric"]
    data = figures.performance(user, f, granularity=options["granularity"], anchor=options["anchor"], metric=metric)
    scope = form.scope_params()
    without_owner = [(k, v) for k, v in scope if k != "owner"]
    span_closed = [("closed_after", data["start"].isoformat()), ("closed_before", data["last"].isoformat())]
    span_created = [("created_after", data["start"].isoformat()), ("created_before", data["last"].isoformat())]
    opp_list, customer_list = reverse("sales:opportunities"), reverse("customers:list")
    followup_list = reverse("sales:followups")
    span_at = [("at_after", data["start"].isoformat()), ("at_before", data["last"].isoformat())]
    for row in data["reps"]:
        if metric in WON_METRICS:
            row["url"] = _url(opp_list, [("status", "won"), ("owner", row["user"].pk)], span_closed, without_owner)
        elif metric == Target.Metric.NEW_CUSTOMERS:
            row["url"] = _url(
                customer_list,
                [("owner", row["user"].pk)],
                span_created,
                [(k, v) for k, v in without_owner if k == "source"],
            )
        else:
            row["url"] = _url(
                followup_list,
                [("created_by", row["user"].pk)],
                span_at,
                [(k, v) for k, v in without_owner if k == "department"],
            )
    for row in data["trend"]:
        month = [("closed_after", row["month"].isoformat()), ("closed_before", row["end"].isoformat())]
        if metric in WON_METRICS:
            row["url"] = _url(opp_list, [("status", "won")], month, scope)
        elif metric == Target.Metric.NEW_CUSTOMERS:
            row["url"] = _url(
                customer_list,
                [("created_after", row["month"].isoformat()), ("created_before", row["end"].isoformat())],
                [(k, v) for k, v in scope if k in ("owner", "department", "source")],
            )
        else:
            row["url"] = _url(
                followup_list,
                [("at_after", row["month"].isoformat()), ("at_before", row["end"].isoformat())],
                [("created_by" if k == "owner" else k, v) for k, v in scope if k in ("owner", "department")],
            )
    metric_label = dict(Target.Metric.choices)[metric]
    reps = data["reps"]
    board_option = _chart(
        {
            "legend": {"top": 0, "left": 0},
            "grid": {"left": 96, "right": 48, "top": 36, "bottom": 24},
            "xAxis": {"type": "value"},
            "yAxis": {"type": "category", "inverse": True, "data": [f"{r['rank']}. {_name(r['user'])}" for r in reps]},
            "series": [
                {
                    "type": "bar",
                    "name": str(metric_label),
                    "itemStyle": {"color": BLUE},
                    "label": {"show": True, "position": "right"},
                    "data": [_value(metric, r["value"]) for r in reps],
                },
                {
                    "type": "bar",
                    "name": _("Target"),
                    "itemStyle": {"color": GREY},
                    "data": [_value(metric, r["target"]) if r["target"] is not None else None for r in reps],
                },
                {
                    "type": "bar",
                    "name": _("Same period last year"),
                    "itemStyle": {"color": ORANGE},
                    "data": [_value(metric, r["last_year"]) for r in reps],
                },
            ],
        }
    )
    trend = data["trend"]
    trend_option = _chart(
        {
            "legend": {"top": 0, "left": 0},
            "grid": {"left": 72, "right": 16, "top": 40, "bottom": 32},
            "xAxis": {"type": "category", "data": [row["month"].strftime("%Y-%m") for row in trend]},
            "yAxis": {"type": "value"},
            "series": [
                {
                    "type": "bar",
                    "name": str(metric_label),
                    "itemStyle": {"color": BLUE},
                    "data": [_value(metric, r["value"]) for r in trend],
                },
                {
                    "type": "line",
                    "name": _("Same month last year"),
                    "itemStyle": {"color": ORANGE},
                    "data": [_value(metric, r["last_year"]) for r in trend],
                },
                {
                    "type": "line",
                    "name": _("Target (reps' monthly targets)"),
                    "itemStyle": {"color": GREY},
                    "lineStyle": {"type": "dashed"},
                    "data": [_value(metric, r["target"]) if r["target"] is not None else None for r in trend],
                },
            ],
        }
    )
    charts = _charts(
        [("leaderboard", board_option, [r["url"] for r in reps]), ("trend", trend_option, [r["url"] for r in trend])]
    )
    headers = [str(metric_label), _("Target"), _("Attainment (%)"), _("Same period last year"), _("Change (%)")]
    tables = {
        "reps": (
            [_("Rank"), _("Rep"), _("Department")] + headers,
            [
                [
                    r["rank"],
                    _name(r["user"]),
                    r["user"].department.name if r["user"].department_id else "",
                    r["value"],
                    r["target"],
                    r["attainment"],
                    r["last_year"],
                    r["change"],
                ]
                for r in reps
            ],
        ),
        "departments": (
            [_("Department or team")] + headers,
            [
                [r["department"].name, r["value"], r["target"], r["attainment"], r["last_year"], r["change"]]
                for r in data["departments"]
            ],
        ),
        "trend": (
            [_("Month"), str(metric_label), _("Same month last year"), _("Target")],
            [[r["month"].strftime("%Y-%m"), r["value"], r["last_year"], r["target"]] for r in trend],
        ),
    }
    return form, options, data, charts, tables, metric_label


@login_required
def performance_dashboard(request):
    permissions.require(request.user, "sales.view")
    form, options, data, charts, tables, metric_label = _performance_context(request)
    if request.GET.get("export"):
        return _export(request, tables, "performance")
    return render(
        request,
        "sales/dashboard/performance.html",
        {
            "form": form,
            "charts": charts,
            "qs": form.querystring(),
            "metric_label": metric_label,
            "is_money": options["metric"] == Target.Metric.AMOUNT_WON,
            "options": options,
            **data,
            "sales_url": reverse("sales:dashboard"),
            "can_set_targets": permissions.can(request.user, "sales.assign"),
        },
    )


urlpatterns = [
    path("dashboard/", sales_dashboard, name="dashboard"),
    path("dashboard/performance/", performance_dashboard, name="dashboard_performance"),
]
