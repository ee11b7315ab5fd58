"""The customer overview dashboard (客户大盘): lifecycle stages and flows, value quadrant and 3×3 grid
with revenue shares, the 80/20 curve, new / active / at-risk / churned customers per month and the
cohort retention table — for the viewer's data scope, from the rollups (see
``customers.services.dashboard``). Every chart drills down to the customer list behind it; every
table exports to XLSX (``?export=xlsx&table=<name>``)."""

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from crm import permissions
from crm.db_router import reads_from_replica
from crm.ui import export_rows

from ..charts import stage_sankey
from ..forms.dashboard import DashboardFilterForm
from ..selectors_dashboard import dashboard
from ..selectors_segments import flow_matrix
from ..services.dashboard import COHORT_MONTHS, add_months

SAVE_AS_IMAGE = "saveAsImage"
COLORS = {"new": "#1f6feb", "active": "#1a7f37", "at_risk": "#bf8700", "churned": "#cf222e"}


def _toolbox():
    return {"right": 8, "feature": {SAVE_AS_IMAGE: {"title": _("Save as PNG"), "pixelRatio": 2}}}


class Drill:
    """Links to the customer list narrowed like the dashboard, plus one figure's own filters."""

    def __init__(self, scope_params):
        self.base = reverse("customers:list")
        self.scope_params = scope_params

    def __call__(self, **params):
        pairs = [(name, value) for name, value in params.items() if value not in (None, "")]
        return f"{self.base}?{urlencode(pairs + self.scope_params)}"


def _last_day(month):
    return add_months(month, 1) - timezone.timedelta(days=1)


# --- chart options (ECharts; rendered by static/js/app.js, clicks too) ---


def _stage_option(stages, drill):
    return {
        "toolbox": _toolbox(),
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 56, "right": 16, "top": 36, "bottom": 56},
        "xAxis": {
            "type": "category",
            "data": [str(s["label"]) for s in stages],
            "axisLabel": {"interval": 0, "rotate": 20},
        },
        "yAxis": {"type": "value", "minInterval": 1},
        "series": [
            {
                "type": "bar",
                "name": _("Customers"),
                "itemStyle": {"color": "#1f6feb"},
                "label": {"show": True, "position": "top"},
                "data": [{"value": s["count"], "drill": drill(lifecycle_stage=s["value"])} for s in stages],
            }
        ],
    }


def _sankey_option(flows, drill, since, until):
    return stage_sankey(
        flows,
        top=32,
        toolbox=_toolbox(),
        link=lambda flow: {
            "drill": drill(
                changed_from=flow["from"] or "new",
                changed_to=flow["to"],
                changed_since=since.isoformat(),
                changed_until=until.isoformat(),
            )
        },
    )


def _segment_option(segments, drill):
    names = [str(s["label"]) for s in segments]
    return {
        "toolbox": _toolbox(),
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0, "left": "center"},
        "grid": {"left": 56, "right": 56, "top": 56, "bottom": 56},
        "xAxis": {"type": "category", "data": names, "axisLabel": {"interval": 0, "rotate": 15}},
        "yAxis": [
            {"type": "value", "name": _("customers"), "minInterval": 1},
            {"type": "value", "name": _("% of revenue"), "min": 0, "max": 100},
        ],
        "series": [
            {
                "type": "bar",
                "name": _("Customers"),
                "itemStyle": {"color": "#1f6feb"},
                "data": [{"value": s["count"], "drill": drill(value_segment=s["value"])} for s in segments],
            },
            {
                "type": "bar",
                "name": _("Share of revenue (%)"),
                "yAxisIndex": 1,
                "itemStyle": {"color": "#8250df"},
                "data": [
                    {"value": float(s["revenue_share"]), "drill": drill(value_segment=s["value"])} for s in segments
                ],
            },
        ],
    }


def _grid_option(grid_rows, drill):
    volumes = [str(cell["volume"].label) for cell in grid_rows[0]["cells"]] if grid_rows else []
    levels = [str(row["label"]) for row in grid_rows]
    data, top = [], 1
    for y, row in enumerate(grid_rows):
        for x, cell in enumerate(row["cells"]):
            top = max(top, cell["count"])
            data.append(
                {
                    "value": [x, y, cell["count"]],
                    "letter": cell["value"],
                    "share": float(cell["revenue_share"]),
                    "drill": drill(grid_class=cell["value"]),
                    "label": {"formatter": f"{cell['value']}\n{cell['count']}\n{cell['revenue_share']}%"},
                }
            )
    return {
        "toolbox": _toolbox(),
        "tooltip": {"trigger": "item"},
        "grid": {"left": 96, "right": 16, "top": 36, "bottom": 48},
        "xAxis": {
            "type": "category",
            "data": volumes,
            "name": _("purchase volume"),
            "nameLocation": "middle",
            "nameGap": 28,
        },
        "yAxis": {"type": "category", "data": levels, "name": _("satisfaction"), "inverse": True},
        "visualMap": {"min": 0, "max": top, "show": False, "inRange": {"color": ["#eaf2ff", "#1f6feb"]}},
        "series": [{"type": "heatmap", "name": _("Customers"), "data": data, "label": {"show": True}}],
    }


