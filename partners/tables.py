import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from crm.ui import LocalDateTimeColumn

from .models import Partner


class PartnerTable(tables.Table):
    name = tables.Column(linkify=True)
    region = tables.Column(accessor="region_name", verbose_name=_("region"), order_by=("region",))
    owner = tables.Column(verbose_name=_("channel manager"), order_by=("owner__username",))
    contract_end = tables.DateColumn(format="Y-m-d")
    next_follow_up_at = LocalDateTimeColumn(format="Y-m-d H:i")
    created_at = LocalDateTimeColumn(format="Y-m-d H:i")

    class Meta:
        model = Partner
        fields = (
            "name",
            "code",
            "kind",
            "grade",
            "status",
            "region",
            "owner",
            "department",
            "contract_end",
            "next_follow_up_at",
            "created_at",
        )
        attrs = {"class": "table table-hover align-middle mb-0"}
        order_by = ("-created_at",)
