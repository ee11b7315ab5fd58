import django_filters
from django import forms
from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _

from crm import permissions
from crm.models import Department, User
from crm.ui import StyledFormMixin

from .models import Customer, CustomerTag, LifecycleStage, SatisfactionLevel, Tag, ValueSegment
from .services.segmentation import GRID


class CustomerFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Name or mobile"), method="search")
    kind = django_filters.ChoiceFilter(choices=Customer.Kind.choices, label=_("kind"))
    source = django_filters.ChoiceFilter(choices=Customer.Source.choices, label=_("source channel"))
    region = django_filters.CharFilter(lookup_expr="icontains", label=_("region"))
    owner = django_filters.ModelChoiceFilter(queryset=User.objects.none(), label=_("owner"))
    department = django_filters.ModelChoiceFilter(queryset=Department.objects.all(), label=_("department"))
    tags = django_filters.ModelMultipleChoiceFilter(
        queryset=Tag.objects.select_related("group"), label=_("tags"), method="filter_tags",
        widget=forms.SelectMultiple(attrs={"size": 3}),
    )
    tags_match = django_filters.ChoiceFilter(
        choices=[("any", _("any of the tags")), ("all", _("all of the tags"))], label=_("tags match"),
        method="filter_nothing", empty_label=None,
    )
    created_after = django_filters.DateFilter(field_name="created_at", lookup_expr="date__gte", label=_("created from"))
    created_before = django_filters.DateFilter(field_name="created_at", lookup_expr="date__lte", label=_("created to"))
    value_segment = django_filters.ChoiceFilter(choices=ValueSegment.choices, label=_("value segment"))
    grid_class = django_filters.ChoiceFilter(choices=[(c, c) for c in sorted(GRID.values())], label=_("3×3 class"))
    lifecycle_stage = django_filters.ChoiceFilter(choices=LifecycleStage.choices, label=_("lifecycle stage"))
    satisfaction_level = django_filters.ChoiceFilter(choices=SatisfactionLevel.choices, label=_("satisfaction"))

    class Meta:
        model = Customer
        fields = ["q", "kind", "source", "region", "owner", "department", "tags", "tags_match", "created_after",
                  "created_before"]

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, request=request, **kwargs)
        if request is not None:
            self.filters["owner"].queryset = permissions.assignable_users(request.user)

    def get_form_class(self):
        base = super().get_form_class()
        return type("StyledFilterForm", (StyledFormMixin, base), {})

    def filter_nothing(self, queryset, name, value):
        return queryset  # read by filter_tags

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

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        digits = "".join(ch for ch in value if ch.isdigit())
        q = Q(name__icontains=value)
        if len(digits) >= 4:
            q |= Q(mobile__contains=digits)
        return queryset.filter(q)