def _pareto_option(points, drill):
    curve = [
        {
            "value": [p["x"], p["y"]],
            **({"drill": drill(total_min=p["floor"], sort="-total_amount")} if p["floor"] is not None else {}),
        }
        for p in points
    ]
    return {
        "toolbox": _toolbox(),
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 56, "right": 24, "top": 40, "bottom": 44},
        "xAxis": {
            "type": "value",
            "min": 0,
            "max": 100,
            "name": _("% of customers (largest first)"),
            "nameLocation": "middle",
            "nameGap": 26,
        },
        "yAxis": {"type": "value", "min": 0, "max": 100, "name": _("% of revenue")},
        "series": [
            {
                "type": "line",
                "name": _("Cumulative share of revenue"),
                "data": curve,
                "areaStyle": {"opacity": 0.15},
                "itemStyle": {"color": "#1f6feb"},
                "markLine": {
                    "silent": True,
                    "symbol": "none",
                    "lineStyle": {"type": "dashed", "color": "#cf222e"},
                    "data": [{"xAxis": 20, "label": {"formatter": _("top 20%")}}],
                },
            },
            {
                "type": "line",
                "name": _("Equal shares"),
                "data": [[0, 0], [100, 100]],
                "showSymbol": False,
                "silent": True,
                "lineStyle": {"type": "dotted", "color": "#8c959f"},
                "itemStyle": {"color": "#8c959f"},
            },
        ],
    }


def _series_option(months, drill):
    shown = [m for m in months if not m["future"]]
    labels = [m["month"].strftime("%Y-%m") for m in shown]

    def series(key, name, params):
        return {
            "type": "line",
            "name": name,
            "itemStyle": {"color": COLORS[key]},
            "data": [
                {"value": m[key if key != "new" else "new_customers"], "drill": drill(**params(m))} for m in shown
            ],
        }

    return {
        "toolbox": _toolbox(),
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0, "left": 0},
        "grid": {"left": 56, "right": 16, "top": 40, "bottom": 32},
        "xAxis": {"type": "category", "data": labels},
        "yAxis": {"type": "value", "minInterval": 1},
        "series": [
            series(
                "new",
                _("New customers"),
                lambda m: {
                    "created_after": m["month"].isoformat(),
                    "created_before": _last_day(m["month"]).isoformat(),
                },
            ),
            series("active", _("Active"), lambda m: {"state": "active", "state_on": m["as_of"].isoformat()}),
            series("at_risk", _("At risk"), lambda m: {"state": "at_risk", "state_on": m["as_of"].isoformat()}),
            series("churned", _("Churned"), lambda m: {"state": "churned", "state_on": m["as_of"].isoformat()}),
        ],
    }


# --- tables (page and XLSX share them) ---------------------------------------------------------------


def _tables(data, since, until):
    state, pareto = data["state"], data["pareto"]
    tables = {
        "lifecycle": (
            _("Customers per lifecycle stage"),
            [_("Stage"), _("Customers"), _("% of customers"), _("Revenue (¥)"), _("% of revenue")],
            [
                [str(s["label"]), s["count"], s["customer_share"], s["revenue"], s["revenue_share"]]
                for s in state["stages"]
            ],
        ),
        "flows": (
            _("Stage changes"),
            [_("From"), _("To"), _("Changes")],
            [[str(f["from_label"]), str(f["to_label"]), f["count"]] for f in data["flows"]["flows"]],
        ),
        "quadrant": (
            _("Value quadrant"),
            [_("Segment"), _("Customers"), _("% of customers"), _("Revenue (¥)"), _("% of revenue")],
            [
                [str(s["label"]), s["count"], s["customer_share"], s["revenue"], s["revenue_share"]]
                for s in state["segments"]
            ],
        ),
        "grid": (
            _("3×3 grid"),
            [_("Class"), _("satisfaction"), _("purchase volume"), _("Customers"), _("Revenue (¥)"), _("% of revenue")],
            [
                [c["value"], str(row["label"]), str(c["volume"].label), c["count"], c["revenue"], c["revenue_share"]]
                for row in state["grid"]
                for c in row["cells"]
            ],
        ),
        "pareto": (
            _("80/20 curve"),
            [_("% of customers"), _("% of revenue"), _("Customers"), _("Spent at least (¥)")],
            [[p["x"], p["y"], p["customers"], p["floor"]] for p in pareto["points"][1:]],
        ),
        "monthly": (
            _("Customers per month"),
            [
                _("Month"),
                _("New customers"),
                _("Active"),
                _("At risk"),
                _("Churned"),
                _("Buyers"),
                _("Orders"),
                _("Revenue (¥)"),
            ],
            [
                [
                    m["month"].strftime("%Y-%m"),
                    m["new_customers"],
                    m["active"],
                    m["at_risk"],
                    m["churned"],
                    m["buyers"],
                    m["orders"],
                    m["revenue"],
                ]
                for m in data["monthly"]
                if not m["future"]
            ],
        ),
        "cohorts": (
            _("Cohorts by month of first order"),
            [
                _("First order"),
                _("Customers"),
                _("Repurchase rate (%)"),
                _("Average order value (¥)"),
                _("Orders per customer"),
            ]
            + [_("Month %(n)d (%%)") % {"n": k} for k in range(COHORT_MONTHS)],
            [
                [
                    row["cohort"].strftime("%Y-%m"),
                    row["size"],
                    month["repurchase_rate"],
                    month["cohort_aov"],
                    month["frequency"],
                ]
                + [cell["rate"] if cell else None for cell in row["cells"]]
                for row, month in zip(data["cohorts"], data["monthly"])
                if not month["future"]
            ],
        ),
        "provinces": (
            _("Customers per province"),
            [_("Province"), _("Customers"), _("% of customers"), _("Revenue (¥)"), _("% of revenue")],
            [
                [str(p["name"]), p["count"], p["customer_share"], p["revenue"], p["revenue_share"]]
                for p in data["provinces"]
            ],
        ),
    }
    return tables


