"""The tables of the marketing pages."""

import django_tables2 as tables
from django.utils.translation import gettext_lazy

from crm.money import money

from .models import Campaign, CampaignStats


class FigureColumn(tables.Column):
    """A figure from the campaign's rolled-up statistics."""

    def __init__(self, key, *args, money=False, **kwargs):
        self.key, self.money = key, money
        kwargs.setdefault("orderable", False)
        kwargs.setdefault("empty_values", ())
        kwargs.setdefault("attrs", {"td": {"class": "text-end"}, "th": {"class": "text-end"}})
        super().__init__(*args, accessor="pk", **kwargs)

    def render(self, record):
        try:
            figures = record.stats.figures
        except CampaignStats.DoesNotExist:
            figures = {}
        value = figures.get(self.key)
        if value is None:
            return "—"
        return money(value) if self.money else value

    def value(self, record):
        try:
            return record.stats.figures.get(self.key)
        except CampaignStats.DoesNotExist:
            return None


class CampaignTable(tables.Table):
    name = tables.Column(linkify=True)
    reached = FigureColumn("reached", verbose_name=gettext_lazy("reached"))
    registered = FigureColumn("registered", verbose_name=gettext_lazy("registered"))
    attended = FigureColumn("attended", verbose_name=gettext_lazy("attended"))
    leads = FigureColumn("leads", verbose_name=gettext_lazy("leads"))
    deals = FigureColumn("deals", verbose_name=gettext_lazy("deals"))
    gmv = FigureColumn("gmv", verbose_name="GMV", money=True)
    cost = FigureColumn("cost", verbose_name=gettext_lazy("cost"), money=True)
    cost_per_deal = FigureColumn("cost_per_deal", verbose_name=gettext_lazy("cost per deal"), money=True)
    roi = FigureColumn("roi", verbose_name="ROI")

    class Meta:
        model = Campaign
        fields = ["name", "kind", "status", "start", "end", "owner"]
        sequence = [
            "name",
            "kind",
            "status",
            "start",
            "end",
            "owner",
            "reached",
            "registered",
            "attended",
            "leads",
            "deals",
            "gmv",
            "cost",
            "cost_per_deal",
            "roi",
        ]
        attrs = {"class": "table table-hover align-middle mb-0"}
        order_by = ("-start",)
