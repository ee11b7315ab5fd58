import django_filters
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models import User
from crm.ui import ListFilterSet, StyledFormMixin
from customers.models import Customer
from customers.services.sources import all_source_choices

from .models import Contract, Instalment
from .selectors import AGEING, bucket_q

BUCKET_LABELS = {
    "d30": _("1–30 days"),
    "d60": _("31–60 days"),
    "d90": _("61–90 days"),
    "d90plus": _("over 90 days"),
}

#: the bucket filter's value for every overdue instalment, whatever its bucket
OVERDUE = "overdue"


class ContractFilter(ListFilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search")
    status = django_filters.ChoiceFilter(label=_("status"), choices=Contract.Status.choices)
    owner = django_filters.ModelChoiceFilter(queryset=User.objects.none(), label=_("owner"))

    class Meta:
        model = Contract
        fields = ["q", "status", "owner"]

    def search(self, queryset, name, value):
        value = value.strip()
        # the customers by name first (their trigram index), not a join filtered row by row
        customers = Customer.objects.filter(name__icontains=value).values("pk")
        return queryset.filter(Q(number__icontains=value) | Q(title__icontains=value) | Q(customer__in=customers))


#: the drill-down's ``department`` of the contracts without one
NO_DEPARTMENT = "none"


class InstalmentFilter(django_filters.FilterSet):
    bucket = django_filters.ChoiceFilter(
        label=_("overdue"),
        choices=[(OVERDUE, _("Overdue")), *((code, BUCKET_LABELS[code]) for code, _a, _b in AGEING)],
        method="in_bucket",
    )
    year = django_filters.NumberFilter(field_name="due_on__year", label=_("year"), min_value=2000, max_value=2100)
    month = django_filters.NumberFilter(field_name="due_on__month", label=_("month"), min_value=1, max_value=12)
    department = django_filters.CharFilter(label=_("department"), method="of_department")
    owner = django_filters.NumberFilter(field_name="contract__owner", label=_("owner"))
    source = django_filters.ChoiceFilter(
        field_name="contract__customer__source", label=_("channel"), choices=all_source_choices
    )

    class Meta:
        model = Instalment
        fields = ["bucket", "year", "month", "owner", "department", "source"]

    def get_form_class(self):
        return type("StyledFilterForm", (StyledFormMixin, super().get_form_class()), {})

    def of_department(self, queryset, name, value):
        """A department's id, or ``none``: the contracts of no department (the dashboard's "-" row)."""
        if value == NO_DEPARTMENT:
            return queryset.filter(contract__department__isnull=True)
        if not value.isdigit():
            return queryset.none()
        return queryset.filter(contract__department_id=int(value))

    def in_bucket(self, queryset, name, value):
        today = timezone.localdate()
        if value == OVERDUE:  # every bucket: the dashboard's "overdue" figure
            return queryset.filter(settled_at__isnull=True, due_on__lt=today)
        return queryset.filter(bucket_q(value, today))