@login_required
@reads_from_replica
def customer_dashboard(request):
    permissions.require(request.user, "customers.view")
    form = DashboardFilterForm(request.GET or None, user=request.user)
    since, until = form.period_range()
    today = form.today
    data = dashboard(request.user, form.filters(), since=since, until=until, today=today)
    tables = _tables(data, since, until)
    if request.GET.get("export") == "xlsx":
        name = request.GET.get("table", "")
        if name not in tables:
            raise Http404
        permissions.require(request.user, "customers.export")
        title, header, rows = tables[name]
        return export_rows([header, *rows], fmt="xlsx", filename=f"customer-dashboard-{name}")

    drill = Drill(form.scope_params())
    state, monthly = data["state"], data["monthly"]
    cohort_rows = []
    for row, month in zip(data["cohorts"], monthly):
        if month["future"]:
            continue
        cohort_to = _last_day(row["cohort"]).isoformat()
        cells = []
        for cell in row["cells"]:
            if cell is not None:
                cell = dict(
                    cell,
                    drill=drill(
                        first_order_from=row["cohort"].isoformat(),
                        first_order_to=cohort_to,
                        ordered_from=cell["month"].isoformat(),
                        ordered_to=_last_day(cell["month"]).isoformat(),
                    ),
                    alpha=round(float(cell["rate"]) / 100, 2),
                )
            cells.append(cell)
        cohort_rows.append(
            {
                **row,
                "cells": cells,
                "month": month,
                "drill": drill(first_order_from=row["cohort"].isoformat(), first_order_to=cohort_to),
            }
        )
    for m in monthly:
        m["drill_new"] = drill(created_after=m["month"].isoformat(), created_before=_last_day(m["month"]).isoformat())
        for key in ("active", "at_risk", "churned"):
            m[f"drill_{key}"] = drill(state=key, state_on=m["as_of"].isoformat())
    for s in state["stages"]:
        s["drill"] = drill(lifecycle_stage=s["value"])
    for s in state["segments"]:
        s["drill"] = drill(value_segment=s["value"])
    for p in data["provinces"]:
        p["drill"] = drill(region=p["code"]) if p["code"] else None
    for row in state["grid"]:
        for c in row["cells"]:
            c["drill"] = drill(grid_class=c["value"])
    flows = data["flows"]
    for f in flows["flows"]:
        f["drill"] = drill(
            changed_from=f["from"] or "new",
            changed_to=f["to"],
            changed_since=since.isoformat(),
            changed_until=until.isoformat(),
        )
    pareto = data["pareto"]
    top_floor = next((p["floor"] for p in pareto["points"][1:] if p["customers"] >= pareto["top_customers"]), None)
    context = {
        "form": form,
        "since": since,
        "until": until,
        "run": data["run"],
        "state": state,
        "pareto": pareto,
        "flows": flows,
        "flow_matrix": flow_matrix(flows["flows"]),
        "monthly": [m for m in monthly if not m["future"]],
        "cohort_rows": cohort_rows,
        "cohort_columns": list(range(COHORT_MONTHS)),
        "provinces": data["provinces"],
        "export_qs": form.querystring(),
        "table_titles": {name: title for name, (title, _h, _r) in tables.items()},
        "stage_option": _stage_option(state["stages"], drill),
        "sankey_option": _sankey_option(flows["flows"], drill, since, until) if flows["flows"] else None,
        "segment_option": _segment_option(state["segments"], drill),
        "grid_option": _grid_option(state["grid"], drill),
        "pareto_option": _pareto_option(pareto["points"], drill),
        "series_option": _series_option(monthly, drill),
        "pareto_drill": drill(total_min=top_floor, sort="-total_amount") if top_floor is not None else None,
    }
    return render(request, "customers/dashboard/overview.html", context)


urlpatterns = [
    path("dashboard/", customer_dashboard, name="dashboard"),
]
