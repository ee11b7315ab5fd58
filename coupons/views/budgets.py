"""Budget pages: fiscal periods and accounts, allocation with history."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from crm import permissions

from .. import services
from ..forms import AccountForm, AllocateForm, PeriodForm
from ..models import FiscalPeriod
from ..selectors import accounts_for
from ..services.monitoring import open_alerts


@login_required
def budget_list(request):
    permissions.require(request.user, "coupons.view")
    accounts = accounts_for(request.user)
    alerts = open_alerts().filter(account__in=accounts).select_related("account")
    chart = {
        "tooltip": {"trigger": "axis"},
        "legend": {},
        "grid": {"left": 60, "right": 16, "top": 36, "bottom": 60},
        "xAxis": {"type": "category", "data": [str(a) for a in accounts], "axisLabel": {"rotate": 20}},
        "yAxis": {"type": "value"},
        "series": [
            {"name": _("used"), "type": "bar", "stack": "b", "data": [float(a.used) for a in accounts]},
            {"name": _("reserved"), "type": "bar", "stack": "b", "data": [float(a.reserved) for a in accounts]},
            {"name": _("Balance"), "type": "bar", "stack": "b", "data": [float(a.balance) for a in accounts]},
        ],
    }
    return render(
        request,
        "coupons/budgets.html",
        {
            "accounts": accounts,
            "periods": FiscalPeriod.objects.all(),
            "alerts": alerts,
            "chart": chart,
            "can_manage": permissions.can(request.user, "coupons.manage"),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def period_form(request):
    permissions.require(request.user, "coupons.manage")
    form = PeriodForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Fiscal period saved."))
        return redirect("coupons:budgets")
    return render(
        request,
        "crm/admin/form.html",
        {"form": form, "title": _("New fiscal period"), "cancel_url": reverse("coupons:budgets")},
    )


@login_required
@require_http_methods(["GET", "POST"])
def account_form(request):
    permissions.require(request.user, "coupons.manage")
    form = AccountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        account = form.save()
        messages.success(request, _("Budget account created. Allocate its budget now."))
        return redirect(account)
    return render(
        request,
        "crm/admin/form.html",
        {"form": form, "title": _("New budget account"), "cancel_url": reverse("coupons:budgets")},
    )


@login_required
def budget_detail(request, pk):
    permissions.require(request.user, "coupons.view")
    account = get_object_or_404(accounts_for(request.user), pk=pk)
    return render(
        request,
        "coupons/budget_detail.html",
        {
            "account": account,
            "allocations": account.allocations.select_related("by")[:50],
            "campaigns": account.campaigns.all()[:50],
            "form": AllocateForm(),
            "can_manage": permissions.can(request.user, "coupons.manage"),
        },
    )


@login_required
@require_POST
def budget_allocate(request, pk):
    permissions.require(request.user, "coupons.manage")
    account = get_object_or_404(accounts_for(request.user), pk=pk)
    form = AllocateForm(request.POST)
    if form.is_valid():
        try:
            services.allocate(actor=request.user, account=account, **form.cleaned_data)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Budget changed by ¥%(amount)s.") % form.cleaned_data)
    else:
        messages.error(request, _("Enter an amount."))
    return redirect(account)


urlpatterns = [
    path("budgets/", budget_list, name="budgets"),
    path("budgets/periods/new/", period_form, name="period_create"),
    path("budgets/new/", account_form, name="budget_create"),
    path("budgets/<int:pk>/", budget_detail, name="budget"),
    path("budgets/<int:pk>/allocate/", budget_allocate, name="budget_allocate"),
]
