"""Benchmark scenarios of the marketing app (see bench/scenarios.py).

Issue 6's targets: the segment count preview over 100,000 customers (the builder's live count),
campaign statistics pages, and — timed by ``python -m bench.marketing_jobs`` — building the
recipient list of a 50,000-person push."""

from bench.scenarios import Scenario, register
from customers.models import Tag
from marketing.models import Campaign, Event, Segment

#: the builder's request for "high intent, primary-school parents, no order in 60 days"


def _preview(client, ctx):
    tags = ctx.cached("marketing.tags", lambda: dict(Tag.objects.values_list("name", "pk")))
    return client.post(
        "/marketing/segments/builder/",
        {
            "subject": "customers",
            "match": "all",
            "g0-match": "all",
            "g0-c0-field": "tags",
            "g0-c0-op": "any",
            "g0-c0-value": [tags.get("高意向", 0)],
            "g0-c1-field": "tags",
            "g0-c1-op": "any",
            "g0-c1-value": [tags.get("小学", 0), tags.get("学龄前", 0)],
            "g0-c2-field": "days_since_order",
            "g0-c2-op": "more_than",
            "g0-c2-value": "60",
        },
    )


def _preview_or(client, ctx):
    return client.post(
        "/marketing/segments/builder/",
        {
            "subject": "customers",
            "match": "any",
            "g0-match": "all",
            "g0-c0-field": "lifecycle_stage",
            "g0-c0-op": "in",
            "g0-c0-value": ["at_risk", "churned"],
            "g1-match": "all",
            "g1-c0-field": "total_amount",
            "g1-c0-op": "gte",
            "g1-c0-value": "20000",
            "g1-c1-field": "region",
            "g1-c1-op": "in_region",
            "g1-c1-value": "310000",
        },
    )


def _campaign(ctx):
    campaign = ctx.cached(
        "marketing.campaign", lambda: Campaign.objects.filter(status="finished").order_by("pk").first()
    )
    return f"/marketing/campaigns/{campaign.pk}/"


def _event(ctx):
    event = ctx.cached("marketing.event", lambda: Event.objects.order_by("-registered_count").first())
    return f"/marketing/events/{event.pk}/"


def _segment(ctx):
    segment = ctx.cached("marketing.segment", lambda: Segment.objects.order_by("-size").first())
    return f"/marketing/segments/{segment.pk}/"


register(
    Scenario("marketing.segment_preview", "marketing", "/marketing/segments/builder/", request=_preview),
    Scenario("marketing.segment_preview.or", "marketing", "/marketing/segments/builder/", request=_preview_or),
    Scenario("marketing.campaigns", "marketing", "/marketing/"),
    Scenario("marketing.campaign", "marketing", _campaign),
    Scenario("marketing.event", "marketing", _event),
    Scenario("marketing.segment", "marketing", _segment),
    Scenario("marketing.segments", "marketing", "/marketing/segments/"),
    Scenario("marketing.content", "marketing", "/marketing/content/"),
)
