"""会员配置: admins keep the tiers, earning rules and points offers on their own pages. A rename
follows the tier onto its sales policies; a tier in use is not deleted; every change is in the
audit log; errors stand beside their field; the lists read a bounded number of queries."""

from decimal import Decimal
from unittest import mock

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from catalog.models import SalesPolicy
from catalog.tests.factories import PolicyFactory
from coupons.tests.factories import make_batch, make_budget
from crm.tests.factories import OrgFixture
from customers.tests.factories import CustomerFactory
from members.models import EarnRule, Member, PointsOffer, Tier, TierChange


@pytest.fixture
def org(db):
    return OrgFixture()


@pytest.fixture
def tiers(db):
    return {
        name: Tier.objects.create(name=name, position=i, min_spend=Decimal(spend))
        for i, (name, spend) in enumerate([("普通", "0"), ("银卡", "5000"), ("金卡", "20000")])
    }


@pytest.fixture
def admin(client, org):
    client.force_login(org.admin)
    return client


def tier_post(**overrides):
    data = {
        "name": "铂金",
        "position": "5",
        "min_spend": "50000",
        "min_points": "",
        "points_per_yuan": "1.5",
        "benefit_sku": "",
        "benefit_quantity": "0",
    }
    data.update(overrides)
    return data


def field_errors(response, field):
    return [str(e) for e in response.context["form"].errors.get(field, [])]


# --- tiers ---------------------------------------------------------------------------------------


def test_an_admin_adds_a_tier_and_the_audit_log_names_him(admin, org, tiers):
    response = admin.post(reverse("members:tiers"), tier_post())
    assert response.status_code == 302
    tier = Tier.objects.get(name="铂金")
    assert (tier.position, tier.min_spend, tier.min_points, tier.points_per_yuan) == (
        5,
        Decimal("50000.00"),
        None,
        Decimal("1.50"),
    )
    entry = LogEntry.objects.get_for_object(tier).get()
    assert (entry.action, entry.actor) == (LogEntry.Action.CREATE, org.admin)


def test_renaming_a_tier_renames_it_on_every_policy_for_it_and_logs_each_policy(admin, org, tiers):
    gold = [PolicyFactory(name=f"金卡会员价{i}", member_tier="金卡") for i in range(2)]
    silver = PolicyFactory(name="银卡会员价", member_tier="银卡")
    anyone = PolicyFactory(name="通用价", member_tier="")
    response = admin.post(
        reverse("members:tier_edit", args=[tiers["金卡"].pk]), tier_post(name="黄金", position="2", min_spend="20000")
    )
    assert response.status_code == 302
    assert dict(SalesPolicy.objects.values_list("pk", "member_tier")) == {
        gold[0].pk: "黄金",
        gold[1].pk: "黄金",
        silver.pk: "银卡",
        anyone.pk: "",
    }
    assert list(Tier.objects.values_list("name", flat=True)) == ["普通", "银卡", "黄金"]
    policy_type = ContentType.objects.get_for_model(SalesPolicy)
    logged = LogEntry.objects.filter(content_type=policy_type, action=LogEntry.Action.UPDATE, actor=org.admin)
    assert sorted(int(pk) for pk in logged.values_list("object_pk", flat=True)) == sorted(p.pk for p in gold)


def test_a_rename_that_fails_leaves_the_policies_on_the_old_name(admin, tiers):
    policy = PolicyFactory(name="金卡会员价", member_tier="金卡")
    response = admin.post(reverse("members:tier_edit", args=[tiers["金卡"].pk]), tier_post(name="银卡"))
    assert response.status_code == 400
    assert field_errors(response, "name") == ["另一个等级已叫银卡。"]
    policy.refresh_from_db()
    assert (policy.member_tier, Tier.objects.get(pk=tiers["金卡"].pk).name) == ("金卡", "金卡")


def test_a_tier_with_members_and_policies_is_not_deleted_and_the_message_says_how_many(admin, tiers):
    for name in ("周杰", "王芳"):
        Member.objects.create(customer=CustomerFactory(name=name), tier=tiers["金卡"])
    PolicyFactory(name="金卡会员价", member_tier="金卡")
    response = admin.post(reverse("members:tier_delete", args=[tiers["金卡"].pk]), follow=True)
    assert [str(m) for m in response.context["messages"]] == [
        "等级金卡未删除：2 位会员持有该等级，1 条销售政策适用于该等级。请先把他们调到别的等级。"
    ]
    assert Tier.objects.filter(pk=tiers["金卡"].pk).count() == 1


