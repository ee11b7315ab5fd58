"""Rebate plan pages (返点方案): the plans with their tiers."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _

from crm import permissions

from ..forms import RebatePlanForm, tier_formset
from ..models import RebatePlan


@login_required
def plan_list(request: HttpRequest) -> HttpResponse:
    permissions.require(request.user, "partners.configure")
    plans = RebatePlan.objects.prefetch_related("tiers")[:200]
    return render(request, "partners/rebate_list.html", {"plans": plans, "title": _("Rebate plans")})


@login_required
def plan_form(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    permissions.require(request.user, "partners.configure")
    plan = get_object_or_404(RebatePlan, pk=pk) if pk else RebatePlan()
    form = RebatePlanForm(request.POST or None, instance=plan)
    tiers = tier_formset()(request.POST or None, instance=plan, prefix="tiers")
    if request.method == "POST" and form.is_valid() and tiers.is_valid():
        with transaction.atomic():
            plan = form.save()
            tiers.instance = plan
            tiers.save()
        messages.success(request, _("Rebate plan saved."))
        return redirect("partners:rebates")
    return render(
        request,
        "partners/rebate_form.html",
        {"form": form, "tiers": tiers, "title": _("Edit rebate plan") if pk else _("New rebate plan")},
        status=422 if request.method == "POST" else 200,
    )


urlpatterns = [
    path("rebates/", plan_list, name="rebates"),
    path("rebates/new/", plan_form, name="rebate_create"),
    path("rebates/<int:pk>/", plan_form, name="rebate_edit"),
]
