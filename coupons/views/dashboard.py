"""看板 · 券与活动: the managers' coupons and campaigns dashboard (budget use against target GMV,
claim and redemption rates, subsidy per GMV, open alerts, campaign ROI ranking). Filters live in the
URL; every chart drills down to the records behind it; every table exports to XLSX
(``?export=xlsx&table=<name>``)."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from crm import permissions
from crm.db_router import reads_from_replica
from crm.ui import export_rows

from ..forms.dashboard import DashboardFilter
from ..models import CHANNELS
from ..services import dashboard as board

TABLES = ("budgets", "departments", "batches", "alerts", "campaigns")
CHART_BATCHES = 20  # batches shown in the per-batch charts (the table has them all)
CHART_CAMPAIGNS = 15


def _url_maker(name):
    """pk -> URL of ``name`` without a reverse() per row (a page has hundreds of rows)."""
    template = reverse(name, args=[987654321])
    return lambda pk: template.replace("987654321", str(pk))


def _add_urls(data):
    budget, batch, campaign = _url_maker("coupons:budget"), _url_maker("coupons:batch"), _url_maker("coupons:campaign")
    listing = reverse("coupons:campaigns")
    for r in data.get("budgets", ()):
        r["url"] = budget(r["id"])
    for r in data.get("departments", ()):
        r["url"] = f"{listing}?{urlencode({'department': r['id']})}"
    for r in data.get("batches", ()):
        r["url"], r["campaign_url"] = batch(r["id"]), campaign(r["campaign_id"])
    for r in data.get("alerts", ()):
        r["url"] = batch(r["batch_id"]) if r["batch_id"] else budget(r["account_id"]) if r["account_id"] else ""
    marketing = _url_maker("marketing:campaign")
    for r in data.get("campaigns", ()):
        r["url"] = marketing(r["id"])
    return data


def _toolbox(name):
    return {"right": 8, "feature": {"saveAsImage": {"title": _("Save as PNG"), "name": name, "pixelRatio": 2}}}


def _num(value):
    return None if value is None else float(value)


def _charts(data):
    """ECharts options (readable, translated labels) with the URL behind each bar."""
    charts = {}
    budgets = data["budgets"]
    if budgets:
        labels = [f"{r['department']} · {r['period']}" for r in budgets]
        urls = [r["url"] for r in budgets]
        charts["budget_use"] = {
            "id": "chart-budget-use",
            "title": _("Budget use by department"),
            "drill": urls,
            "option": {
                "tooltip": {"trigger": "axis"},
                "legend": {"bottom": 0},
                "toolbox": _toolbox("budget-use"),
                "grid": {"left": 72, "right": 24, "top": 36, "bottom": 72, "containLabel": True},
                "xAxis": {"type": "category", "data": labels, "axisLabel": {"interval": 0, "rotate": 20}},
                "yAxis": {"type": "value", "name": "¥"},
                "series": [
                    {"name": _("Used"), "type": "bar", "stack": "budget", "data": [_num(r["used"]) for r in budgets]},
                    {
                        "name": _("Reserved"),
                        "type": "bar",
                        "stack": "budget",
                        "data": [_num(r["reserved"]) for r in budgets],
                    },
                    {
                        "name": _("Balance"),
                        "type": "bar",
                        "stack": "budget",
                        "data": [_num(r["balance"]) for r in budgets],
                    },
                ],
            },
        }
        charts["budget_gmv"] = {
            "id": "chart-budget-gmv",
            "title": _("GMV produced against target GMV"),
            "drill": urls,
            "option": {
                "tooltip": {"trigger": "axis"},
                "legend": {"bottom": 0},
                "toolbox": _toolbox("gmv-target"),
                "grid": {"left": 72, "right": 56, "top": 36, "bottom": 72, "containLabel": True},
                "xAxis": {"type": "category", "data": labels, "axisLabel": {"interval": 0, "rotate": 20}},
                "yAxis": [{"type": "value", "name": "¥"}, {"type": "value", "name": "%", "splitLine": {"show": False}}],
                "series": [
                    {"name": _("GMV produced"), "type": "bar", "data": [_num(r["gmv"]) for r in budgets]},
                    {"name": _("Target GMV"), "type": "bar", "data": [_num(r["target_gmv"]) for r in budgets]},
                    {
                        "name": _("% of target"),
                        "type": "line",
                        "yAxisIndex": 1,
                        "data": [r["target_share"] for r in budgets],
                    },
                ],
            },
        }
    departments = data["departments"]
    if departments:
        labels = [r["department"] for r in departments]
        urls = [r["url"] for r in departments]
        charts["department_rates"] = {
            "id": "chart-department-rates",
            "title": _("Claim and redemption rates by department"),
            "drill": urls,
            "option": {
                "tooltip": {"trigger": "axis"},
                "legend": {"bottom": 0},
                "toolbox": _toolbox("rates-by-department"),
                "grid": {"left": 56, "right": 24, "top": 36, "bottom": 56, "containLabel": True},
                "xAxis": {"type": "category", "data": labels},
                "yAxis": {"type": "value", "name": "%"},
                "series": [
                    {
                        "name": _("Claim rate (claimed / offered)"),
                        "type": "bar",
                        "data": [r["claim_rate"] for r in departments],
                    },
                    {
                        "name": _("Redemption rate (redeemed / claimed)"),
                        "type": "bar",
                        "data": [r["redemption_rate"] for r in departments],
                    },
                ],
            },
        }
        charts["department_subsidy"] = {
            "id": "chart-department-subsidy",
            "title": _("Subsidy per ¥ of GMV by department"),
            "drill": urls,
            "option": {
                "tooltip": {"trigger": "axis"},
                "legend": {"bottom": 0},
                "toolbox": _toolbox("subsidy-by-department"),
                "grid": {"left": 56, "right": 56, "top": 36, "bottom": 56, "containLabel": True},
                "xAxis": {"type": "category", "data": labels},
                "yAxis": [{"type": "value", "name": "¥"}, {"type": "value", "splitLine": {"show": False}}],
                "series": [
                    {"name": _("Subsidy (¥)"), "type": "bar", "data": [_num(r["subsidy"]) for r in departments]},
                    {"name": _("GMV (¥)"), "type": "bar", "data": [_num(r["gmv"]) for r in departments]},
                    {
                        "name": _("Subsidy per ¥ of GMV"),
                        "type": "line",
                        "yAxisIndex": 1,
                        "data": [_num(r["subsidy_per_gmv"]) for r in departments],
                    },
                ],
            },
        }
    batches = [r for r in data["batches"] if r["claimed"] or r["redemptions"]][:CHART_BATCHES]
    if batches:
        labels = [r["name"] if len(r["name"]) <= 16 else r["name"][:15] + "…" for r in batches]
        urls = [r["url"] for r in batches]
        charts["batch_rates"] = {
            "id": "chart-batch-rates",
            "title": _("Claim and redemption rates by batch"),
            "drill": urls,
            "option": {
                "tooltip": {"trigger": "axis"},
                "legend": {"bottom": 0},
                "toolbox": _toolbox("rates-by-batch"),
                "grid": {"left": 56, "right": 24, "top": 36, "bottom": 72, "containLabel": True},
                "xAxis": {"type": "category", "data": labels, "axisLabel": {"interval": 0, "rotate": 30}},
                "yAxis": {"type": "value", "name": "%"},
                "series": [
                    {
                        "name": _("Claim rate (claimed / offered)"),
                        "type": "bar",
                        "data": [r["claim_rate"] for r in batches],
                    },
                    {
                        "name": _("Redemption rate (redeemed / claimed)"),
                        "type": "bar",
                        "data": [r["redemption_rate"] for r in batches],
                    },
                ],
            },
        }
        charts["batch_subsidy"] = {
            "id": "chart-batch-subsidy",
            "title": _("Subsidy per ¥ of GMV by batch"),
            "drill": urls,
            "option": {
                "tooltip": {"trigger": "axis"},
                "toolbox": _toolbox("subsidy-by-batch"),
                "grid": {"left": 56, "right": 24, "top": 36, "bottom": 72, "containLabel": True},
                "xAxis": {"type": "category", "data": labels, "axisLabel": {"interval": 0, "rotate": 30}},
                "yAxis": {"type": "value"},
                "series": [
                    {
                        "name": _("Subsidy per ¥ of GMV"),
                        "type": "bar",
                        "data": [_num(r["subsidy_per_gmv"]) for r in batches],
                    }
                ],
            },
        }
    ranked = [r for r in data["campaigns"] if r["roi"] is not None][:CHART_CAMPAIGNS]
    if ranked:
        ranked = list(reversed(ranked))  # best on top of a horizontal bar chart
        charts["campaign_roi"] = {
            "id": "chart-campaign-roi",
            "title": _("Campaign ROI ranking"),
            "drill": [r["url"] for r in ranked],
            "option": {
                "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
                "toolbox": _toolbox("campaign-roi"),
                "grid": {"left": 16, "right": 32, "top": 36, "bottom": 24, "containLabel": True},
                "xAxis": {"type": "value", "name": _("ROI")},
                "yAxis": {"type": "category", "data": [r["name"] for r in ranked]},
                "series": [
                    {
                        "name": _("ROI"),
                        "type": "bar",
                        "label": {"show": True, "position": "right"},
                        "data": [_num(r["roi"]) for r in ranked],
                    }
                ],
            },
        }
    for chart in charts.values():
        chart["drill_id"] = f"{chart['id']}-drill"
    return charts


def _export(table, data):
    if table == "budgets":
        header = [
            _("department"),
            _("fiscal period"),
            _("Total (¥)"),
            _("Used (¥)"),
            _("Reserved (¥)"),
            _("Balance (¥)"),
            _("Used %"),
            _("GMV produced (¥)"),
            _("Target GMV (¥)"),
            _("% of target"),
            _("GMV still to reach (¥)"),
        ]
        rows = [
            [
                r["department"],
                r["period"],
                r["total"],
                r["used"],
                r["reserved"],
                r["balance"],
                r["used_share"],
                r["gmv"],
                r["target_gmv"],
                r["target_share"],
                r["gmv_to_reach"],
            ]
            for r in data["budgets"]
        ]
    elif table in ("departments", "batches"):
        header = (
            [_("department"), _("Batches")]
            if table == "departments"
            else [_("batch code"), _("Batch"), _("campaign"), _("department")]
        )
        header += [
            _("Offered"),
            _("Claimed"),
            _("Claim rate %"),
            _("Redeemed (of those claimed)"),
            _("Redemption rate %"),
            _("Redemptions"),
            _("Subsidy (¥)"),
            _("GMV (¥)"),
            _("Subsidy per ¥ of GMV"),
        ]
        rows = []
        for r in data[table]:
            first = (
                [r["department"], r["batches"]]
                if table == "departments"
                else [r["code"], r["name"], r["campaign"], r["department"]]
            )
            rows.append(
                first
                + [
                    r["offered"],
                    r["claimed"],
                    r["claim_rate"],
                    r["redeemed"],
                    r["redemption_rate"],
                    r["redemptions"],
                    r["subsidy"],
                    r["gmv"],
                    r["subsidy_per_gmv"],
                ]
            )
    elif table == "alerts":
        header = [_("kind"), _("message"), _("day"), _("raised at")]
        rows = [[r["kind_label"], r["message"], r["day"], r["created_at"]] for r in data["alerts"]]
    else:
        header = [
            _("Rank"),
            _("campaign"),
            _("department"),
            _("status"),
            _("Reached"),
            _("Leads"),
            _("Deals"),
            _("GMV (¥)"),
            _("Cost (¥)"),
            _("ROI"),
            _("Cost per deal (¥)"),
            _("Figures as of"),
        ]
        rows = [
            [
                r["rank"],
                r["name"],
                r["department"],
                r["status"],
                r["reached"],
                r["leads"],
                r["deals"],
                r["gmv"],
                r["cost"],
                r["roi"],
                r["cost_per_deal"],
                r["refreshed_at"],
            ]
            for r in data["campaigns"]
        ]
    return export_rows([header] + rows, fmt="xlsx", filename=f"coupons-dashboard-{table}")


def _table_data(user, filters, table):
    """Only what one exported table needs."""
    if table == "budgets":
        return {"budgets": board.budget_rows(user, filters)}
    if table in ("departments", "batches"):
        batch_rows, department_rows, _totals, _at = board.coupon_rows(user, filters)
        return {"batches": batch_rows, "departments": department_rows}
    if table == "alerts":
        return {"alerts": board.alert_rows(user, filters)}
    return {"campaigns": board.campaign_rows(user, filters)}


@login_required
@reads_from_replica
def dashboard(request):
    permissions.require(request.user, "coupons.view")
    form = DashboardFilter(request.GET or None, user=request.user)
    filters = form.filters()
    if request.GET.get("export"):
        table = request.GET.get("table", "")
        if request.GET["export"] != "xlsx" or table not in TABLES:
            raise Http404
        return _export(table, _table_data(request.user, filters, table))
    if not form.is_bound:
        form = DashboardFilter(
            initial={"period": "month", "start": filters.start, "end": filters.end}, user=request.user
        )
    data = _add_urls(board.dashboard(request.user, filters))
    params = request.GET.copy()
    for key in ("export", "table"):
        params.pop(key, None)
    query = params.urlencode()
    drill_params = {"department": filters.department.pk} if filters.department else {}
    return render(
        request,
        "coupons/dashboard/dashboard.html",
        {
            "form": form,
            "filters": filters,
            "data": data,
            "charts": _charts(data),
            "query": query,
            "channel_label": dict(CHANNELS).get(filters.channel, ""),
            "campaigns_url": f"{reverse('coupons:campaigns')}?{urlencode(drill_params)}"
            if drill_params
            else reverse("coupons:campaigns"),
            "now": timezone.now(),
            "cache_minutes": board.FIGURES_CACHE_SECONDS // 60,
            "can_view_marketing": permissions.can(request.user, "marketing.view"),
            "today_included": filters.start <= timezone.localdate() <= filters.end,
        },
    )


urlpatterns = [path("dashboard/", dashboard, name="dashboard")]
