import django_filters
from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.ui import StyledFormMixin
from customers.models import LifecycleStage, Order, OrderLine, ValueSegment

from .models import Category, Entitlement, Product, SalesPolicy
from .selectors import on_sale_q


class _Form(StyledFormMixin, forms.Form):
    pass


class ProductFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search")
    category = django_filters.ModelChoiceFilter(
        label=_("category"),
        queryset=Category.objects.order_by("path"),
        method="in_category",
    )
    status = django_filters.ChoiceFilter(label=_("status"), choices=Product.Status.choices)
    on_sale = django_filters.BooleanFilter(
        label=_("on sale today"),
        method="filter_on_sale",
        widget=forms.Select(choices=[("", _("All")), ("true", _("Yes")), ("false", _("No"))]),
    )

    class Meta:
        model = Product
        fields = ["q", "category", "status", "on_sale"]
        form = _Form

    def search(self, queryset, name, value):
        value = value.strip()[:100]
        return (
            queryset.filter(
                Q(code__icontains=value)
                | Q(name__icontains=value)
                | Q(skus__code__icontains=value)
                | Q(skus__name__icontains=value)
            ).distinct()
            if value
            else queryset
        )

    def in_category(self, queryset, name, value):
        return queryset.filter(category__path__startswith=value.path) if value else queryset

    def filter_on_sale(self, queryset, name, value):

        if value is None:
            return queryset
        q = on_sale_q(timezone.localdate())
        return queryset.filter(q) if value else queryset.exclude(q)


class PolicyFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), field_name="name", lookup_expr="icontains")
    kind = django_filters.ChoiceFilter(label=_("kind"), choices=SalesPolicy.Kind.choices)
    channel = django_filters.ChoiceFilter(label=_("channel"), choices=Order.Channel.choices)
    value_segment = django_filters.ChoiceFilter(label=_("value segment"), choices=ValueSegment.choices)
    lifecycle_stage = django_filters.ChoiceFilter(label=_("lifecycle stage"), choices=LifecycleStage.choices)
    is_active = django_filters.BooleanFilter(
        label=_("active"),
        widget=forms.Select(choices=[("", _("All")), ("true", _("Yes")), ("false", _("No"))]),
    )

    class Meta:
        model = SalesPolicy
        fields = [
            "q",
            "kind",
            "channel",
            "value_segment",
            "lifecycle_stage",
            "is_active",
        ]
        form = _Form


class EntitlementFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search")
    state = django_filters.ChoiceFilter(
        label=_("state"),
        method="filter_state",
        choices=[
            ("usable", _("Usable")),
            ("used_up", _("Used up")),
            ("expired", _("Expired")),
        ],
    )

    class Meta:
        model = Entitlement
        fields = ["q", "state"]
        form = _Form

    def search(self, queryset, name, value):
        value = value.strip()[:100]
        return queryset.filter(Q(customer__name__icontains=value) | Q(name__icontains=value)) if value else queryset

    def filter_state(self, queryset, name, value):
        today = timezone.localdate()
        alive = Q(expires_on__isnull=True) | Q(expires_on__gte=today)
        if value == "usable":
            return queryset.filter(alive, balance__gt=0)
        if value == "used_up":
            return queryset.filter(balance=0)
        if value == "expired":
            return queryset.filter(expires_on__lt=today)
        return queryset


class SoldLineFilter(django_filters.FilterSet):
    """The drill-down of the policy effect and the business analysis: the lines behind a figure
    (``year`` with ``policy`` and ``month``, or ``by`` and ``key``), narrowed further by SKU or channel."""

    sku = django_filters.CharFilter(label=_("SKU"), lookup_expr="iexact")
    channel = django_filters.ChoiceFilter(
        label=_("channel"), choices=Order.Channel.choices, field_name="order__channel"
    )

    class Meta:
        model = OrderLine
        fields = ["sku", "channel"]
        form = _Form
