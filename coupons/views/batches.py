"""Campaign and batch pages."""
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render
from django.urls import path

from crm import permissions

from ..models import Batch, Campaign
from ..services.batches import max_subsidy


@login_required
def campaign_detail(request, pk):
    permissions.require(request.user, "coupons.view")
    campaign = get_object_or_404(permissions.visible(request.user, Campaign.objects.select_related(
        "budget_account", "owner")), pk=pk)
    return render(request, "coupons/campaign_detail.html", {"campaign": campaign,
                                                            "batches": campaign.batches.all()})


@login_required
def batch_detail(request, pk):
    permissions.require(request.user, "coupons.view")
    batch = get_object_or_404(permissions.visible(request.user, Batch.objects.select_related(
        "campaign", "campaign__budget_account")), pk=pk)
    return render(request, "coupons/batch_detail.html", {"batch": batch, "max_subsidy": max_subsidy(batch)})


urlpatterns = [
    path("campaigns/<int:pk>/", campaign_detail, name="campaign"),
    path("batches/<int:pk>/", batch_detail, name="batch"),
]
