import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from crm import permissions
from crm.models import Department, User
from crm.ui import StyledFormMixin

from .models import Customer


class CustomerFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Name or mobile"), method="search")
    kind = django_filters.ChoiceFilter(choices=Customer.Kind.choices, label=_("kind"))
    source = django_filters.ChoiceFilter(choices=Customer.Source.choices, label=_("source channel"))
    region = django_filters.CharFilter(lookup_expr="icontains", label=_("region"))
    owner = django_filters.ModelChoiceFilter(queryset=User.objects.none(), label=_("owner"))
    department = django_filters.ModelChoiceFilter(queryset=Department.objects.all(), label=_("department"))
    created_after = django_filters.DateFilter(field_name="created_at", lookup_expr="date__gte", label=_("created from"))
    created_before = django_filters.DateFilter(field_name="created_at", lookup_expr="date__lte", label=_("created to"))

    class Meta:
        model = Customer
        fields = ["q", "kind", "source", "region", "owner", "department", "created_after", "created_before"]

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, request=request, **kwargs)
        if request is not None:
            self.filters["owner"].queryset = permissions.assignable_users(request.user)

    def get_form_class(self):
        base = super().get_form_class()
        return type("StyledFilterForm", (StyledFormMixin, base), {})

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        digits = "".join(ch for ch in value if ch.isdigit())
        q = Q(name__icontains=value)
        if len(digits) >= 4:
            q |= Q(mobile__contains=digits)
        return queryset.filter(q)
