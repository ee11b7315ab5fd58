import datetime

import django_filters
from django import forms
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy
from django.utils.translation import gettext_lazy as _

from crm import permissions
from crm.models import Department, User
from crm.privacy import name_or_mobile_q, search_name_or_mobile
from crm.ui import StyledFormMixin

from . import regions
from .models import (
    Customer,
    CustomerTag,
    LifecycleChange,
    LifecycleStage,
    Order,
    SatisfactionLevel,
    SegmentationSettings,
    Tag,
    ValueSegment,
)
from .services.segmentation import GRID
from .services.sources import all_source_choices

RECENCY_STATES = [("active", _("Active")), ("at_risk", _("At risk")), ("churned", _("Churned"))]


def _day_start(day):
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=timezone.get_current_timezone())


def _day_end(day):
    """The start of the day after ``day`` (exclusive bound)."""
    return _day_start(day + datetime.timedelta(days=1))


class CustomerFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Name or mobile"), method="search")
    kind = django_filters.ChoiceFilter(choices=Customer.Kind.choices, label=_("kind"))
    source = django_filters.ChoiceFilter(choices=all_source_choices, label=_("source channel"))
    region = django_filters.CharFilter(
        label=_("region"), method="filter_region", help_text=_("A province, city or district: its name or its code.")
    )
    owner = django_filters.ModelChoiceFilter(queryset=User.objects.none(), label=_("owner"))
    department = django_filters.ModelChoiceFilter(queryset=Department.objects.all(), label=_("department"))
    tags = django_filters.ModelMultipleChoiceFilter(
        queryset=Tag.objects.select_related("group"),
        label=_("tags"),
        method="filter_tags",
        widget=forms.SelectMultiple(attrs={"size": 3}),
    )
    tags_match = django_filters.ChoiceFilter(
        choices=[("any", _("any of the tags")), ("all", _("all of the tags"))],
        label=_("tags match"),
        method="filter_nothing",
        empty_label=None,
    )
    created_after = django_filters.DateFilter(field_name="created_at", lookup_expr="date__gte", label=_("created from"))
    created_before = django_filters.DateFilter(field_name="created_at", lookup_expr="date__lte", label=_("created to"))
    value_segment = django_filters.ChoiceFilter(choices=ValueSegment.choices, label=_("value segment"))
    grid_class = django_filters.ChoiceFilter(choices=[(c, c) for c in sorted(GRID.values())], label=_("3×3 class"))
    lifecycle_stage = django_filters.ChoiceFilter(choices=LifecycleStage.choices, label=_("lifecycle stage"))
    satisfaction_level = django_filters.ChoiceFilter(choices=SatisfactionLevel.choices, label=_("satisfaction"))
    # --- drill-downs of the customer dashboard (hidden: set by its links, applied in filter_queryset) ---
    total_min = django_filters.NumberFilter(
        label=_("spent at least (¥)"), method="filter_nothing", widget=forms.HiddenInput
    )
    state = django_filters.ChoiceFilter(
        choices=RECENCY_STATES, label=_("state by last order"), method="filter_nothing", widget=forms.HiddenInput
    )
    state_on = django_filters.DateFilter(label=_("state on"), method="filter_nothing", widget=forms.HiddenInput)
    first_order_from = django_filters.DateFilter(
        label=_("first order from"), method="filter_nothing", widget=forms.HiddenInput
    )
    first_order_to = django_filters.DateFilter(
        label=_("first order to"), method="filter_nothing", widget=forms.HiddenInput
    )
    ordered_from = django_filters.DateFilter(label=_("ordered from"), method="filter_nothing", widget=forms.HiddenInput)
    ordered_to = django_filters.DateFilter(label=_("ordered to"), method="filter_nothing", widget=forms.HiddenInput)
    changed_from = django_filters.ChoiceFilter(
        choices=[("new", _("(new)"))] + list(LifecycleStage.choices),
        label=_("stage changed from"),
        method="filter_nothing",
        widget=forms.HiddenInput,
    )
    changed_to = django_filters.ChoiceFilter(
        choices=LifecycleStage.choices, label=_("stage changed to"), method="filter_nothing", widget=forms.HiddenInput
    )
    changed_since = django_filters.DateFilter(
        label=_("stage changed from date"), method="filter_nothing", widget=forms.HiddenInput
    )
    changed_until = django_filters.DateFilter(
        label=_("stage changed to date"), method="filter_nothing", widget=forms.HiddenInput
    )

    class Meta:
        model = Customer
        fields = [
            "q",
            "kind",
            "source",
            "region",
            "owner",
            "department",
            "tags",
            "tags_match",
            "created_after",
            "created_before",
        ]

    def __init__(self, *args, request=None, rule_check=False, **kwargs):
        super().__init__(*args, request=request, **kwargs)
        if request is not None:
            self.filters["owner"].queryset = permissions.assignable_users(request.user)
        elif rule_check:  # a tag rule's stored filter: any user may be named as the owner
            self.filters["owner"].queryset = User.objects.all()

    def get_form_class(self):
        base = super().get_form_class()
        return type("StyledFilterForm", (StyledFormMixin, base), {})

    def filter_nothing(self, queryset, name, value):
        return queryset  # read by filter_tags

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        return self.filter_drilldowns(queryset, self.form.cleaned_data)

    def filter_drilldowns(self, queryset, data):
        """The dashboard's drill-downs (see customers.selectors_dashboard): each narrows to exactly the
        customers a dashboard figure counts."""
        paid = Order.objects.filter(status=Order.Status.PAID)
        if data.get("total_min") is not None:
            queryset = queryset.filter(order_count__gt=0, total_amount__gte=data["total_min"])
        if data.get("state") and data.get("state_on"):
            day = data["state_on"]
            settings = SegmentationSettings.current()
            active_from = _day_start(day - datetime.timedelta(days=settings.at_risk_days - 1))
            risk_from = _day_start(day - datetime.timedelta(days=settings.churn_days - 1))
            end = _day_end(day)
            # by the last paid order on or before ``day``: an order in its window and none after it
            # ("an order before" the churn window: the customer's first order is before it)

            def orders_between(start, stop):
                return Exists(paid.filter(customer_id=OuterRef("pk"), placed_at__gte=start, placed_at__lt=stop))

            if data["state"] == "active":
                queryset = queryset.filter(orders_between(active_from, end))
            elif data["state"] == "at_risk":
                queryset = queryset.filter(orders_between(risk_from, active_from)).exclude(
                    orders_between(active_from, end)
                )
            else:
                queryset = queryset.filter(first_order_at__lt=risk_from).exclude(orders_between(risk_from, end))
        if data.get("first_order_from"):
            queryset = queryset.filter(first_order_at__gte=_day_start(data["first_order_from"]))
        if data.get("first_order_to"):
            queryset = queryset.filter(first_order_at__lt=_day_end(data["first_order_to"]))
        if data.get("ordered_from") or data.get("ordered_to"):
            orders = paid
            if data.get("ordered_from"):
                orders = orders.filter(placed_at__gte=_day_start(data["ordered_from"]))
            if data.get("ordered_to"):
                orders = orders.filter(placed_at__lt=_day_end(data["ordered_to"]))
            queryset = queryset.filter(pk__in=orders.order_by().values("customer_id"))
        if data.get("changed_from") or data.get("changed_to"):
            changes = LifecycleChange.objects.order_by()
            if data.get("changed_from"):
                changes = changes.filter(from_stage="" if data["changed_from"] == "new" else data["changed_from"])
            if data.get("changed_to"):
                changes = changes.filter(to_stage=data["changed_to"])
            if data.get("changed_since"):
                changes = changes.filter(changed_at__gte=_day_start(data["changed_since"]))
            if data.get("changed_until"):
                changes = changes.filter(changed_at__lt=_day_end(data["changed_until"]))
            queryset = queryset.filter(pk__in=changes.values("customer_id"))
        return queryset

    def filter_tags(self, queryset, name, value):
        """Customers holding any (default) or all of the chosen tags, without duplicate rows."""
        tag_ids = [tag.pk for tag in value]
        if not tag_ids:
            return queryset
        links = CustomerTag.objects.filter(tag_id__in=tag_ids)
        if self.data.get("tags_match") == "all":
            matching = links.values("customer_id").annotate(n=Count("tag_id", distinct=True)).filter(n=len(tag_ids))
            return queryset.filter(pk__in=matching.values("customer_id"))
        return queryset.filter(pk__in=links.values("customer_id"))

    def filter_region(self, queryset, name, value):
        """A code (``330000``) or a name (``浙江``, ``杭州市西湖区``) matched to one; text that names no
        region matches nobody."""
        code = regions.match(value)
        return regions.customers_in_region(queryset, code) if code else queryset.none()

    def search(self, queryset, name, value):
        return search_name_or_mobile(queryset, getattr(self.request, "user", None), value)


class OrderFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=gettext_lazy("Customer or order"), method="search")
    status = django_filters.ChoiceFilter(choices=Order.Status.choices, label=gettext_lazy("status"))
    channel = django_filters.ChoiceFilter(choices=Order.Channel.choices, label=gettext_lazy("channel"))
    placed_after = django_filters.DateFilter(
        field_name="placed_at", lookup_expr="date__gte", label=gettext_lazy("from")
    )
    placed_before = django_filters.DateFilter(field_name="placed_at", lookup_expr="date__lte", label=gettext_lazy("to"))
    amount_min = django_filters.NumberFilter(field_name="amount", lookup_expr="gte", label=gettext_lazy("amount from"))

    class Meta:
        model = Order
        fields = ["q", "status", "channel", "placed_after", "placed_before", "amount_min"]

    def get_form_class(self):
        return type("StyledFilterForm", (StyledFormMixin, super().get_form_class()), {})

    def search(self, queryset, name, value):
        value = value.strip()
        customer = name_or_mobile_q(
            getattr(self.request, "user", None),
            value,
            name_field="customer__name",
            mobile_field="customer__mobile",
            keys_field="customer__name_keys",
        )
        return queryset.filter(customer | Q(external_id=value))
