"""Commission pages: the rules (返佣规则) and attributing an order to a partner by hand."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm import permissions
from crm.errors import DomainError
from crm.ui import add_domain_error
from customers.models import Order

from ..forms import AttributeForm, CommissionRuleForm
from ..models import Attribution, CommissionRule, Partner
from ..services import commission


@login_required
def rule_list(request: HttpRequest) -> HttpResponse:
    permissions.require(request.user, "partners.configure")
    rules = CommissionRule.objects.select_related("sku", "category")[:200]
    return render(request, "partners/rule_list.html", {"rules": rules, "title": _("Commission rules")})


@login_required
def rule_form(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    permissions.require(request.user, "partners.configure")
    rule = get_object_or_404(CommissionRule, pk=pk) if pk else CommissionRule()
    form = CommissionRuleForm(request.POST or None, instance=rule)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Commission rule saved."))
        return redirect("partners:rules")
    return render(
        request,
        "partners/rule_form.html",
        {"form": form, "title": _("Edit commission rule") if pk else _("New commission rule")},
        status=422 if form.errors else 200,
    )


@login_required
@require_POST
def attribute(request: HttpRequest, pk: int) -> HttpResponse:
    """Attribute an order (one the user may see) to this partner by hand, with the reason."""
    permissions.require(request.user, "partners.attribute")
    partner = permissions.get_visible_or_404(request.user, Partner.objects.all(), pk=pk)
    form = AttributeForm(request.POST)
    if form.is_valid():
        order = permissions.visible(request.user, Order.objects.filter(pk=form.cleaned_data["order"])).first()
        if order is None:
            form.add_error("order", _("No order with this number."))
        else:
            try:
                commission.attribute_order(
                    order=order,
                    partner=partner,
                    reason=Attribution.Reason.MANUAL,
                    actor=request.user,
                    note=form.cleaned_data["note"],
                )
            except DomainError as exc:
                add_domain_error(form, exc, "order")
            else:
                messages.success(request, _("Order attributed."))
                return redirect(partner)
    from .partners import _render_detail

    return _render_detail(request, partner, status=422, attribute_form=form)


urlpatterns = [
    path("rules/", rule_list, name="rules"),
    path("rules/new/", rule_form, name="rule_create"),
    path("rules/<int:pk>/", rule_form, name="rule_edit"),
    path("<int:pk>/attribute/", attribute, name="attribute"),
]
