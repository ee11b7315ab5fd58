"""Segment logic: every condition kind, AND/OR, the scope of the viewer, validation, and the builder."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone, translation

from customers.models import CustomerTag, LifecycleStage
from customers.tests.factories import CustomerFactory, TagFactory, make_order
from marketing.models import Segment
from marketing.services import segments
from sales.tests.factories import LeadFactory

from .factories import make_campaign, make_event, make_segment


def tag(customer, *tags):
    for t in tags:
        CustomerTag.objects.create(customer=customer, tag=t)


def names(qs):
    return sorted(qs.values_list("name", flat=True))


@pytest.fixture
def people(org):
    high, parents = TagFactory(name="高意向"), TagFactory(name="家长")
    now = timezone.now()
    a = CustomerFactory(name="A", owner=org.rep1, region="上海", lifecycle_stage=LifecycleStage.POTENTIAL)
    b = CustomerFactory(name="B", owner=org.rep1, region="上海浦东")
    c = CustomerFactory(name="C", owner=org.rep3, region="北京")
    d = CustomerFactory(name="D", owner=None, region="上海")
    tag(a, high, parents)
    tag(b, high)
    tag(c, parents)
    make_order(b, "300.00", placed_at=now - datetime.timedelta(days=10))
    make_order(c, "80.00", placed_at=now - datetime.timedelta(days=90))
    return {"high": high, "parents": parents, "a": a, "b": b, "c": c, "d": d}


def cond(field, op, value=None):
    return {"field": field, "op": op, "value": value}


def members(org, *groups, match="all", user=None):
    definition = segments.clean_definition(
        "customers", {"match": match, "groups": [{"match": g[0], "conditions": list(g[1:])} for g in groups]}
    )
    return names(segments.members(user or org.marketing, subject="customers", definition=definition))


def test_tags_any_all_none(org, people):
    ids = [people["high"].pk, people["parents"].pk]
    assert members(org, ("all", cond("tags", "any", ids))) == ["A", "B", "C"]
    assert members(org, ("all", cond("tags", "all", ids))) == ["A"]
    assert members(org, ("all", cond("tags", "none", ids))) == ["D"]


def test_high_intent_parents_without_an_order_in_60_days(org, people):
    """The issue's example: tags high-intent AND parent, no order in 60 days (or never)."""
    result = members(
        org,
        (
            "all",
            cond("tags", "all", [people["high"].pk, people["parents"].pk]),
            cond("days_since_order", "more_than", 60),
        ),
    )
    assert result == ["A"]
    assert members(org, ("all", cond("days_since_order", "more_than", 60))) == ["A", "C", "D"]
    assert members(org, ("all", cond("days_since_order", "within", 60))) == ["B"]


def test_groups_combine_with_or(org, people):
    result = members(org, ("all", cond("region", "in_region", "110000")), ("all", cond("owner", "empty")), match="any")
    assert result == ["C", "D"]
    assert members(org, ("any", cond("region", "in_region", "110000"), cond("owner", "empty"))) == ["C", "D"]


def test_order_figures_owner_department_and_region(org, people):
    assert members(org, ("all", cond("total_amount", "gte", "100"))) == ["B"]
    assert members(org, ("all", cond("order_count", "gte", 1), cond("total_amount", "lte", "100"))) == ["C"]
    assert members(org, ("all", cond("owner", "in", [org.rep1.pk]))) == ["A", "B"]
    assert members(org, ("all", cond("department", "in", [org.sales1.pk]))) == ["A", "B"]  # team1 is below sales1
    assert members(org, ("any", cond("region", "in_region", "310000"), cond("region", "in_region", "110000"))) == [
        "A",
        "B",
        "C",
        "D",
    ]


def test_campaign_participation(org, people):
    from marketing.services.campaigns import register

    campaign = make_campaign(org)
    event = make_event(campaign)
    register(event=event, customer=people["a"], attended=True)
    register(event=event, customer=people["b"])
    assert members(org, ("all", cond("campaign", "registered", campaign.pk))) == ["A", "B"]
    assert members(org, ("all", cond("campaign", "attended", campaign.pk))) == ["A"]


