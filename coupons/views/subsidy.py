"""补贴策略 pages: upload a file of merchants or products, see the computed plan (table, chart,
total against the budget), save it as a numbered version, compare versions, and feed a version's
amounts into a new batch."""

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count, Max
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from crm import permissions
from crm.ui import add_domain_error

from ..forms import SubsidyPlanForm, UsePlanForm
from ..models import SubsidyPlan
from ..selectors import campaigns_for, plans_for, versions_for
from ..services import subsidy_plans


def _chart(series, low, high, *, title=""):
    """A histogram of the subsidies: ``series`` is [(name, amounts)]."""
    labels = subsidy_plans.histogram([], low, high)[0]
    return {
        "tooltip": {"trigger": "axis"},
        "legend": {},
        "title": {"text": title, "left": "center", "textStyle": {"fontSize": 13}},
        "grid": {"left": 48, "right": 16, "top": 48, "bottom": 48},
        "xAxis": {"type": "category", "data": labels, "name": "¥"},
        "yAxis": {"type": "value", "name": _("rows"), "minInterval": 1},
        "series": [
            {"name": name, "type": "bar", "data": subsidy_plans.histogram(amounts, low, high)[1]}
            for name, amounts in series
        ],
    }


@login_required
def plan_list(request):
    permissions.require(request.user, "coupons.view")
    plans = plans_for(request.user).annotate(version_count=Count("versions"), latest=Max("versions__number"))[:200]
    return render(
        request,
        "coupons/subsidy/plans.html",
        {"plans": plans, "can_manage": permissions.can(request.user, "coupons.manage")},
    )


def _preview_context(form):
    data = form.cleaned_data
    result = data["result"]
    budget = data.get("budget")
    fit = None
    if budget is not None and result.total > budget:
        fit = subsidy_plans.subsidy.fit_to_budget(
            data["rows"],
            a=data["a"],
            b=data["b"],
            t=data["t"],
            weights=data["weights"],
            rank=data["rank"],
            budget=budget,
        )
    rows = [
        {"id": r["id"], "scores": [r["scores"][c] for c in data["weights"]], "y": r["y"], "x": r["x"]}
        for r in result.rows
    ]
    return {
        "preview": {
            "rows": rows,
            "total": result.total,
            "warnings": result.warnings,
            "budget": budget,
            "fit": fit,
            "over": budget is not None and result.total > budget,
            "columns": list(data["weights"]),
        },
        "chart": _chart([(_("subsidy"), [r["x"] for r in result.rows])], data["a"], data["b"]),
    }


@login_required
@require_http_methods(["GET", "POST"])
def plan_upload(request, pk=None):
    """New plan (no pk) or a new version of plan ``pk`` (optionally starting from ``?from=<number>``)."""
    permissions.require(request.user, "coupons.manage")
    plan = get_object_or_404(plans_for(request.user), pk=pk) if pk else None
    context = {"plan": plan}
    if request.method == "POST":
        form = SubsidyPlanForm(request.POST, request.FILES, plan=plan)
        valid = form.is_valid()
        if form.cleaned_data.get("packed"):  # keep the uploaded rows for the next submit
            form.data = form.data.copy()
            form.data["data"] = form.cleaned_data["packed"]
        if valid:
            if request.POST.get("action") == "save":
                data = form.cleaned_data
                try:
                    version = subsidy_plans.save_version(
                        actor=request.user,
                        plan=plan,
                        name=data.get("name", ""),
                        subject=data.get("subject") or SubsidyPlan.Subject.PRODUCTS,
                        columns=data["columns"],
                        rows=data["rows"],
                        a=data["a"],
                        b=data["b"],
                        t=data["t"],
                        weights=data["weights"],
                        rank=data["rank"],
                        budget=data.get("budget"),
                        source_name=data["source"],
                        note=data.get("note", ""),
                    )
                except ValidationError as exc:
                    add_domain_error(form, exc)
                else:
                    messages.success(request, _("Saved as version %(n)d.") % {"n": version.number})
                    return redirect(version)
            if form.is_valid():
                context.update(_preview_context(form))
    else:
        initial = {"t": 1.0}
        source = (
            versions_for(request.user).filter(plan=plan, number=request.GET.get("from")).first()
            if plan and request.GET.get("from", "").isdigit()
            else None
        )
        if source is not None:
            initial.update(
                a=source.a,
                b=source.b,
                t=source.t,
                rank=source.rank,
                budget=source.budget,
                weights=",".join(f"{k}={v:g}" for k, v in source.weights.items()),
                data=SubsidyPlanForm.pack(source.columns, source.input_rows, source.source_name),
            )
            context["source"] = source
        form = SubsidyPlanForm(initial=initial, plan=plan)
    context["form"] = form
    context["has_data"] = bool(form["data"].value())
    return render(request, "coupons/subsidy/upload.html", context)