def test_a_tier_in_members_histories_is_not_deleted(admin, tiers):
    member = Member.objects.create(customer=CustomerFactory(name="周杰"), tier=tiers["银卡"])
    TierChange.objects.create(member=member, from_tier=tiers["金卡"], to_tier=tiers["银卡"], reason="降级")
    response = admin.post(reverse("members:tier_delete", args=[tiers["金卡"].pk]), follow=True)
    assert [str(m) for m in response.context["messages"]] == ["等级金卡未删除：会员的等级历史中有 1 条变更涉及该等级。"]
    assert Tier.objects.filter(pk=tiers["金卡"].pk).count() == 1


def test_an_unused_tier_is_deleted_with_its_own_rules_and_both_are_logged(admin, org, tiers):
    tier = tiers["金卡"]
    rule = EarnRule.objects.create(source="check_in", tier=tier, points=5)
    response = admin.post(reverse("members:tier_delete", args=[tier.pk]))
    assert response.status_code == 302
    assert (Tier.objects.filter(pk=tier.pk).count(), EarnRule.objects.filter(pk=rule.pk).count()) == (0, 0)
    deleted = LogEntry.objects.filter(action=LogEntry.Action.DELETE, actor=org.admin)
    assert sorted(deleted.values_list("object_repr", flat=True)) == sorted([str(rule), "金卡"])


def test_a_free_service_needs_its_sku_and_the_error_stands_beside_it(admin, tiers):
    response = admin.post(reverse("members:tiers"), tier_post(benefit_quantity="2"))
    assert response.status_code == 400
    assert field_errors(response, "benefit_sku") == ["请选择赠送服务，或把赠送数量设为 0。"]
    assert Tier.objects.filter(name="铂金").count() == 0


def test_a_negative_spend_threshold_is_refused_beside_its_field(admin, tiers):
    response = admin.post(reverse("members:tiers"), tier_post(min_spend="-1"))
    assert (response.status_code, len(field_errors(response, "min_spend"))) == (400, 1)


def test_recompute_now_queues_the_tier_review_after_the_commit(admin, tiers, django_capture_on_commit_callbacks):
    with mock.patch("members.tasks.recompute_tiers.delay") as delay:
        with django_capture_on_commit_callbacks(execute=True):
            response = admin.post(reverse("members:tier_recompute"))
    assert (response.status_code, delay.call_count) == (302, 1)


def test_the_tier_list_shows_counts_in_a_bounded_number_of_queries(admin, tiers, django_assert_max_num_queries):
    for i in range(3):
        Member.objects.create(customer=CustomerFactory(name=f"会员{i}"), tier=tiers["银卡"])
    PolicyFactory(name="银卡会员价", member_tier="银卡")
    for i in range(5):
        Tier.objects.create(name=f"等级{i}", position=10 + i)
    with django_assert_max_num_queries(12):
        response = admin.get(reverse("members:tiers"))
    rows = {row.name: (row.member_count, row.policy_count) for row in response.context["rows"]}
    assert (len(rows), rows["银卡"], rows["金卡"]) == (8, (3, 1), (0, 0))
    assert "立即重新计算" in response.content.decode()


# --- earning rules -------------------------------------------------------------------------------


def test_an_admin_adds_and_edits_an_earning_rule(admin, org, tiers):
    url = reverse("members:earn_rules")
    data = {"source": "order", "category": "教育培训", "tier": tiers["金卡"].pk, "points_per_yuan": "2", "points": ""}
    assert admin.post(url, data).status_code == 302
    rule = EarnRule.objects.get()
    data["points_per_yuan"] = "3"
    assert admin.post(reverse("members:earn_rule_edit", args=[rule.pk]), data).status_code == 302
    rule.refresh_from_db()
    assert (rule.source, rule.category, rule.tier, rule.points_per_yuan) == ("order", "教育培训", tiers["金卡"], 3)
    actions = list(LogEntry.objects.get_for_object(rule).filter(actor=org.admin).values_list("action", flat=True))
    assert sorted(actions) == [LogEntry.Action.CREATE, LogEntry.Action.UPDATE]


