import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from crm.models import User
from crm.ui import ListFilterSet

from .models import Partner, PartnerGrade, PartnerKind, PartnerStatus


class PartnerFilter(ListFilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search")
    kind = django_filters.ChoiceFilter(label=_("partner type"), choices=PartnerKind.choices)
    status = django_filters.ChoiceFilter(label=_("status"), choices=PartnerStatus.choices)
    grade = django_filters.ChoiceFilter(label=_("grade"), choices=PartnerGrade.choices)
    owner = django_filters.ModelChoiceFilter(label=_("channel manager"), queryset=User.objects.none())

    class Meta:
        model = Partner
        fields = ["q", "kind", "status", "grade", "owner"]

    def search(self, queryset, name, value):
        value = value.strip()[:100]
        if not value:
            return queryset
        return queryset.filter(
            Q(name__icontains=value) | Q(code__iexact=value) | Q(contacts__mobile=value) | Q(contacts__name=value)
        ).distinct()