@login_required
def plan_detail(request, pk):
    permissions.require(request.user, "coupons.view")
    plan = get_object_or_404(plans_for(request.user), pk=pk)
    versions = list(plan.versions.select_related("created_by").defer("input_rows", "result"))
    return render(
        request,
        "coupons/subsidy/plan.html",
        {"plan": plan, "versions": versions, "can_manage": permissions.can(request.user, "coupons.manage")},
    )


def _version(request, pk, number):
    version = versions_for(request.user).filter(plan_id=pk, number=number).first()
    if version is None:
        raise Http404
    return version


@login_required
def version_detail(request, pk, number):
    permissions.require(request.user, "coupons.view")
    version = _version(request, pk, number)
    columns = list(version.weights)
    rows = [
        {"id": r["id"], "scores": [r["scores"].get(c) for c in columns], "y": r["y"], "x": Decimal(r["x"])}
        for r in version.result
    ]
    can_manage = permissions.can(request.user, "coupons.manage")
    use_form = None
    if can_manage:
        use_form = UsePlanForm()
        use_form.fields["campaign"].queryset = campaigns_for(request.user)
        use_form.fields["row"].choices = [("", _("the whole plan (highest subsidy)"))] + [
            (r["id"], f"{r['id']} · ¥{r['x']}") for r in version.result
        ]
    return render(
        request,
        "coupons/subsidy/version.html",
        {
            "version": version,
            "plan": version.plan,
            "columns": columns,
            "rows": rows,
            "fit": subsidy_plans.fit(version),
            "over": version.budget is not None and version.total > version.budget,
            "chart": _chart([(_("subsidy"), version.amounts())], version.a, version.b),
            "use_form": use_form,
            "can_manage": can_manage,
            "batches": version.batches.select_related("campaign")[:20],
        },
    )


@login_required
def version_use(request, pk, number):
    """Open the new-batch form of the chosen campaign, pre-filled from the version."""
    permissions.require(request.user, "coupons.manage")
    version = _version(request, pk, number)
    form = UsePlanForm(request.GET)
    form.fields["campaign"].queryset = campaigns_for(request.user)
    form.fields["row"].choices = [("", "")] + [(r["id"], r["id"]) for r in version.result]
    if not form.is_valid():
        messages.error(request, _("Choose a campaign."))
        return redirect(version)
    query = {"subsidy_version": version.pk}
    if form.cleaned_data.get("row"):
        query["row"] = form.cleaned_data["row"]
    return redirect(reverse("coupons:batch_create", args=[form.cleaned_data["campaign"].pk]) + "?" + urlencode(query))


@login_required
def version_compare(request, pk):
    permissions.require(request.user, "coupons.view")
    plan = get_object_or_404(plans_for(request.user), pk=pk)
    numbers = sorted(plan.versions.values_list("number", flat=True))
    try:
        left_n = int(request.GET.get("left") or (numbers[-2] if len(numbers) > 1 else numbers[0]))
        right_n = int(request.GET.get("right") or numbers[-1])
    except (ValueError, IndexError) as exc:
        raise Http404 from exc
    left, right = _version(request, pk, left_n), _version(request, pk, right_n)
    low, high = min(left.a, right.a), max(left.b, right.b)
    return render(
        request,
        "coupons/subsidy/compare.html",
        {
            "plan": plan,
            "left": left,
            "right": right,
            "numbers": numbers,
            "rows": subsidy_plans.compare(left, right),
            "chart": _chart([(f"v{left.number}", left.amounts()), (f"v{right.number}", right.amounts())], low, high),
            "change": right.total - left.total,
        },
    )


urlpatterns = [
    path("subsidy/", plan_list, name="subsidy_plans"),
    path("subsidy/new/", plan_upload, name="subsidy_plan_create"),
    path("subsidy/<int:pk>/", plan_detail, name="subsidy_plan"),
    path("subsidy/<int:pk>/new/", plan_upload, name="subsidy_version_create"),
    path("subsidy/<int:pk>/compare/", version_compare, name="subsidy_compare"),
    path("subsidy/<int:pk>/v<int:number>/", version_detail, name="subsidy_version"),
    path("subsidy/<int:pk>/v<int:number>/use/", version_use, name="subsidy_use"),
]