def test_a_second_rule_for_the_same_source_category_and_tier_is_refused_beside_the_source(admin, tiers):
    EarnRule.objects.create(source="check_in", tier=None, points=5)
    response = admin.post(reverse("members:earn_rules"), {"source": "check_in", "points": "8"})
    assert response.status_code == 400
    assert field_errors(response, "source") == ["已有一条规则按此来源为该品类和等级积分。"]
    assert EarnRule.objects.count() == 1


def test_a_check_in_rule_has_no_category(admin, tiers):
    response = admin.post(reverse("members:earn_rules"), {"source": "check_in", "category": "教育培训", "points": "5"})
    assert field_errors(response, "category") == ["只有订单规则才有品类。"]


def test_an_earning_rule_is_deleted_and_logged(admin, org):
    rule = EarnRule.objects.create(source="attendance", points=10)
    assert admin.post(reverse("members:earn_rule_delete", args=[rule.pk])).status_code == 302
    assert EarnRule.objects.count() == 0
    assert LogEntry.objects.filter(object_pk=str(rule.pk), action=LogEntry.Action.DELETE, actor=org.admin).count() == 1


def test_the_rule_list_reads_a_bounded_number_of_queries(admin, tiers, django_assert_max_num_queries):
    for i, tier in enumerate(tiers.values()):
        EarnRule.objects.create(source="order", category=f"品类{i}", tier=tier, points_per_yuan=2)
    with django_assert_max_num_queries(12):
        response = admin.get(reverse("members:earn_rules"))
    assert len(response.context["rows"]) == 3


# --- points offers -------------------------------------------------------------------------------


def test_an_admin_adds_edits_and_deletes_a_points_offer(admin, org):
    batch = make_batch(org)
    assert (
        admin.post(reverse("members:offers"), {"batch": batch.pk, "points": "300", "is_active": "on"}).status_code
        == 302
    )
    offer = PointsOffer.objects.get()
    edit = reverse("members:offer_edit", args=[offer.pk])
    assert admin.post(edit, {"batch": batch.pk, "points": "500"}).status_code == 302
    offer.refresh_from_db()
    assert (offer.batch, offer.points, offer.is_active) == (batch, 500, False)
    assert admin.post(reverse("members:offer_delete", args=[offer.pk])).status_code == 302
    actions = LogEntry.objects.filter(object_pk=str(offer.pk), actor=org.admin).values_list("action", flat=True)
    assert sorted(actions) == [LogEntry.Action.CREATE, LogEntry.Action.UPDATE, LogEntry.Action.DELETE]


def test_an_offer_costs_at_least_one_point_beside_the_points(admin, org):
    batch = make_batch(org)
    response = admin.post(reverse("members:offers"), {"batch": batch.pk, "points": "0", "is_active": "on"})
    assert (response.status_code, len(field_errors(response, "points")), PointsOffer.objects.count()) == (400, 1, 0)


def test_an_offer_list_reads_a_bounded_number_of_queries(admin, org, django_assert_max_num_queries):
    account = make_budget(org)
    for points in (100, 200, 300):
        PointsOffer.objects.create(batch=make_batch(org, account), points=points)
    with django_assert_max_num_queries(12):
        response = admin.get(reverse("members:offers"))
    assert [row.points for row in response.context["rows"]] == [100, 200, 300]


# --- who sees the settings -----------------------------------------------------------------------


def test_the_member_list_links_the_settings_for_admins_only(client, org):
    client.force_login(org.admin)
    assert 'data-testid="member-settings"' in client.get(reverse("members:list")).content.decode()
    client.force_login(org.rep1)
    assert 'data-testid="member-settings"' not in client.get(reverse("members:list")).content.decode()


def test_the_settings_menu_lists_the_three_pages_for_admins(client, org):
    client.force_login(org.admin)
    page = client.get(reverse("members:list")).content.decode()
    assert [
        url in page for url in ('href="/members/tiers/"', 'href="/members/earn-rules/"', 'href="/members/offers/"')
    ] == [
        True,
        True,
        True,
    ]


def test_the_offer_form_and_the_tier_prompt_read_as_a_member_would(admin, tiers, settings):
    admin.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    offers = admin.get(reverse("members:offers")).content.decode()
    assert '<label class="form-label" for="id_points">积分' in offers
    page = admin.get(reverse("members:tiers")).content.decode()
    name = Tier.objects.order_by("position").first().name
    assert f"删除等级“{name}”？" in page
