"""Orders: the list (scoped), recording an order with its lines, the order page and cancelling."""
import django_filters
import django_tables2 as tables
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from crm import permissions
from crm.errors import DomainError
from crm.privacy import name_or_mobile_q
from crm.ui import LocalDateTimeColumn, ScopedListView, StyledFormMixin, add_domain_error, history_for

from .. import services
from ..models import Order
from ..selectors import customers_for


class OrderTable(tables.Table):
    id = tables.Column(verbose_name="#", linkify=True)
    customer = tables.Column(linkify=True, order_by=("customer__name",))
    amount = tables.Column(attrs={"td": {"class": "text-end"}})
    placed_at = LocalDateTimeColumn(format="Y-m-d H:i")

    class Meta:
        model = Order
        fields = ("id", "external_id", "customer", "amount", "cost", "channel", "status", "placed_at")
        attrs = {"class": "table table-hover align-middle mb-0"}
        order_by = ("-placed_at",)

    def render_amount(self, value):
        return f"¥{value:,.2f}"

    def value_amount(self, value):
        return value


class OrderFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=gettext_lazy("Customer or order"), method="search")
    status = django_filters.ChoiceFilter(choices=Order.Status.choices, label=gettext_lazy("status"))
    channel = django_filters.ChoiceFilter(choices=Order.Channel.choices, label=gettext_lazy("channel"))
    placed_after = django_filters.DateFilter(field_name="placed_at", lookup_expr="date__gte", label=gettext_lazy("from"))
    placed_before = django_filters.DateFilter(field_name="placed_at", lookup_expr="date__lte", label=gettext_lazy("to"))
    amount_min = django_filters.NumberFilter(field_name="amount", lookup_expr="gte", label=gettext_lazy("amount from"))

    class Meta:
        model = Order
        fields = ["q", "status", "channel", "placed_after", "placed_before", "amount_min"]

    def get_form_class(self):
        return type("StyledFilterForm", (StyledFormMixin, super().get_form_class()), {})

    def search(self, queryset, name, value):
        value = value.strip()
        customer = name_or_mobile_q(getattr(self.request, "user", None), value, name_field="customer__name",
                                    mobile_field="customer__mobile")
        return queryset.filter(customer | Q(external_id=value))


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
    empty_text = gettext_lazy("No orders yet. Record one from a customer's page, import a file, or push them through the API.")

    def base_queryset(self):
        return Order.objects.select_related("customer")


class OrderForm(StyledFormMixin, forms.Form):
    amount = forms.DecimalField(label=gettext_lazy("amount"), max_digits=12, decimal_places=2, min_value=0)
    cost = forms.DecimalField(label=gettext_lazy("cost"), max_digits=12, decimal_places=2, min_value=0, required=False)
    channel = forms.ChoiceField(label=gettext_lazy("channel"), choices=Order.Channel.choices, initial=Order.Channel.SALES)
    placed_at = forms.DateTimeField(label=gettext_lazy("placed at"), widget=forms.DateTimeInput(), required=False,
                                    help_text=gettext_lazy("Leave empty for now."))
    external_id = forms.CharField(label=gettext_lazy("external id"), max_length=100, required=False)
    coupon_code = forms.CharField(label=gettext_lazy("coupon code"), max_length=32, required=False,
                                  help_text=gettext_lazy("A coupon the customer holds, used on this order."))


class OrderLineForm(StyledFormMixin, forms.Form):
    sku = forms.CharField(label=gettext_lazy("SKU"), max_length=64)
    category = forms.CharField(label=gettext_lazy("category"), max_length=64, required=False)
    quantity = forms.IntegerField(label=gettext_lazy("quantity"), min_value=1, initial=1)
    price = forms.DecimalField(label=gettext_lazy("price"), max_digits=12, decimal_places=2, min_value=0)


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
        try:
            order = services.place_order(customer=customer, actor=request.user, lines=line_data, **form.cleaned_data)
        except ValidationError as exc:
            add_domain_error(form, exc)
        except DomainError as exc:  # a refused coupon: its reason beside the coupon code
            add_domain_error(form, exc, "coupon_code")
        else:
            messages.success(request, _("Order of ¥%(amount)s recorded for %(name)s.")
                             % {"amount": f"{order.amount:,.2f}", "name": customer.name})
            return redirect(customer)
    return render(request, "customers/order_form.html", {"form": form, "lines": lines, "customer": customer})


@login_required
def order_detail(request, pk):
    permissions.require(request.user, "customers.view")
    order = get_object_or_404(permissions.visible(request.user, Order.objects.select_related("customer")), pk=pk)
    return render(request, "customers/order_detail.html", {
        "order": order, "lines": order.lines.all(), "history": history_for(order),
        "can_cancel": permissions.can(request.user, "customers.change") and order.status == Order.Status.PAID,
    })


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
