"""Lead pages."""
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render
from django.urls import path

from crm import permissions
from crm.ui import history_for

from ..models import Lead


@login_required
def lead_detail(request, pk):
    permissions.require(request.user, "sales.view")
    lead = get_object_or_404(permissions.visible(request.user, Lead.objects.select_related("owner", "department")),
                             pk=pk)
    return render(request, "sales/lead_detail.html", {
        "lead": lead,
        "followups": lead.followups.select_related("created_by")[:50],
        "moves": lead.moves.select_related("from_owner", "to_owner", "by")[:50],
        "history": history_for(lead),
    })


urlpatterns = [
    path("leads/<int:pk>/", lead_detail, name="lead"),
]
