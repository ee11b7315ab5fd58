"""Segmentation pages (客户分层): the overview (value quadrant, 3×3 grid, lifecycle, 80/20) for the
viewer's data scope, and the thresholds an admin sets."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.template.defaultfilters import floatformat
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from crm import permissions

from ..charts import stage_sankey
from ..forms.segments import SegmentationSettingsForm, SegmentFilterForm
from ..models import SegmentationSettings, ValueSegment
from ..selectors_segments import (
    SERVICE_MODEL_HINTS,
    SERVICE_MODEL_LABELS,
    STANCE_LABELS,
    VOLUME_LEVELS,
    flow_matrix,
    segmentation_overview,
)
from ..services import segmentation
from ..services.segment_settings import THRESHOLD_FIELDS, save_segmentation_settings

SEGMENT_COLORS = {
    ValueSegment.HIGH: "#1f6feb",
    ValueSegment.HIGH_AOV: "#8250df",
    ValueSegment.FREQUENT: "#1a7f37",
    ValueSegment.LOW: "#bf8700",
    ValueSegment.POTENTIAL: "#8c959f",
}
#: a zero-width space marks the right-hand ("to") side of the sankey, so that a stage may appear on
#: both sides (a sankey must not have cycles) while reading the same


def _scatter_option(scatter, quadrant, settings):
    labels = {row["value"]: str(row["label"]) for row in quadrant["segments"]}
    dimensions = [
        {"name": "orders", "displayName": _("orders")},
        {"name": "aov", "displayName": _("average order value")},
        {"name": "segment", "type": "ordinal"},
    ]
    series = [
        {
            "type": "scatter",
            "name": _("Thresholds"),
            "data": [],
            "silent": True,
            "markLine": {
                "silent": True,
                "symbol": "none",
                "lineStyle": {"type": "dashed", "color": "#cf222e"},
                "data": [
                    {
                        "xAxis": settings.frequency_threshold,
                        "label": {
                            "formatter": _("%(n)s orders") % {"n": settings.frequency_threshold},
                            "position": "insideEndTop",
                        },
                    },
                    {
                        "yAxis": float(settings.aov_threshold),
                        "label": {
                            "formatter": "¥%s" % floatformat(settings.aov_threshold, "-2"),
                            "position": "insideEndTop",
                        },
                    },
                ],
            },
        }
    ]
    for segment, points in scatter["points"].items():
        if points:
            series.append(
                {
                    "type": "scatter",
                    "name": labels.get(segment, segment),
                    "symbolSize": 6,
                    "itemStyle": {"color": SEGMENT_COLORS.get(segment, "#57606a"), "opacity": 0.7},
                    "dimensions": dimensions,
                    "encode": {"x": 0, "y": 1, "itemName": 2, "tooltip": [0, 1]},
                    "data": points,
                }
            )
    return {
        "tooltip": {"trigger": "item"},
        "legend": {"top": 0, "data": [s["name"] for s in series[1:]]},
        "grid": {"left": 64, "right": 24, "top": 64, "bottom": 40},
        "xAxis": {"type": "value", "name": _("orders"), "nameLocation": "middle", "nameGap": 26, "minInterval": 1},
        "yAxis": {"type": "value", "name": _("average order value (¥)")},
        "series": series,
    }


def _lifecycle_option(stages):
    return {
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 48, "right": 16, "top": 16, "bottom": 48},
        "xAxis": {
            "type": "category",
            "data": [row["label"] for row in stages],
            "axisLabel": {"interval": 0, "rotate": 20},
        },
        "yAxis": {"type": "value", "minInterval": 1},
        "series": [
            {
                "type": "bar",
                "name": _("Customers"),
                "itemStyle": {"color": "#1f6feb"},
                "data": [{"value": row["count"], "name": row["value"]} for row in stages],
            }
        ],
    }


def _sankey_option(flows):
    return stage_sankey(flows)


def _pareto_option(pareto):
    return {
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 48, "right": 24, "top": 36, "bottom": 44},
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
                "data": pareto["curve"],
                "smooth": False,
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
                "lineStyle": {"type": "dotted", "color": "#8c959f"},
                "itemStyle": {"color": "#8c959f"},
            },
        ],
    }


@login_required
def segment_overview(request):
    permissions.require(request.user, "customers.view")
    form = SegmentFilterForm(request.GET or None, user=request.user)
    since, until = form.period()
    data = segmentation_overview(request.user, since=since, until=until, **form.scope_filters())
    settings = SegmentationSettings.current()
    list_url = reverse("customers:list")
    scope_qs = form.querystring()
    quadrant, grid, flows = data["quadrant"], data["grid"], data["flows"]
    segments = {row["value"]: row for row in quadrant["segments"]}
    columns = [
        {
            "volume": volume,
            "label": volume.label,
            "service_label": SERVICE_MODEL_LABELS[model],
            "service_hint": SERVICE_MODEL_HINTS[model],
        }
        for volume in VOLUME_LEVELS
        for model in [segmentation.SERVICE_MODEL[volume]]
    ]
    grid_rows = [
        {
            "level": level,
            "label": level.label,
            "stance_label": STANCE_LABELS[segmentation.STANCE[level]],
            "cells": cells,
        }
        for level, cells in grid.rows
    ]
    context = {
        "form": form,
        "settings": settings,
        "can_manage": permissions.can(request.user, "org.manage"),
        "list_url": list_url,
        "scope_qs": scope_qs,
        "quadrant": quadrant,
        "quadrant_cells": [
            segments[v] for v in (ValueSegment.HIGH_AOV, ValueSegment.HIGH, ValueSegment.LOW, ValueSegment.FREQUENT)
        ],
        "potential": segments[ValueSegment.POTENTIAL],
        "scatter": data["scatter"],
        "scatter_option": _scatter_option(data["scatter"], quadrant, settings),
        "grid": grid,
        "grid_columns": columns,
        "grid_rows": grid_rows,
        "lifecycle": data["lifecycle"],
        "lifecycle_option": _lifecycle_option(data["lifecycle"]),
        "flows": flows,
        "flow_matrix": flow_matrix(flows["flows"]),
        "sankey_option": _sankey_option(flows["flows"]) if flows["flows"] else None,
        "pareto": data["pareto"],
        "pareto_option": _pareto_option(data["pareto"]),
        "as_of": data["as_of"],
        "heavy_as_of": data["heavy_as_of"],
        "drill_segment": f"{list_url}?value_segment=__value__{scope_qs}",
        "drill_stage": f"{list_url}?lifecycle_stage=__value__{scope_qs}",
    }
    return render(request, "customers/segments/overview.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def segment_settings(request):
    permissions.require(request.user, "org.manage")
    settings = SegmentationSettings.current()  # the rules as saved (the form's instance takes the input)
    form = SegmentationSettingsForm(request.POST or None, instance=SegmentationSettings.current())
    if request.method == "POST" and form.is_valid():
        try:
            save_segmentation_settings(
                actor=request.user, **{name: form.cleaned_data[name] for name in THRESHOLD_FIELDS}
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            if form.has_changed():
                messages.success(
                    request,
                    _("Thresholds saved. Every customer is being reclassified; the figures update in a moment."),
                )
            else:
                messages.info(request, _("Nothing changed."))
            return redirect("customers:segment_settings")
    return render(request, "customers/segments/settings.html", {"form": form, "settings": settings})


urlpatterns = [
    path("segments/", segment_overview, name="segments"),
    path("segments/settings/", segment_settings, name="segment_settings"),
]
