"""Segment conditions on the region: a 省/市/区 code matched at its level, the picker in the builder,
and the migration of saved text conditions."""

import importlib

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.urls import reverse

from customers.tests.factories import CustomerFactory
from marketing.models import Segment
from marketing.services import segments
from sales.tests.factories import LeadFactory

from .factories import make_segment


def cond(field, op, value):
    return {"field": field, "op": op, "value": value}


def members(org, subject, *conditions):
    definition = segments.clean_definition(
        subject, {"match": "all", "groups": [{"match": "all", "conditions": list(conditions)}]}
    )
    return sorted(
        segments.members(org.marketing, subject=subject, definition=definition).values_list("name", flat=True)
    )


@pytest.fixture
def people(org):
    CustomerFactory(name="西湖", region="330106", owner=org.rep1)
    CustomerFactory(name="滨江", region="330108", owner=org.rep1)
    CustomerFactory(name="宁波", region="330200", owner=org.rep1)
    CustomerFactory(name="南京", region="320106", owner=org.rep1)
    CustomerFactory(name="未知", region="", owner=org.rep1)
    return org


@pytest.mark.parametrize(
    "region,expected",
    [
        ("330000", ["宁波", "滨江", "西湖"]),
        ("330100", ["滨江", "西湖"]),
        ("330106", ["西湖"]),
        ("440000", []),
    ],
)
def test_customers_in_a_region_at_each_level(people, region, expected):
    assert members(people, "customers", cond("region", "in_region", region)) == expected


def test_customers_outside_a_region_and_without_one(people):
    assert members(people, "customers", cond("region", "not_in_region", "330100")) == ["南京", "宁波", "未知"]
    assert members(people, "customers", cond("region", "empty", None)) == ["未知"]


def test_leads_in_a_region_by_the_code_of_their_text(org):
    LeadFactory(name="浦东", region="上海浦东新区", owner=org.rep1)
    LeadFactory(name="徐汇", region="上海市徐汇区", owner=org.rep1)
    LeadFactory(name="杭州", region="杭州", owner=org.rep1)
    assert members(org, "leads", cond("region", "in_region", "310000")) == ["徐汇", "浦东"]
    assert members(org, "leads", cond("region", "in_region", "310115")) == ["浦东"]
    assert members(org, "leads", cond("region", "in_region", "330100")) == ["杭州"]


def test_an_unknown_region_code_is_an_error_beside_the_condition(org):
    with pytest.raises(ValidationError) as error:
        segments.clean_definition(
            "customers",
            {"match": "all", "groups": [{"match": "all", "conditions": [cond("region", "in_region", "上海")]}]},
        )
    assert error.value.message_dict == {"g0-c0": ["请选择省、市或区县。"]}


def test_describe_names_the_region(org):
    definition = {"match": "all", "groups": [{"match": "all", "conditions": [cond("region", "in_region", "330106")]}]}
    assert segments.describe("customers", definition) == "(区域 位于 浙江省 杭州市 西湖区)"


def test_builder_shows_the_picker_with_the_cities_of_the_chosen_province(client, org):
    client.force_login(org.marketing)
    response = client.post(
        reverse("marketing:segment_builder"),
        {
            "subject": "customers",
            "match": "all",
            "g0-match": "all",
            "g0-c0-field": "region",
            "g0-c0-op": "in_region",
            "g0-c0-value": ["330000", "320100"],
        },
    )  # a city left over from the province chosen before
    html = response.content.decode()
    assert response.status_code == 200
    assert '<option value="330000" selected>浙江省</option>' in html
    assert '<option value="330100">杭州市</option>' in html
    assert "320100" not in html


def test_builder_counts_the_picked_city(client, people):
    client.force_login(people.marketing)
    response = client.post(
        reverse("marketing:segment_builder"),
        {
            "subject": "customers",
            "match": "all",
            "g0-match": "all",
            "g0-c0-field": "region",
            "g0-c0-op": "in_region",
            "g0-c0-value": ["330000", "330100", ""],
        },
    )
    assert 'data-testid="segment-count">2<' in response.content.decode()


def _saved(org, definition, name):
    """A segment saved by an older version (text conditions the current validation refuses)."""
    segment = make_segment(org, name=name)
    Segment.objects.filter(pk=segment.pk).update(definition=definition)
    return segment


def test_migration_turns_saved_region_text_into_codes(org):
    contains = _saved(
        org, {"match": "all", "groups": [{"match": "all", "conditions": [cond("region", "contains", "上海")]}]}, "甲"
    )
    several = _saved(
        org,
        {"match": "all", "groups": [{"match": "all", "conditions": [cond("region", "in", ["上海", "浙江杭州"])]}]},
        "乙",
    )
    unknown = _saved(
        org, {"match": "all", "groups": [{"match": "all", "conditions": [cond("region", "contains", "华东")]}]}, "丙"
    )
    migration = importlib.import_module("marketing.migrations.0005_segment_regions_as_codes")
    migration.forward(apps, None)
    for segment in (contains, several, unknown):
        segment.refresh_from_db()
    assert contains.definition["groups"] == [{"match": "all", "conditions": [cond("region", "in_region", "310000")]}]
    assert several.definition["groups"] == [
        {"match": "any", "conditions": [cond("region", "in_region", "310000"), cond("region", "in_region", "330100")]}
    ]
    assert unknown.definition["groups"] == [{"match": "all", "conditions": [cond("region", "contains", "华东")]}]
    assert segments.stored_problem(Segment.Subject.CUSTOMERS, unknown.definition) == "请选择比较方式。"
