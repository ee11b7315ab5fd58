import django_filters
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm import permissions
from crm.models import Department, User
from crm.names import person_name
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
    department = django_filters.ChoiceFilter(label=_("department"), method="of_department", choices=[])
    owner = django_filters.ChoiceFilter(label=_("owner"), method="of_owner", choices=[])
    source = django_filters.ChoiceFilter(
        field_name="contract__customer__source", label=_("channel"), choices=all_source_choices
    )

    class Meta:
        model = Instalment
        fields = ["bucket", "year", "month", "owner", "department", "source"]

    def __init__(self, data=None, *args, request=None, **kwargs):
        super().__init__(data, *args, request=request, **kwargs)
        user = getattr(request, "user", None)
        asked = data or {}
        # the people and departments the user may pick, by name, and the one the dashboard's link
        # names even when it is no longer among them (a rep who left still owns their contracts)
        people = permissions.assignable_users(user) if user is not None else User.objects.none()
        owner = str(asked.get("owner") or "")
        if owner.isdigit():
            people = people | User.objects.filter(pk=int(owner))
        self.filters["owner"].extra["choices"] = [
            (str(person.pk), person_name(person) or person.username)
            for person in people.distinct().order_by("username")
        ]
        departments = permissions.departments_for(user) if user is not None else Department.objects.none()
        department = str(asked.get("department") or "")
        if department.isdigit():
            departments = departments | Department.objects.filter(pk=int(department))
        self.filters["department"].extra["choices"] = [
            (NO_DEPARTMENT, _("No department")),
            *((str(pk), name) for pk, name in departments.distinct().order_by("path").values_list("pk", "name")),
        ]

    def get_form_class(self):
        return type("StyledFilterForm", (StyledFormMixin, super().get_form_class()), {})

    def of_owner(self, queryset, name, value):
        return queryset.filter(contract__owner_id=int(value))

    def of_department(self, queryset, name, value):
        """A department's id, or ``none``: the contracts of no department (the dashboard's "-" row)."""
        if value == NO_DEPARTMENT:
            return queryset.filter(contract__department__isnull=True)
        return queryset.filter(contract__department_id=int(value))

    def in_bucket(self, queryset, name, value):
        today = timezone.localdate()
        if value == OVERDUE:  # every bucket: the dashboard's "overdue" figure
            return queryset.filter(settled_at__isnull=True, due_on__lt=today)
        return queryset.filter(bucket_q(value, today))
