"""Saved filters (tag rules, segments) are checked against the known fields when saved, and a
stored filter that is no longer valid matches nobody at run time and says so — never everyone."""

import pytest
from django.utils import translation

from customers import services
from customers.models import CustomerTag, TagRule
from customers.tests.factories import CustomerFactory, TagFactory
from marketing.models import Segment
from marketing.services import segments


@pytest.fixture
def shanghai(db):
    """Five customers, two of them in 上海."""
    return [CustomerFactory(name=f"客户{i}", region="上海" if i < 2 else "北京") for i in range(5)]


def test_a_misspelt_field_in_a_tag_rule_is_an_error_beside_the_filter(client, org, shanghai):
    tag = TagFactory(name="上海客户")
    client.force_login(org.admin)
    response = client.post(
        "/customers/tags/rules/new/",
        {"name": "上海", "tag": tag.pk, "query": "regoin=上海", "is_active": "on"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert TagRule.objects.count() == 0
    form = response.context["form"]
    assert list(form.errors) == ["query"]
    assert "“regoin” is not a filter of the customer list" in form.errors["query"][0]


def test_an_unknown_value_in_a_tag_rule_is_an_error_beside_the_filter(client, org, shanghai):
    tag = TagFactory(name="上海客户")
    client.force_login(org.admin)
    response = client.post(
        "/customers/tags/rules/new/",
        {"name": "x", "tag": tag.pk, "query": "lifecycle_stage=vip", "is_active": "on"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert TagRule.objects.count() == 0
    assert response.context["form"].errors["query"][0].startswith("“lifecycle_stage”: Select a valid choice.")


def test_the_correct_tag_rule_saves_and_tags_the_two_in_shanghai(client, org, shanghai):
    tag = TagFactory(name="上海客户")
    client.force_login(org.admin)
    response = client.post(
        "/customers/tags/rules/new/", {"name": "上海", "tag": tag.pk, "query": "region=上海", "is_active": "on"}
    )
    assert response.status_code == 302
    rule = TagRule.objects.get()
    client.post(f"/customers/tags/rules/{rule.pk}/run/")
    assert CustomerTag.objects.filter(tag=tag).count() == 2


def test_a_stored_tag_rule_with_an_unknown_field_tags_nobody_and_says_why(client, org, shanghai):
    tag = TagFactory(name="上海客户")
    rule = TagRule.objects.create(name="错拼", tag=tag, query="regoin=上海")  # saved before the check existed
    with translation.override("zh-hans"):
        result = services.apply_rule(rule)
    assert result["matching"] == 0
    assert CustomerTag.objects.filter(tag=tag).count() == 0
    rule.refresh_from_db()
    assert rule.last_count == 0
    assert rule.last_error.startswith("“regoin”不是客户列表的筛选条件")
    client.force_login(org.admin)
    page = client.get("/customers/tags/").content.decode()
    assert "筛选条件无效，不匹配任何客户： “regoin”不是客户列表的筛选条件" in page


def test_a_segment_condition_on_a_deleted_tag_is_an_error_beside_it(org, shanghai):
    tag = TagFactory(name="旧标签")
    tag_id = tag.pk
    tag.delete()
    with pytest.raises(segments.ValidationError) as error:
        segments.clean_definition(
            "customers",
            {
                "match": "all",
                "groups": [{"match": "all", "conditions": [{"field": "tags", "op": "none", "value": [tag_id]}]}],
            },
        )
    assert list(error.value.message_dict) == ["g0-c0"]


def test_a_stored_segment_that_is_no_longer_valid_matches_nobody_and_says_so(client, org, shanghai):
    tag = TagFactory(name="旧标签")
    segment = Segment.objects.create(
        name="没有旧标签的人",
        owner=org.marketing,
        definition={
            "match": "all",
            "groups": [{"match": "all", "conditions": [{"field": "tags", "op": "none", "value": [tag.pk]}]}],
        },
    )
    assert segments.segment_members(segment).count() == 5
    tag.delete()
    assert segments.segment_members(segment).count() == 0
    with translation.override("zh-hans"):
        assert segments.record_size(segment) == 0
    segment.refresh_from_db()
    assert segment.problem == "所选的值已不存在，请重新选择。"
    client.force_login(org.marketing)
    page = client.get(segment.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-testid="segment-problem"' in page


def test_a_stored_segment_with_an_unknown_field_matches_nobody(org, shanghai):
    segment = Segment.objects.create(
        name="错拼",
        owner=org.marketing,
        definition={
            "match": "all",
            "groups": [{"match": "all", "conditions": [{"field": "regoin", "op": "contains", "value": "上海"}]}],
        },
    )
    assert segments.segment_members(segment).count() == 0


def test_a_tag_rule_on_a_segment_no_longer_valid_tags_nobody_and_says_why(org, shanghai):
    old = TagFactory(name="旧标签")
    segment = Segment.objects.create(
        name="没有旧标签的人",
        owner=org.marketing,
        definition={
            "match": "all",
            "groups": [{"match": "all", "conditions": [{"field": "tags", "op": "none", "value": [old.pk]}]}],
        },
    )
    tag = TagFactory(name="目标")
    rule = TagRule.objects.create(name="按分群", tag=tag, segment=segment)
    assert services.apply_rule(rule)["matching"] == 5
    old.delete()
    with translation.override("zh-hans"):
        result = services.apply_rule(rule)
    assert (result["matching"], result["removed"]) == (0, 5)
    rule.refresh_from_db()
    assert rule.last_error == "所选的值已不存在，请重新选择。"
