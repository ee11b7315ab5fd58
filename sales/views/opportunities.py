"""Opportunity pages."""
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render
from django.urls import path

from crm import permissions
from crm.ui import history_for

from ..models import Opportunity


@login_required
def opportunity_detail(request, pk):
    permissions.require(request.user, "sales.view")
    opportunity = get_object_or_404(
        permissions.visible(request.user, Opportunity.objects.select_related("customer", "owner", "stage")), pk=pk)
    return render(request, "sales/opportunity_detail.html", {
        "opportunity": opportunity,
        "stage_history": opportunity.stage_history.select_related("stage", "by"),
        "approvals": opportunity.approvals.select_related("stage", "requested_by", "decided_by"),
        "history": history_for(opportunity),
    })


urlpatterns = [
    path("opportunities/<int:pk>/", opportunity_detail, name="opportunity"),
]
