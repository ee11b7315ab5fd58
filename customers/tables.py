import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from crm.fast_table import FAST_TABLE_TEMPLATE
from crm.phone import mask_mobile
from crm.ui import LocalDateTimeColumn

from .models import Customer, CustomerTag, Order
from .services.sources import source_names


class ContactColumns:
    """The columns a person's row shares in every list (customers, leads): the mobile, masked unless
    the viewer may see it (``show_mobile``), and the lead source's name for its code (the names read
    once per table)."""

    def __init__(self, *args, show_mobile=True, **kwargs):
        self.show_mobile = show_mobile
        super().__init__(*args, **kwargs)

    def render_mobile(self, value):
        return value if self.show_mobile else mask_mobile(value)

    def value_mobile(self, value):
        return value if self.show_mobile else mask_mobile(value)

    def _source_names(self):
        if not hasattr(self, "_names_of_sources"):
            self._names_of_sources = source_names()  # one query per table
        return self._names_of_sources

    def render_source(self, value):
        return self._source_names().get(value, value)

    def value_source(self, value):
        return self._source_names().get(value, value)


class CustomerTable(ContactColumns, tables.Table):
    selection = tables.CheckBoxColumn(
        accessor="pk",
        attrs={
            "th__input": {"class": "form-check-input js-select-all", "aria-label": _("Select all")},
            "td__input": {"class": "form-check-input js-select-row", "aria-label": _("Select this row")},
        },
    )
    name = tables.Column(linkify=True)
    mobile = tables.Column()
    owner = tables.Column(verbose_name=_("owner"), order_by=("owner__username",))
    department = tables.Column(order_by=("department__name",))
    lifecycle_stage = tables.Column()
    value_segment = tables.Column()
    grid_class = tables.Column()
    tags = tables.Column(accessor="pk", verbose_name=_("tags"), orderable=False)
    created_at = LocalDateTimeColumn(format="Y-m-d H:i")

    class Meta:
        model = Customer
        fields = (
            "selection",
            "name",
            "kind",
            "mobile",
            "region",
            "source",
            "owner",
            "department",
            "lifecycle_stage",
            "value_segment",
            "grid_class",
            "tags",
            "created_at",
        )
        attrs = {"class": "table table-hover align-middle mb-0"}
        empty_text = _("No customers match.")
        order_by = ("-created_at",)
        template_name = FAST_TABLE_TEMPLATE

    def render_tags(self, record):
        return ", ".join(tag.name for tag in record.tags.all()) or "—"


class TagNames:
    """The exported tags column: each customer's tag names, read once per chunk of exported rows."""

    def __init__(self):
        self.names = {}

    def prefetch(self, ids):
        missing = sorted(pk for pk in ids if pk not in self.names)
        for pk in missing:
            self.names[pk] = []
        for customer_id, name in (
            CustomerTag.objects.filter(customer_id__in=missing)
            .order_by("tag__group__position", "tag__group__name", "tag__name")
            .values_list("customer_id", "tag__name")
        ):
            self.names[customer_id].append(name)

    def __call__(self, value):
        return ", ".join(self.names.get(value, []))


def attribute_value(attribute):
    """The exported (and shown) value of a custom attribute: numbers as numbers, dates as dates."""
    import datetime
    from decimal import Decimal, InvalidOperation

    def value_of(value):
        raw = (value or {}).get(attribute.key) if isinstance(value, dict) else None
        if raw in (None, ""):
            return None
        if attribute.kind == "number":
            try:
                return Decimal(str(raw))
            except (InvalidOperation, ValueError):
                return raw
        if attribute.kind == "date":
            try:
                return datetime.date.fromisoformat(str(raw)[:10])
            except ValueError:
                return raw
        return raw

    return value_of


def attribute_columns(attributes):
    """(name, column) of each custom attribute, for ``extra_columns``; with the export paths."""
    columns, export = [], {}
    for attribute in attributes:
        name = f"custom_{attribute.key}"
        columns.append(
            (
                name,
                tables.Column(
                    accessor=f"custom__{attribute.key}", verbose_name=attribute.label, orderable=False, default="—"
                ),
            )
        )
        export[name] = ("custom", attribute_value(attribute))
    return columns, export


class OrderTable(tables.Table):
    id = tables.Column(verbose_name="#", linkify=True)
    customer = tables.Column(linkify=True, order_by=("customer__name",))
    amount = tables.Column(attrs={"td": {"class": "text-end"}})
    placed_at = LocalDateTimeColumn(format="Y-m-d H:i")

    class Meta:
        model = Order
        fields = ("id", "external_id", "customer", "amount", "cost", "channel", "status", "placed_at")
        attrs = {"class": "table table-hover align-middle mb-0"}
        order_by = ("-placed_at",)

    def render_amount(self, value):
        return f"¥{value:,.2f}"

    def value_amount(self, value):
        return value
