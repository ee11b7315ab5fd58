"""Orders: the list (scoped), recording an order with its lines, the order page and cancelling."""

import re

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from crm import permissions
from crm.errors import DomainError
from crm.ui import ScopedListView, add_domain_error, history_for

from .. import registry, services
from ..filters import OrderFilter
from ..forms.orders import OrderForm, OrderLineForm
from ..models import Order
from ..selectors import customers_for
from ..tables import OrderTable


class OrderListView(ScopedListView):
    model = Order
    table_class = OrderTable
    filterset_class = OrderFilter
    view_action = "customers.view"
    export_action = "customers.export"
    access_subject = "customer"
    access_id_path = "customer_id"
    title = gettext_lazy("Orders")
    export_name = "orders"
    export_fields = {}  # every column read straight from values_list (fast export)
    paginate_by_subquery = True
    empty_text = gettext_lazy(
        "No orders yet. Record one from a customer's page, import a file, or push them through the API."
    )

    def base_queryset(self):
        return Order.objects.select_related("customer")


OrderLineFormSet = forms.formset_factory(OrderLineForm, extra=3, max_num=50)


@login_required
@require_http_methods(["GET", "POST"])
def order_create(request, customer_pk):
    permissions.require(request.user, "customers.change")
    customer = get_object_or_404(customers_for(request.user), pk=customer_pk)
    form = OrderForm(request.POST or None)
    lines = OrderLineFormSet(request.POST or None, prefix="lines")
    if request.method == "POST" and form.is_valid() and lines.is_valid():
        line_data = [f.cleaned_data for f in lines.forms if f.cleaned_data and f.cleaned_data.get("sku")]
        if form.cleaned_data.get("amount") is None and not line_data:
            form.add_error("amount", _("Give the amount, or add lines to total it."))
    if request.method == "POST" and form.is_valid() and lines.is_valid():
        try:
            order = services.place_order(
                customer=customer, actor=request.user, lines=line_data, unknown_skus="refuse", **form.cleaned_data
            )
        except ValidationError as exc:
            _line_errors(exc, [f for f in lines.forms if f.cleaned_data and f.cleaned_data.get("sku")])
            if not hasattr(exc, "error_dict") or exc.error_dict:
                add_domain_error(form, exc)
        except DomainError as exc:  # a refused coupon: its reason beside the coupon code
            add_domain_error(form, exc, "coupon_code")
        else:
            messages.success(
                request,
                _("Order of ¥%(amount)s recorded for %(name)s.")
                % {"amount": f"{order.amount:,.2f}", "name": customer.name},
            )
            return redirect(customer)
    return render(
        request,
        "customers/order_form.html",
        {"form": form, "lines": lines, "customer": customer, "sku_options": registry.catalogue_choices("skus")},
    )


def _line_errors(exc, filled):
    """Put ``items[n].<field>`` errors beside the field of the n-th filled line, and take them out
    of ``exc`` (what is left goes to the order's form)."""
    if not hasattr(exc, "error_dict"):
        return
    for name in list(exc.error_dict):
        match = re.fullmatch(r"items\[(\d+)\]\.(\w+)", name)
        if match and int(match.group(1)) < len(filled):
            line = filled[int(match.group(1))]
            field = match.group(2) if match.group(2) in line.fields else None
            line.add_error(field, exc.error_dict.pop(name))


@login_required
def order_detail(request, pk):
    permissions.require(request.user, "customers.view")
    order = get_object_or_404(permissions.visible(request.user, Order.objects.select_related("customer")), pk=pk)
    return render(
        request,
        "customers/order_detail.html",
        {
            "order": order,
            "lines": order.lines.all(),
            "history": history_for(order),
            "can_cancel": permissions.can(request.user, "customers.change") and order.status == Order.Status.PAID,
        },
    )


@login_required
@require_POST
def order_cancel(request, pk):
    permissions.require(request.user, "customers.change")
    order = get_object_or_404(permissions.visible(request.user, Order.objects.all()), pk=pk)
    services.cancel_order(order=order, actor=request.user)
    messages.success(request, _("Order cancelled; the customer's figures were updated."))
    return redirect(order)


urlpatterns = [
    path("orders/", OrderListView.as_view(), name="orders"),
    path("orders/<int:pk>/", order_detail, name="order"),
    path("orders/<int:pk>/cancel/", order_cancel, name="order_cancel"),
    path("<int:customer_pk>/orders/new/", order_create, name="order_create"),
]
