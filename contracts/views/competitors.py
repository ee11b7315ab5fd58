"""竞品: the competitors with their win/loss figures, and the competitors of one opportunity."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _

from crm import permissions
from crm.errors import DomainError
from crm.ui import add_domain_error
from sales.models import Opportunity

from .. import selectors
from ..forms import CompetitorForm, QuoteForm
from ..models import Competitor
from ..services import competitors as services


@login_required
def competitor_list(request: HttpRequest) -> HttpResponse:
    permissions.require(request.user, "contracts.competitors")
    form = CompetitorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.add_competitor(**form.cleaned_data)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Competitor added."))
            return redirect("contracts:competitors")
    return render(
        request,
        "contracts/competitor_list.html",
        {"stats": selectors.competitor_stats(request.user), "form": form},
        status=400 if request.method == "POST" else 200,
    )


@login_required
def competitor_detail(request: HttpRequest, pk) -> HttpResponse:
    permissions.require(request.user, "contracts.competitors")
    competitor = Competitor.objects.filter(pk=pk).first()
    if competitor is None:
        raise Http404
    quotes = permissions.visible(
        request.user, competitor.quotes.select_related("opportunity__customer", "opportunity__stage")
    ).order_by("-id")[:100]
    return render(request, "contracts/competitor_detail.html", {"competitor": competitor, "quotes": quotes})


@login_required
def opportunity_competitors(request: HttpRequest, pk) -> HttpResponse:
    """The competitors of one opportunity: add a quote, mark the one it was lost to."""

    permissions.require(request.user, "sales.view")
    opportunity = (
        permissions.visible(request.user, Opportunity.objects.select_related("stage", "customer")).filter(pk=pk).first()
    )
    if opportunity is None:
        raise Http404
    form = QuoteForm(request.POST or None)
    if request.method == "POST":
        permissions.require(request.user, "sales.change")
        if form.is_valid():
            try:
                services.quote(
                    opportunity=opportunity,
                    competitor=form.cleaned_data["competitor"],
                    price=form.cleaned_data["price"],
                )
                if form.cleaned_data["lost_to"]:
                    services.mark_lost_to(opportunity=opportunity, competitor=form.cleaned_data["competitor"])
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, _("Competitor saved."))
                return redirect("contracts:opportunity_competitors", pk=opportunity.pk)
    return render(
        request,
        "contracts/opportunity_competitors.html",
        {
            "opportunity": opportunity,
            "quotes": opportunity.competitor_quotes.select_related("competitor"),
            "form": form,
        },
        status=400 if request.method == "POST" else 200,
    )


urlpatterns = [
    path("competitors/", competitor_list, name="competitors"),
    path("competitors/<int:pk>/", competitor_detail, name="competitor"),
    path("opportunities/<int:pk>/competitors/", opportunity_competitors, name="opportunity_competitors"),
]
