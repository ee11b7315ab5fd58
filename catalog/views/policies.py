"""Sales policies (销售政策) and the price check."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse, reverse_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm import permissions
from crm.ui import ScopedListView, history_for
from customers.selectors import customers_for

from .. import selectors
from ..filters import PolicyFilter
from ..forms import PolicyForm, PriceCheckForm, PricesForm
from ..models import SalesPolicy
from ..services import policies, pricing
from ..tables import PolicyTable
from .products import add_errors


class PolicyListView(ScopedListView):
    model = SalesPolicy
    table_class = PolicyTable
    filterset_class = PolicyFilter
    template_name = "catalog/policy_list.html"
    view_action = "catalog.view"
    create_url = reverse_lazy("catalog:policy_create")
    create_action = "catalog.manage"
    title = gettext_lazy("Sales policies")
    empty_text = gettext_lazy("No sales policies yet: every SKU sells at its list price.")

    def get_queryset(self):
        return selectors.policies_for(self.request.user)


@login_required
def policy_form(request: HttpRequest, pk=None) -> HttpResponse:
    permissions.require(request.user, "catalog.manage")
    policy = get_object_or_404(SalesPolicy, pk=pk) if pk else SalesPolicy()
    form = PolicyForm(request.POST or None, instance=policy)
    if request.method == "POST" and form.is_valid():
        try:
            policy = policies.save_policy(policy=form.instance, actor=request.user)
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("Policy saved."))
            return redirect(policy)
    return render(
        request,
        "crm/admin/form.html",
        {
            "form": form,
            "title": policy.name if pk else _("New sales policy"),
            "cancel_url": policy.get_absolute_url() if pk else reverse("catalog:policies"),
        },
    )


@login_required
def policy_detail(request: HttpRequest, pk) -> HttpResponse:
    permissions.require(request.user, "catalog.view")
    policy = get_object_or_404(SalesPolicy.objects.select_related("sku", "category", "created_by"), pk=pk)
    prices = list(policy.prices.select_related("sku").order_by("sku__code"))
    form = None
    can_manage = permissions.can(request.user, "catalog.manage")
    if policy.kind == SalesPolicy.Kind.PRICE_LIST and can_manage:
        form = PricesForm(
            request.POST or None,
            initial={"prices": "\n".join(f"{p.sku.code} {p.price}" for p in prices)},
        )
        if request.method == "POST" and form.is_valid():
            try:
                count = policies.set_prices(
                    policy=policy,
                    prices=policies.parse_prices(form.cleaned_data["prices"]),
                    actor=request.user,
                )
            except ValidationError as exc:
                add_errors(form, exc)
            else:
                messages.success(request, _("%(count)s prices saved.") % {"count": count})
                return redirect(policy)
    elif request.method == "POST":
        permissions.require(request.user, "catalog.manage")
        return redirect(policy)
    return render(
        request,
        "catalog/policy_detail.html",
        {
            "policy": policy,
            "prices": prices,
            "form": form,
            "can_manage": can_manage,
            "history": history_for(policy, limit=20),
        },
        status=422 if form is not None and form.errors else 200,
    )


@login_required
def price_check(request: HttpRequest) -> HttpResponse:
    """What a SKU costs a customer through a channel on a day, and which policy says so."""
    permissions.require(request.user, "catalog.view")
    form = PriceCheckForm(request.GET or None)
    quote = customer = None
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        if data["customer"]:
            customer = customers_for(request.user).filter(pk=data["customer"]).first()
            if customer is None:
                form.add_error("customer", _("No customer with this id in your scope."))
        if not form.errors:
            quote = pricing.price_for(
                sku=data["sku"],
                customer=customer,
                channel=data["channel"],
                on=data["on"],
            )
    return render(
        request,
        "catalog/price_check.html",
        {"form": form, "quote": quote, "customer": customer},
    )


urlpatterns = [
    path("policies/", PolicyListView.as_view(), name="policies"),
    path("policies/new/", policy_form, name="policy_create"),
    path("policies/<int:pk>/", policy_detail, name="policy"),
    path("policies/<int:pk>/edit/", policy_form, name="policy_edit"),
    path("price-check/", price_check, name="price_check"),
]
