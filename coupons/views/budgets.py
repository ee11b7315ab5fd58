"""Budget pages."""
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render
from django.urls import path

from crm import permissions

from ..models import BudgetAccount


@login_required
def budget_detail(request, pk):
    permissions.require(request.user, "coupons.view")
    account = get_object_or_404(permissions.visible(request.user, BudgetAccount.objects.select_related(
        "period", "department")), pk=pk)
    return render(request, "coupons/budget_detail.html", {
        "account": account, "allocations": account.allocations.select_related("by")[:50],
        "campaigns": account.campaigns.all()[:50],
    })


urlpatterns = [
    path("budgets/<int:pk>/", budget_detail, name="budget"),
]
