"""Filters of the sales lists."""

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from crm import permissions
from crm.models import Department, User
from crm.privacy import search_name_or_mobile
from crm.ui import ListFilterSet, StyledFormMixin
from customers.services.sources import all_source_choices

from .forms.opportunities import day_start, in_subtree
from .models import FollowUp, Grade, Lead

OPEN, ALL, QUALIFIED_ON = "open", "all", "qualified_on"


class LeadFilter(ListFilterSet):
    """The lead inbox. Without a status in the query it shows the open leads (new to qualified)."""

    q = django_filters.CharFilter(label=_("Name or mobile"), method="search")
    status = django_filters.ChoiceFilter(
        label=_("status"),
        method="filter_status",
        empty_label=None,
        choices=[
            (OPEN, _("Open (new to qualified)")),
            (ALL, _("All statuses")),
            (QUALIFIED_ON, _("Qualified or converted")),
        ]
        + list(Lead.Status.choices),
    )
    grade = django_filters.ChoiceFilter(choices=Grade.choices, label=_("grade"))
    source = django_filters.ChoiceFilter(choices=all_source_choices, label=_("source channel"))
    owner = django_filters.ModelChoiceFilter(queryset=User.objects.none(), label=_("owner"))
    created_after = django_filters.DateFilter(field_name="created_at", lookup_expr="date__gte", label=_("created from"))
    created_before = django_filters.DateFilter(field_name="created_at", lookup_expr="date__lte", label=_("created to"))
    department = django_filters.ModelChoiceFilter(
        queryset=Department.objects.all(), label=_("department"), method="filter_department"
    )
    mine = django_filters.BooleanFilter(label=_("Only mine"), method="filter_mine", widget=forms.CheckboxInput)

    class Meta:
        model = Lead
        fields = ["q", "status", "grade", "source", "owner", "created_after", "created_before", "department", "mine"]

    default_status = OPEN

    def filter_status(self, queryset, name, value):
        if value == OPEN:
            return queryset.filter(status__in=Lead.OPEN_STATUSES)
        if value == ALL:
            return queryset
        if value == QUALIFIED_ON:
            return queryset.filter(status__in=[Lead.Status.QUALIFIED, Lead.Status.CONVERTED])
        return queryset.filter(status=value)

    def filter_department(self, queryset, name, value):
        return queryset.filter(department__path__startswith=value.path) if value else queryset

    def filter_mine(self, queryset, name, value):
        if value and self.request is not None:
            return queryset.filter(owner=self.request.user)
        return queryset

    def search(self, queryset, name, value):
        return search_name_or_mobile(queryset, getattr(self.request, "user", None), value)


class FollowUpFilter(django_filters.FilterSet):
    """The follow-up list: by rep, department (and below), channel, direction and time."""

    created_by = django_filters.ModelChoiceFilter(queryset=User.objects.none(), label=_("by"))
    department = django_filters.ModelChoiceFilter(queryset=None, label=_("department"), method="filter_department")
    channel = django_filters.ChoiceFilter(choices=FollowUp.Channel.choices, label=_("channel"))
    direction = django_filters.ChoiceFilter(choices=FollowUp.Direction.choices, label=_("direction"))
    at_after = django_filters.DateFilter(label=_("from"), method="filter_after")
    at_before = django_filters.DateFilter(label=_("to"), method="filter_before")

    class Meta:
        model = FollowUp
        fields = ["created_by", "department", "channel", "direction", "at_after", "at_before"]

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, request=request, **kwargs)
        self.filters["department"].queryset = Department.objects.all()
        if request is not None:
            self.filters["created_by"].queryset = permissions.assignable_users(request.user).order_by("username")

    def get_form_class(self):
        return type("StyledFilterForm", (StyledFormMixin, super().get_form_class()), {})

    def filter_department(self, queryset, name, value):
        return in_subtree(queryset, "department", value) if value else queryset

    def filter_after(self, queryset, name, value):
        return queryset.filter(at__gte=day_start(value))

    def filter_before(self, queryset, name, value):
        import datetime

        return queryset.filter(at__lt=day_start(value + datetime.timedelta(days=1)))