def test_count_respects_the_viewers_scope(org, people):
    definition = {"match": "all", "groups": []}
    assert segments.members(org.marketing, subject="customers", definition=definition).count() == 4
    assert names(segments.members(org.rep1, subject="customers", definition=definition)) == ["A", "B"]
    assert names(segments.members(org.manager2, subject="customers", definition=definition)) == ["C"]


def test_lead_segments(org):
    LeadFactory(name="L1", owner=org.rep1, score=80)
    LeadFactory(name="L2", owner=org.rep1, score=20)
    definition = segments.clean_definition(
        "leads", {"match": "all", "groups": [{"match": "all", "conditions": [cond("score", "gte", "50")]}]}
    )
    assert names(segments.members(org.marketing, subject="leads", definition=definition)) == ["L1"]


def test_bad_conditions_are_named(org):
    with translation.override("en"), pytest.raises(ValidationError) as exc:
        segments.clean_definition(
            "customers",
            {
                "match": "all",
                "groups": [
                    {
                        "match": "all",
                        "conditions": [
                            cond("order_count", "gte", "many"),
                            cond("nonsense", "in", [1]),
                            cond("lifecycle_stage", "in", []),
                        ],
                    }
                ],
            },
        )
    assert set(exc.value.message_dict) == {"g0-c0", "g0-c1", "g0-c2"}
    assert "whole number" in exc.value.message_dict["g0-c0"][0]


def test_saving_records_size_per_day(org, people):
    segment = make_segment(
        org, {"match": "all", "groups": [{"match": "all", "conditions": [cond("tags", "any", [people["high"].pk])]}]}
    )
    assert segment.size == 2
    assert list(segment.sizes.values_list("size", flat=True)) == [2]
    tag(people["c"], people["high"])
    segments.record_size(segment)
    assert segment.sizes.get().size == 3  # same day: updated, not duplicated


