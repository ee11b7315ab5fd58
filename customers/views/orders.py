"""Orders: the list (scoped), recording an order with its lines, the order page and cancelling."""

import re
from decimal import Decimal

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
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


@login_required
@require_POST
def order_preview(request, customer_pk):
    """The order form's lines priced as they would be if saved now, without saving anything: each
    line's unit price (the one typed, or the catalogue's for this customer, channel and day) and
    the sales policy that applies, and the total. The form asks for it (htmx) whenever a line, the
    channel or the day changes."""
    permissions.require(request.user, "customers.change")
    customer = get_object_or_404(customers_for(request.user), pk=customer_pk)
    form = OrderForm(request.POST)
    form.is_valid()  # what is valid of it: the channel and the day
    data = getattr(form, "cleaned_data", {})
    lines = OrderLineFormSet(request.POST, prefix="lines")
    given = []
    for line in lines.forms:
        if line.is_valid() and line.cleaned_data.get("sku"):
            given.append(line.cleaned_data)
    placed = data.get("placed_at")
    priced = registry.price_orders(
        [
            {
                "lines": given,
                "customer": customer,
                "channel": data.get("channel") or Order.Channel.SALES,
                "on": timezone.localtime(placed).date() if placed else timezone.localdate(),
            }
        ],
        unknown="keep",
    )[0]
    rows = []
    for line, asked in zip(priced, given, strict=True):
        quantity = line.get("quantity") or asked.get("quantity") or 1
        price = line.get("price")
        rows.append(
            {
                "sku": asked["sku"],
                "quantity": quantity,
                "price": price,
                "typed": asked.get("price") is not None,
                "policy": line.get("policy_name") or "",
                "known": "policy_price" in line,
                "total": price * quantity if price is not None else None,
            }
        )
    total = sum((row["total"] for row in rows if row["total"] is not None), Decimal(0))
    return render(
        request,
        "customers/order_preview.html",
        {
            "rows": rows,
            "total": total,
            "unpriced": any(row["total"] is None for row in rows),
            "amount": data.get("amount"),
        },
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
    path("<int:customer_pk>/orders/new/prices/", order_preview, name="order_preview"),
]
