"""The filters of the marketing lists."""

import django_filters
from django.utils.translation import gettext_lazy

from crm import permissions
from crm.models import User
from crm.ui import StyledFormMixin

from .models import Campaign


class CampaignFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label=gettext_lazy("Name"))
    kind = django_filters.ChoiceFilter(choices=Campaign.Kind.choices, label=gettext_lazy("type"))
    status = django_filters.ChoiceFilter(choices=Campaign.Status.choices, label=gettext_lazy("status"))
    owner = django_filters.ModelChoiceFilter(queryset=User.objects.none(), label=gettext_lazy("owner"))
    start_after = django_filters.DateFilter(field_name="end", lookup_expr="gte", label=gettext_lazy("running from"))
    start_before = django_filters.DateFilter(field_name="start", lookup_expr="lte", label=gettext_lazy("running until"))

    class Meta:
        model = Campaign
        fields = ["q", "kind", "status", "owner", "start_after", "start_before"]

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, request=request, **kwargs)
        if request is not None:
            self.filters["owner"].queryset = permissions.assignable_users(request.user)

    def get_form_class(self):
        return type("StyledFilterForm", (StyledFormMixin, super().get_form_class()), {})