def test_builder_shows_live_count_and_sample(client, org, people):
    client.force_login(org.marketing)
    response = client.post(
        reverse("marketing:segment_builder"),
        {
            "subject": "customers",
            "match": "all",
            "g0-match": "all",
            "g0-c0-field": "tags",
            "g0-c0-op": "all",
            "g0-c0-value": [people["high"].pk, people["parents"].pk],
            "g0-c1-field": "days_since_order",
            "g0-c1-op": "more_than",
            "g0-c1-value": "60",
        },
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="segment-count">1<' in body
    assert ">A</a>" in body


def test_builder_adds_and_removes_conditions(client, org):
    client.force_login(org.marketing)
    response = client.post(
        reverse("marketing:segment_builder"),
        {
            "subject": "customers",
            "match": "all",
            "g0-match": "all",
            "g0-c0-field": "region",
            "g0-c0-op": "in_region",
            "g0-c0-value": "310000",
            "builder_action": "add:g0",
        },
    )
    assert response.content.decode().count('data-testid="condition"') == 2
    response = client.post(
        reverse("marketing:segment_builder"),
        {
            "subject": "customers",
            "match": "all",
            "g0-match": "all",
            "g0-c0-field": "region",
            "g0-c0-op": "in_region",
            "g0-c0-value": "310000",
            "builder_action": "remove:g0-c0",
        },
    )
    assert response.content.decode().count('data-testid="condition"') == 0


def test_save_segment_through_the_form_and_open_it(client, org, people, django_assert_max_num_queries):
    client.force_login(org.marketing)
    response = client.post(
        reverse("marketing:segment_create"),
        {
            "name": "高意向家长 60天未下单",
            "subject": "customers",
            "description": "",
            "match": "all",
            "g0-match": "all",
            "g0-c0-field": "tags",
            "g0-c0-op": "all",
            "g0-c0-value": [people["high"].pk, people["parents"].pk],
            "g0-c1-field": "days_since_order",
            "g0-c1-op": "more_than",
            "g0-c1-value": "60",
        },
    )
    segment = Segment.objects.get()
    assert response.status_code == 302 and response.url == segment.get_absolute_url()
    assert segment.size == 1
    with django_assert_max_num_queries(20):
        page = client.get(segment.get_absolute_url())
    assert "高意向家长 60天未下单" in page.content.decode()
    edit = client.get(reverse("marketing:segment_edit", args=[segment.pk]))
    assert edit.content.decode().count('data-testid="condition"') == 2


def test_invalid_condition_is_shown_beside_it(client, org):
    client.force_login(org.marketing)
    response = client.post(
        reverse("marketing:segment_create"),
        {
            "name": "x",
            "subject": "customers",
            "match": "all",
            "g0-match": "all",
            "g0-c0-field": "order_count",
            "g0-c0-op": "gte",
            "g0-c0-value": "abc",
        },
    )
    assert response.status_code == 200
    assert not Segment.objects.exists()
    assert "invalid-feedback" in response.content.decode()


def test_reps_cannot_build_segments(client, org):
    client.force_login(org.rep1)
    assert client.get(reverse("marketing:segments")).status_code == 403
    assert client.post(reverse("marketing:segment_builder"), {"subject": "customers"}).status_code == 403


def test_segment_list_reads_names_in_bounded_queries(client, org, people, django_assert_max_num_queries):
    for index in range(6):
        make_segment(
            org,
            {
                "match": "all",
                "groups": [
                    {
                        "match": "all",
                        "conditions": [cond("tags", "any", [people["high"].pk]), cond("owner", "in", [org.rep1.pk])],
                    }
                ],
            },
            name=f"S{index}",
        )
    client.force_login(org.marketing)
    with django_assert_max_num_queries(10):
        page = client.get(reverse("marketing:segments"))
    assert page.content.decode().count("高意向") == 6


def test_a_tag_rule_tags_a_segments_members(client, org, people):
    from customers.models import TagRule
    from customers.services.tags import apply_rule

    segment = make_segment(
        org, {"match": "all", "groups": [{"match": "all", "conditions": [cond("region", "in_region", "310000")]}]}
    )
    vip = TagFactory(name="上海家长")
    client.force_login(org.admin)
    form = client.get(reverse("customers:tag_rule_create") + f"?segment={segment.pk}")
    assert f'value="{segment.pk}" selected' in form.content.decode()
    response = client.post(
        reverse("customers:tag_rule_create"),
        {"name": "上海", "tag": vip.pk, "query": "", "segment": segment.pk, "is_active": "on"},
    )
    assert response.status_code == 302
    result = apply_rule(TagRule.objects.get())
    assert result["matching"] == 3
    assert names(vip.customers.all()) == ["A", "B", "D"]
    empty = client.post(reverse("customers:tag_rule_create"), {"name": "x", "tag": vip.pk, "query": "", "segment": ""})
    assert empty.status_code == 200 and "invalid-feedback" in empty.content.decode()


def test_a_coupon_batch_for_a_segment_only(org, people):
    from coupons.models import Batch
    from coupons.services import claims
    from coupons.services.batches import validate_batch as validate
    from coupons.tests.factories import make_batch
    from crm.api.errors import BusinessRuleError

    segment = make_segment(
        org, {"match": "all", "groups": [{"match": "all", "conditions": [cond("tags", "any", [people["high"].pk])]}]}
    )
    batch = make_batch(org, audience=Batch.Audience.SEGMENT, audience_segment=segment)
    coupon = claims.claim(batch_code=batch.code, customer=people["a"], channel="app")
    assert coupon.customer == people["a"]
    with pytest.raises(BusinessRuleError) as exc:
        claims.claim(batch_code=batch.code, customer=people["c"], channel="app")
    assert exc.value.error_code == "not_eligible"
    batch.audience_segment = None
    with pytest.raises(ValidationError) as invalid:
        validate(batch)
    assert "audience_segment" in invalid.value.message_dict


def test_segment_form_names_whom_it_selects_in_chinese(client, org):
    client.force_login(org.marketing)
    page = client.get(reverse("marketing:segment_create"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert '<label class="form-label" for="id_subject">分群对象 <span class="text-danger"' in page
    assert "操作人" not in page
