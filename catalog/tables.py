import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from crm.ui import LocalDateTimeColumn

from .models import Entitlement, Product, SalesPolicy

RIGHT = {"th": {"class": "text-end"}, "td": {"class": "text-end text-nowrap"}}


class ProductTable(tables.Table):
    code = tables.Column(linkify=True)
    name = tables.Column(linkify=True)
    category = tables.Column(order_by=("category__path",))
    sku_count = tables.Column(verbose_name=_("SKUs"))
    sale_from = tables.DateColumn(format="Y-m-d")
    sale_until = tables.DateColumn(format="Y-m-d")
    updated_at = LocalDateTimeColumn(verbose_name=_("updated"), format="Y-m-d H:i")

    class Meta:
        model = Product
        fields = (
            "code",
            "name",
            "category",
            "status",
            "sku_count",
            "sale_from",
            "sale_until",
            "updated_at",
        )
        attrs = {"class": "table table-hover align-middle mb-0"}
        order_by = ("code",)


class PolicyTable(tables.Table):
    name = tables.Column(linkify=True)
    target = tables.Column(accessor="pk", verbose_name=_("applies to"), orderable=False)
    figure = tables.Column(accessor="pk", verbose_name=_("price or discount"), orderable=False)
    valid_from = tables.DateColumn(format="Y-m-d")
    valid_until = tables.DateColumn(format="Y-m-d")

    class Meta:
        model = SalesPolicy
        fields = (
            "name",
            "kind",
            "target",
            "figure",
            "channel",
            "region",
            "value_segment",
            "grid_class",
            "lifecycle_stage",
            "valid_from",
            "valid_until",
            "priority",
            "is_active",
        )
        attrs = {"class": "table table-hover align-middle mb-0"}
        order_by = ("-priority", "name")

    def render_target(self, record):
        if record.kind == SalesPolicy.Kind.PRICE_LIST:
            return _("%(count)s SKUs") % {"count": record.price_count}
        return record.sku or record.category or _("Everything")

    def render_figure(self, record):
        if record.kind == SalesPolicy.Kind.PERCENT:
            return f"{record.percent_off:,.2f}%"
        if record.kind == SalesPolicy.Kind.AMOUNT:
            return f"¥{record.amount_off:,.2f}"
        return "—"


class EntitlementTable(tables.Table):
    name = tables.Column(linkify=True)
    customer = tables.Column(
        linkify=lambda record: record.customer.get_absolute_url(),
        order_by=("customer__name",),
    )
    owner = tables.Column(
        accessor="customer__owner",
        verbose_name=_("owner"),
        order_by=("customer__owner__username",),
    )
    expires_on = tables.DateColumn(format="Y-m-d")
    granted_at = LocalDateTimeColumn(format="Y-m-d H:i")

    class Meta:
        model = Entitlement
        fields = (
            "name",
            "customer",
            "owner",
            "sku",
            "quantity",
            "balance",
            "expires_on",
            "granted_at",
        )
        attrs = {"class": "table table-hover align-middle mb-0"}
        order_by = ("-granted_at",)


class SoldLineTable(tables.Table):
    """An order line of the policy effect's or the business analysis's drill-down."""

    order = tables.Column(verbose_name=_("order"), linkify=lambda record: record.order.get_absolute_url())
    placed_at = LocalDateTimeColumn(accessor="order__placed_at", verbose_name=_("placed at"), format="Y-m-d H:i")
    customer = tables.Column(accessor="order__customer__name", verbose_name=_("customer"))
    channel = tables.Column(accessor="order__channel", verbose_name=_("channel"))
    sku = tables.Column(verbose_name=_("SKU"))
    category = tables.Column(verbose_name=_("category"))
    quantity = tables.Column(verbose_name=_("quantity"), attrs=RIGHT)
    price = tables.Column(verbose_name=_("price"), attrs=RIGHT)
    line_total = tables.Column(verbose_name=_("line total"), accessor="price", orderable=False, attrs=RIGHT)
    policy_name = tables.Column(verbose_name=_("sales policy"), default="—")
    policy_price = tables.Column(verbose_name=_("policy price"), attrs=RIGHT)
    cost = tables.Column(verbose_name=_("unit cost"), attrs=RIGHT)

    class Meta:
        attrs = {"class": "table table-hover align-middle mb-0"}
        order_by = ("-placed_at",)

    def render_channel(self, record):
        return record.order.get_channel_display()

    def render_price(self, value):
        return f"{value:,.2f}"

    def render_line_total(self, record):
        """What the line adds to the analysis cell's GMV: quantity × price."""
        return f"{record.price * record.quantity:,.2f}"

    def render_policy_price(self, value):
        return f"{value:,.2f}"

    def render_cost(self, value):
        return f"{value:,.2f}"
