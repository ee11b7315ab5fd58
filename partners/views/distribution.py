"""线索分配规则: the admin's rule that hands new leads to partners by grade, with today's counts."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _

from crm import permissions

from .. import selectors
from ..forms import DistributionRuleForm
from ..models import LeadDistributionRule
from ..services import distribution


@login_required
def rule(request: HttpRequest) -> HttpResponse:
    permissions.require(request.user, "partners.distribute")
    form = DistributionRuleForm(request.POST or None, instance=LeadDistributionRule.current())
    if request.method == "POST" and form.is_valid():
        distribution.save_rule(rule=form.save(commit=False), actor=request.user)
        messages.success(request, _("Lead distribution rule saved."))
        return redirect("partners:distribution")
    return render(
        request,
        "partners/distribution.html",
        {
            "form": form,
            "today": selectors.distribution_today(request.user),
            "recent": selectors.handovers_for(request.user)[:20],
            "title": _("Lead distribution to partners"),
        },
        status=422 if form.errors else 200,
    )


urlpatterns = [path("distribution/", rule, name="distribution")]
