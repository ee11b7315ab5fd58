"""政策及效果统计 and 经营分析: the figures of ``catalog.analysis`` in the user's data scope, the
order lines behind each figure (drill-down) and XLSX."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm import permissions
from crm.labels import labelled
from crm.ui import ScopedListView, export_rows

from .. import analysis
from ..filters import SoldLineFilter
from ..models import SalesPolicy
from ..tables import SoldLineTable

BY_LABELS = {
    "product": gettext_lazy("Product"),
    "category": gettext_lazy("Category"),
    "channel": gettext_lazy("Channel"),
    "province": gettext_lazy("Province"),
    "city": gettext_lazy("City"),
    "month": gettext_lazy("Month"),
}


def _year(request) -> int:
    value = request.GET.get("year", "")
    return int(value) if value.isdigit() and 2000 <= int(value) <= 2100 else timezone.localdate().year


def _amounts(figures: dict) -> dict:
    """The figures with their amounts written out once ("1,234.50"), as ``floatformat:"2g"`` does for
    both languages — a page of several hundred rows would spend most of its time formatting them."""
    figures["gmv_text"] = f"{figures['gmv']:,.2f}"
    figures["margin_text"] = f"{figures['margin']:,.2f}"
    return figures


def _figures_row(label, figures):
    return [label, figures["orders"], figures["gmv"], figures["margin"], figures["margin_rate"]]


@login_required
def policy_effect(request: HttpRequest) -> HttpResponse:
    permissions.require(request.user, "catalog.analysis")
    data = analysis.policy_effect(request.user, year=_year(request))
    if request.GET.get("export") == "xlsx":
        permissions.require(request.user, "catalog.export")
        head = [_("Orders"), _("GMV"), _("Margin"), _("Margin rate (%)")]
        rows = [[_("Sales policy"), *head]]
        rows += [_figures_row(p["name"], p) for p in data["policies"]]
        rows += [_figures_row(_("No policy (list price)"), data["none"]), []]
        rows += [
            [
                _("Month"),
                *(f"{_('Under a policy')} · {h}" for h in head),
                *(f"{_('No policy')} · {h}" for h in head),
            ]
        ]
        rows += [
            [f"{data['year']}-{m['month']:02d}", *_figures_row("", m["policy"])[1:], *_figures_row("", m["none"])[1:]]
            for m in data["months"]
        ]
        return export_rows(rows, fmt="xlsx", filename="policy-effect", sheet=_("Policy effect"))
    for figures in (*data["policies"], data["none"], *(m[k] for m in data["months"] for k in ("policy", "none"))):
        _amounts(figures)
    return render(
        request,
        "catalog/policy_effect.html",
        {
            "data": data,
            "lines_url": reverse("catalog:sold_lines"),
            "can_export": permissions.can(request.user, "catalog.export"),
        },
    )


@login_required
def business_analysis(request: HttpRequest) -> HttpResponse:
    permissions.require(request.user, "catalog.analysis")
    data = analysis.business_analysis(request.user, year=_year(request), by=request.GET.get("by", "product"))
    label = BY_LABELS[data["by"]]
    if request.GET.get("export") == "xlsx":
        permissions.require(request.user, "catalog.export")
        rows = [[str(label), _("Orders"), _("Quantity"), _("GMV"), _("Margin"), _("Margin rate (%)")]]
        rows += [
            [r["label"] or _("Not known"), r["orders"], r["quantity"], r["gmv"], r["margin"], r["margin_rate"]]
            for r in data["rows"]
        ]
        t = data["total"]
        rows += [[_("Total"), t["orders"], t["quantity"], t["gmv"], t["margin"], t["margin_rate"]]]
        return export_rows(rows, fmt="xlsx", filename="business-analysis", sheet=_("Business analysis"))
    for row in data["rows"]:
        _amounts(row)
    return render(
        request,
        "catalog/business_analysis.html",
        {
            "data": data,
            "lines_url": reverse("catalog:sold_lines"),
            "by_label": label,
            "dimensions": list(BY_LABELS.items()),
            "can_export": permissions.can(request.user, "catalog.export"),
        },
    )


class SoldLineListView(ScopedListView):
    """The drill-down: the order lines behind a figure of the policy effect or the business analysis."""

    table_class = SoldLineTable
    filterset_class = SoldLineFilter
    view_action = "catalog.analysis"
    export_action = "catalog.export"
    export_name = "order-lines"
    title = gettext_lazy("Order lines")
    card_fields = ("order", "sku", "price")

    def get(self, request, *args, **kwargs):
        # the heading and the XLSX name the figure the lines are behind, with a way back to it
        params, year = request.GET, _year(request)
        parts = [str(year)]
        if params.get("policy"):
            policy = params["policy"]
            if policy == "none":
                parts.append(_("No policy (list price)"))
            elif policy == "any":
                parts.append(_("Under a policy"))
            elif policy.isdigit():
                parts.append(SalesPolicy.objects.filter(pk=int(policy)).values_list("name", flat=True).first() or "")
            if params.get("month", "").isdigit() and 1 <= int(params["month"]) <= 12:
                parts[0] = f"{year}-{int(params['month']):02d}"
            self.back = (reverse("catalog:policy_effect") + f"?year={year}", _("Policy effect"))
        else:
            by = params.get("by", "")
            if by in BY_LABELS:
                parts.append(labelled(BY_LABELS[by], analysis.cell_label(by, params.get("key", "")) or _("Not known")))
                self.back = (reverse("catalog:analysis") + f"?year={year}&by={by}", _("Business analysis"))
            else:
                self.back = (reverse("catalog:analysis") + f"?year={year}", _("Business analysis"))
        parts = [p for p in parts if p]
        self.title = " · ".join([str(type(self).title), *parts])
        self.export_name = f"order-lines-{parts[0]}"
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["back_url"], context["back_label"] = self.back
        return context

    def get_queryset(self):
        params = self.request.GET
        lines = analysis.order_lines_for(self.request.user)
        year = _year(self.request)
        if params.get("policy"):
            month = params.get("month", "")
            lines = analysis.lines_of_policy(
                lines, policy=params["policy"], year=year, month=int(month) if month.isdigit() else None
            )
        else:
            lines = analysis.drill_down(
                analysis.in_year(lines, year), by=params.get("by", ""), key=params.get("key", "")
            )
        return lines.select_related("order", "order__customer").order_by("-order__placed_at", "-id")


urlpatterns = [
    path("policy-effect/", policy_effect, name="policy_effect"),
    path("analysis/", business_analysis, name="analysis"),
    path("analysis/lines/", SoldLineListView.as_view(), name="sold_lines"),
]
