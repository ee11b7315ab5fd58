"""会员配置: the tiers, earning rules and points offers, kept by admins (``members.configure``).
Each page lists its rows with the form that adds one; a row opens its own edit page; deleting
asks first. The rules are the services' (``members.services.configuration``)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from catalog.models import SalesPolicy
from crm import permissions
from crm.errors import DomainError
from crm.ui import add_domain_error

from ..forms import EarnRuleForm, OfferForm, TierForm
from ..models import EarnRule, PointsOffer, Tier
from ..services import configuration

CONFIGURE = "members.configure"


def _status(request: HttpRequest) -> int:
    return 400 if request.method == "POST" else 200


# --- tiers ---------------------------------------------------------------------------------------


def _tier_data(form: TierForm) -> configuration.TierData:
    data = form.cleaned_data
    return configuration.TierData(
        name=data["name"],
        position=data["position"],
        min_spend=data["min_spend"],
        min_points=data["min_points"],
        points_per_yuan=data["points_per_yuan"],
        benefit_sku=data["benefit_sku"],
        benefit_quantity=data["benefit_quantity"],
    )


def tier_rows():
    """The tiers in order, each with its member count and the number of sales policies for it.
    One query."""
    policies = (
        SalesPolicy.objects.filter(member_tier=OuterRef("name"))
        .order_by()
        .values("member_tier")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        Tier.objects.select_related("benefit_sku")
        .annotate(
            member_count=Count("members", distinct=True),
            policy_count=Coalesce(Subquery(policies, output_field=IntegerField()), 0),
        )
        .order_by("position", "id")
    )


@login_required
@require_http_methods(["GET", "POST"])
def tiers(request: HttpRequest) -> HttpResponse:
    """The tiers in order, and the form that adds one."""
    permissions.require(request.user, CONFIGURE)
    form = TierForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            tier = configuration.add_tier(data=_tier_data(form), actor=request.user)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Tier %(name)s added.") % {"name": tier.name})
            return redirect("members:tiers")
    return render(request, "members/settings/tiers.html", {"rows": tier_rows(), "form": form}, status=_status(request))


@login_required
@require_http_methods(["GET", "POST"])
def tier_edit(request: HttpRequest, pk: int) -> HttpResponse:
    permissions.require(request.user, CONFIGURE)
    tier = get_object_or_404(Tier, pk=pk)
    form = TierForm(
        request.POST or None,
        initial={
            "name": tier.name,
            "position": tier.position,
            "min_spend": tier.min_spend,
            "min_points": tier.min_points,
            "points_per_yuan": tier.points_per_yuan,
            "benefit_sku": tier.benefit_sku_id,
            "benefit_quantity": tier.benefit_quantity,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            tier, renamed = configuration.change_tier(tier=tier, data=_tier_data(form), actor=request.user)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            if renamed:
                messages.success(
                    request,
                    _("Tier %(name)s saved; %(count)s sales policies now name it.")
                    % {"name": tier.name, "count": f"{renamed:,}"},
                )
            else:
                messages.success(request, _("Tier %(name)s saved.") % {"name": tier.name})
            return redirect("members:tiers")
    return render(
        request,
        "members/settings/form.html",
        {
            "form": form,
            "title": _("Edit the tier %(name)s") % {"name": tier.name},
            "back": "members:tiers",
            "back_label": _("Member tiers"),
            "note": _("Renaming the tier renames it on its %(count)s sales policies too.")
            % {"count": f"{configuration.tier_usage(tier)['policies']:,}"},
        },
        status=_status(request),
    )


@login_required
@require_POST
def tier_delete(request: HttpRequest, pk: int) -> HttpResponse:
    permissions.require(request.user, CONFIGURE)
    tier = get_object_or_404(Tier, pk=pk)
    try:
        configuration.remove_tier(tier=tier, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Tier %(name)s deleted.") % {"name": tier.name})
    return redirect("members:tiers")


@login_required
@require_POST
def tier_recompute(request: HttpRequest) -> HttpResponse:
    """立即重新计算: the nightly tier review, queued now."""
    permissions.require(request.user, CONFIGURE)
    configuration.queue_tier_recompute()
    messages.success(request, _("Every member's tier is being recomputed; this takes a few minutes."))
    return redirect("members:tiers")


# --- earning rules -------------------------------------------------------------------------------


def _rule_data(form: EarnRuleForm) -> configuration.EarnRuleData:
    data = form.cleaned_data
    return configuration.EarnRuleData(
        source=data["source"],
        category=data.get("category") or "",
        tier=data.get("tier"),
        points_per_yuan=data.get("points_per_yuan") or 0,
        points=data.get("points") or 0,
    )


@login_required
@require_http_methods(["GET", "POST"])
def earn_rules(request: HttpRequest) -> HttpResponse:
    permissions.require(request.user, CONFIGURE)
    form = EarnRuleForm(request.POST or None, initial={"source": EarnRule.Source.ORDER})
    if request.method == "POST" and form.is_valid():
        try:
            configuration.add_earn_rule(data=_rule_data(form), actor=request.user)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Earning rule added."))
            return redirect("members:earn_rules")
    rows = EarnRule.objects.select_related("tier").order_by("source", "category", "tier__position", "id")
    return render(request, "members/settings/earn_rules.html", {"rows": rows, "form": form}, status=_status(request))


@login_required
@require_http_methods(["GET", "POST"])
def earn_rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    permissions.require(request.user, CONFIGURE)
    rule = get_object_or_404(EarnRule, pk=pk)
    form = EarnRuleForm(
        request.POST or None,
        initial={
            "source": rule.source,
            "category": rule.category,
            "tier": rule.tier_id,
            "points_per_yuan": rule.points_per_yuan,
            "points": rule.points,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            configuration.change_earn_rule(rule=rule, data=_rule_data(form), actor=request.user)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Earning rule saved."))
            return redirect("members:earn_rules")
    return render(
        request,
        "members/settings/form.html",
        {
            "form": form,
            "title": _("Edit an earning rule"),
            "back": "members:earn_rules",
            "back_label": _("Earning rules"),
            "note": _("Points already earned stay; the rule applies from the next order, lesson or check-in."),
        },
        status=_status(request),
    )


@login_required
@require_POST
def earn_rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    permissions.require(request.user, CONFIGURE)
    rule = get_object_or_404(EarnRule, pk=pk)
    configuration.remove_earn_rule(rule=rule, actor=request.user)
    messages.success(request, _("Earning rule deleted."))
    return redirect("members:earn_rules")


# --- points offers -------------------------------------------------------------------------------


def _offer_data(form: OfferForm) -> configuration.OfferData:
    data = form.cleaned_data
    return configuration.OfferData(batch=data["batch"], points=data["points"], is_active=data["is_active"])


@login_required
@require_http_methods(["GET", "POST"])
def offers(request: HttpRequest) -> HttpResponse:
    permissions.require(request.user, CONFIGURE)
    form = OfferForm(request.POST or None, user=request.user, initial={"is_active": True})
    if request.method == "POST" and form.is_valid():
        try:
            configuration.add_offer(data=_offer_data(form), actor=request.user)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Points offer added."))
            return redirect("members:offers")
    rows = PointsOffer.objects.select_related("batch").order_by("points", "id")
    return render(request, "members/settings/offers.html", {"rows": rows, "form": form}, status=_status(request))


@login_required
@require_http_methods(["GET", "POST"])
def offer_edit(request: HttpRequest, pk: int) -> HttpResponse:
    permissions.require(request.user, CONFIGURE)
    offer = get_object_or_404(PointsOffer, pk=pk)
    form = OfferForm(
        request.POST or None,
        user=request.user,
        current=offer.batch_id,
        initial={"batch": offer.batch_id, "points": offer.points, "is_active": offer.is_active},
    )
    if request.method == "POST" and form.is_valid():
        try:
            configuration.change_offer(offer=offer, data=_offer_data(form), actor=request.user)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Points offer saved."))
            return redirect("members:offers")
    return render(
        request,
        "members/settings/form.html",
        {
            "form": form,
            "title": _("Edit a points offer"),
            "back": "members:offers",
            "back_label": _("Points offers"),
            "note": _("Coupons already exchanged stay."),
        },
        status=_status(request),
    )


@login_required
@require_POST
def offer_delete(request: HttpRequest, pk: int) -> HttpResponse:
    permissions.require(request.user, CONFIGURE)
    offer = get_object_or_404(PointsOffer, pk=pk)
    configuration.remove_offer(offer=offer, actor=request.user)
    messages.success(request, _("Points offer deleted."))
    return redirect("members:offers")


urlpatterns = [
    path("tiers/", tiers, name="tiers"),
    path("tiers/recompute/", tier_recompute, name="tier_recompute"),
    path("tiers/<int:pk>/", tier_edit, name="tier_edit"),
    path("tiers/<int:pk>/delete/", tier_delete, name="tier_delete"),
    path("earn-rules/", earn_rules, name="earn_rules"),
    path("earn-rules/<int:pk>/", earn_rule_edit, name="earn_rule_edit"),
    path("earn-rules/<int:pk>/delete/", earn_rule_delete, name="earn_rule_delete"),
    path("offers/", offers, name="offers"),
    path("offers/<int:pk>/", offer_edit, name="offer_edit"),
    path("offers/<int:pk>/delete/", offer_delete, name="offer_delete"),
]
