import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from .models import Contract, Instalment


class ContractTable(tables.Table):
    number = tables.Column(linkify=True)
    title = tables.Column(linkify=True)
    customer = tables.Column(linkify=True)
    amount = tables.Column(attrs={"td": {"class": "text-end"}})
    received = tables.Column(attrs={"td": {"class": "text-end"}})
    signed_on = tables.DateColumn(format="Y-m-d")

    class Meta:
        model = Contract
        fields = ("number", "title", "customer", "owner", "amount", "received", "status", "signed_on")
        attrs = {"class": "table table-hover align-middle mb-0"}

    def render_amount(self, value):
        return f"{value:,.2f}"

    def render_received(self, value):
        return f"{value:,.2f}"


class InstalmentTable(tables.Table):
    contract = tables.Column(linkify=True, accessor="contract__number", verbose_name=_("contract"))
    customer = tables.Column(accessor="contract__customer__name", verbose_name=_("customer"))
    owner = tables.Column(accessor="contract__owner", verbose_name=_("owner"))
    due_on = tables.DateColumn(format="Y-m-d")
    amount = tables.Column(attrs={"td": {"class": "text-end"}})
    received = tables.Column(attrs={"td": {"class": "text-end"}})

    class Meta:
        model = Instalment
        fields = ("contract", "sequence", "customer", "owner", "due_on", "amount", "received")
        attrs = {"class": "table table-hover align-middle mb-0"}

    def render_amount(self, value):
        return f"{value:,.2f}"

    def render_received(self, value):
        return f"{value:,.2f}"
