import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from crm.phone import mask_mobile
from crm.ui import LocalDateTimeColumn

from .models import Customer


class CustomerTable(tables.Table):
    selection = tables.CheckBoxColumn(accessor="pk", attrs={"th__input": {"class": "form-check-input js-select-all"},
                                                            "td__input": {"class": "form-check-input js-select-row"}})
    name = tables.Column(linkify=True)
    mobile = tables.Column()
    owner = tables.Column(verbose_name=_("owner"), order_by=("owner__username",))
    department = tables.Column(order_by=("department__name",))
    created_at = LocalDateTimeColumn(format="Y-m-d H:i")

    class Meta:
        model = Customer
        fields = ("selection", "name", "kind", "mobile", "region", "source", "owner", "department", "created_at")
        attrs = {"class": "table table-hover align-middle mb-0"}
        empty_text = _("No customers match.")
        order_by = ("-created_at",)

    def __init__(self, *args, show_mobile=True, **kwargs):
        self.show_mobile = show_mobile
        super().__init__(*args, **kwargs)

    def render_mobile(self, value):
        return value if self.show_mobile else mask_mobile(value)

    def value_mobile(self, value):
        return value if self.show_mobile else mask_mobile(value)

    def _source_names(self):
        if not hasattr(self, "_names_of_sources"):
            from customers.services.sources import source_names

            self._names_of_sources = source_names()  # one query per table
        return self._names_of_sources

    def render_source(self, value):
        return self._source_names().get(value, value)

    def value_source(self, value):
        return self._source_names().get(value, value)
