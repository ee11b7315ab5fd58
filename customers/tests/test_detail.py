"""The 360 view: relations, household, referrals, tags, satisfaction, the timeline, scope, query count."""

import datetime
import json
import re

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from crm.phone import mask_mobile
from customers import services, timeline
from customers.models import CustomerRelation, CustomerTag, OwnershipChange, RelationKind
from customers.tests.factories import CustomerFactory, TagFactory, TagGroupFactory, make_order


@pytest.fixture(autouse=True)
def english(client, settings):
    """Assertions read the English texts (the UI speaks Chinese by default)."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


def page_of(client, customer):
    response = client.get(f"/customers/{customer.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def household_text(page):
    """The household list as text, one line per member."""
    match = re.search(r'<ul class="list-unstyled mb-0" data-testid="household">(.*?)</ul>', page, re.S)
    assert match, "no household list on the page"
    items = re.findall(r"<li.*?</li>", match.group(1), re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", item).split()) for item in items]


def link(client, customer, other, role, note=""):
    return client.post(f"/customers/{customer.pk}/relations/add/", {"role": role, "other": other.pk, "note": note})


@pytest.fixture
def family(org):
    """grandparent → parent → child, plus the parent's spouse; all rep1's."""
    make = lambda name: CustomerFactory(owner=org.rep1, name=name)  # noqa: E731
    people = {name: make(name) for name in ("王爷爷", "王芳", "小明", "李强")}
    services.link_customers(from_customer=people["王爷爷"], to_customer=people["王芳"], kind=RelationKind.PARENT)
    services.link_customers(from_customer=people["王芳"], to_customer=people["小明"], kind=RelationKind.PARENT)
    services.link_customers(from_customer=people["王芳"], to_customer=people["李强"], kind=RelationKind.SPOUSE)
    return people


# -- profile and figures ----------------------------------------------------------------------


def test_page_shows_custom_attributes_and_value_figures(client, org):
    from customers.models import CustomAttribute

    CustomAttribute.objects.create(key="school", label="学校")
    CustomAttribute.objects.create(key="grade", label="年级", position=1)
    customer = CustomerFactory(owner=org.rep1, custom={"school": "实验小学"})
    now = timezone.now()
    for days_ago, amount in ((40, "100.00"), (30, "200.00"), (10, "300.00")):
        make_order(customer, amount, placed_at=now - datetime.timedelta(days=days_ago))
    client.force_login(org.rep1)
    page = page_of(client, customer)
    text = " ".join(re.sub(r"<[^>]+>", " ", page).split())
    assert "学校 实验小学" in text and "年级 —" in text
    assert "orders 3" in text and "total spent ¥600" in text and "average order value ¥200" in text
    assert "median purchase interval (days) 15.0" in text and "days since last order 10" in text
    assert "first order " + timezone.localtime(now - datetime.timedelta(days=40)).strftime("%Y-%m-%d") in text
    assert re.search(r'data-testid="grid-class"[^>]*>Class [A-I]<', page)


def test_value_cards_show_a_large_amount_in_wan_with_the_exact_figure_on_hover(client, org, settings):
    customer = CustomerFactory(owner=org.rep1)
    make_order(customer, "1234567.89")
    make_order(customer, "1000.01")
    client.force_login(org.rep1)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    page = page_of(client, customer)
    total = re.search(r'data-testid="total-spent" title="([^"]*)">([^<]*)<', page)
    average = re.search(r'data-testid="average-order-value" title="([^"]*)">([^<]*)<', page)
    assert total.groups() == ("¥1,235,567.90", "¥123.56万")
    assert average.groups() == ("¥617,783.95", "¥61.78万")
    owner = re.search(r"</span>\s*· (负责人：[^<]*)\n", page)
    assert owner.group(1) == f"负责人：{org.rep1} · {org.rep1.department}"


def test_a_refused_satisfaction_score_puts_the_shared_error_summary_on_the_360(client, org):
    customer = CustomerFactory(owner=org.rep1)
    client.force_login(org.rep1)
    page = client.post(
        f"/customers/{customer.pk}/satisfaction/add/", {"kind": "csat", "score": 9, "source": "survey"}
    ).content.decode()
    summary = re.search(r'data-testid="error-summary">(.*?)</div>', page, re.S)
    text = " ".join(re.sub(r"<[^>]+>", " ", summary.group(1)).split())
    assert text == "Please correct the errors below: Score: CSAT scores go from 1 to 5."


# -- relations --------------------------------------------------------------------------------


def test_linking_through_the_page_shows_the_inverse_reading_on_the_other_customer(client, org):
    mother, child = CustomerFactory(owner=org.rep1, name="王芳"), CustomerFactory(owner=org.rep1, name="小明")
    client.force_login(org.rep1)
    response = link(client, mother, child, "child")
    assert response.status_code == 302
    # contact details are masked until revealed (crm.privacy)
    assert household_text(page_of(client, mother)) == [f"小明 — Child {mask_mobile(child.mobile)}"]
    assert household_text(page_of(client, child)) == [f"王芳 — Parent {mask_mobile(mother.mobile)}"]
    relation = CustomerRelation.objects.get()
    assert (relation.from_customer, relation.to_customer, relation.kind) == (mother, child, RelationKind.PARENT)


def test_self_link_is_refused(client, org):
    customer = CustomerFactory(owner=org.rep1)
    client.force_login(org.rep1)
    response = link(client, customer, customer, "spouse")
    assert response.status_code == 200
    assert "cannot be linked to themself" in response.content.decode()
    assert not CustomerRelation.objects.exists()
    with pytest.raises(ValidationError):
        services.link_customers(from_customer=customer, to_customer=customer, kind=RelationKind.SPOUSE)


def test_duplicate_link_is_refused(client, org):
    a, b = CustomerFactory(owner=org.rep1), CustomerFactory(owner=org.rep1)
    client.force_login(org.rep1)
    assert link(client, a, b, "child").status_code == 302
    response = link(client, a, b, "child")
    assert response.status_code == 200
    assert "This link exists already." in response.content.decode()
    assert CustomerRelation.objects.count() == 1
    with pytest.raises(ValidationError):
        services.link_customers(from_customer=a, to_customer=b, kind=RelationKind.PARENT)


def test_contradicting_link_is_refused(client, org):
    """A parent of B, then B parent of A."""
    a, b = CustomerFactory(owner=org.rep1, name="甲"), CustomerFactory(owner=org.rep1, name="乙")
    client.force_login(org.rep1)
    assert link(client, a, b, "child").status_code == 302
    response = link(client, b, a, "child")  # on B's page: A is B's child
    page = response.content.decode()
    assert response.status_code == 200
    assert "already linked as Parent" in page
    assert CustomerRelation.objects.count() == 1
    with pytest.raises(ValidationError):
        services.link_customers(from_customer=b, to_customer=a, kind=RelationKind.PARENT)


def test_a_family_link_and_a_referral_can_join_the_same_two_people(org):
    a, b = CustomerFactory(owner=org.rep1), CustomerFactory(owner=org.rep1)
    services.link_customers(from_customer=a, to_customer=b, kind=RelationKind.SIBLING)
    services.link_customers(from_customer=a, to_customer=b, kind=RelationKind.REFERRER)
    assert CustomerRelation.objects.count() == 2


@pytest.mark.parametrize("role,reading", [("spouse", "Spouse"), ("sibling", "Sibling")])
def test_symmetric_kinds_read_the_same_both_ways(client, org, role, reading):
    a, b = CustomerFactory(owner=org.rep1, name="甲"), CustomerFactory(owner=org.rep1, name="乙")
    client.force_login(org.rep1)
    assert link(client, b, a, role).status_code == 302
    assert household_text(page_of(client, a)) == [f"乙 — {reading} {mask_mobile(b.mobile)}"]
    assert household_text(page_of(client, b)) == [f"甲 — {reading} {mask_mobile(a.mobile)}"]
    # and the same link cannot be stored again from the other side
    assert link(client, a, b, role).status_code == 200
    assert CustomerRelation.objects.count() == 1


def test_guardian_and_referral_roles_are_stored_in_the_right_direction(client, org):
    ward, guardian, friend = (CustomerFactory(owner=org.rep1, name=n) for n in ("学员", "监护人", "朋友"))
    client.force_login(org.rep1)
    link(client, ward, guardian, "guardian")
    link(client, ward, friend, "referrer")
    assert CustomerRelation.objects.filter(from_customer=guardian, to_customer=ward, kind="guardian").exists()
    assert CustomerRelation.objects.filter(from_customer=friend, to_customer=ward, kind="referrer").exists()
    assert "Referred by" in page_of(client, ward)


def test_removing_a_link_from_the_page(client, org):
    a, b = CustomerFactory(owner=org.rep1, name="甲"), CustomerFactory(owner=org.rep1, name="乙")
    relation = services.link_customers(from_customer=a, to_customer=b, kind=RelationKind.SPOUSE)
    client.force_login(org.rep1)
    response = client.post(f"/customers/relations/{relation.pk}/delete/", {"customer": b.pk})
    assert response.status_code == 302 and response["Location"] == f"/customers/{b.pk}/"
    assert not CustomerRelation.objects.exists()


def test_relation_search_offers_only_customers_in_scope(client, org):
    mine = CustomerFactory(owner=org.rep1, name="我的")
    CustomerFactory(owner=org.rep1, name="王小二")
    CustomerFactory(owner=org.rep3, name="王大锤")
    client.force_login(org.rep1)
    response = client.get(f"/customers/{mine.pk}/relations/candidates/", {"q": "王"})
    options = response.content.decode()
    assert response.status_code == 200
    assert "王小二" in options and "王大锤" not in options


# -- household and referrals -------------------------------------------------------------------


def test_household_over_three_levels_appears_on_every_members_page(client, org, family):
    client.force_login(org.rep1)
    expected = {
        "王爷爷": {"王芳 — Child", "小明 — Child of 王芳", "李强 — Spouse of 王芳"},
        "王芳": {"王爷爷 — Parent", "小明 — Child", "李强 — Spouse"},
        "小明": {"王芳 — Parent", "王爷爷 — Parent of 王芳", "李强 — Spouse of 王芳"},
        "李强": {"王芳 — Spouse", "王爷爷 — Parent of 王芳", "小明 — Child of 王芳"},
    }
    for name, readings in expected.items():
        page = page_of(client, family[name])
        lines = {line.rsplit(" ", 1)[0] for line in household_text(page)}  # without the mobile
        assert lines == readings, name
        graph = json.loads(
            re.search(r'<script id="household-graph" type="application/json">(.*?)</script>', page, re.S).group(1)
        )
        series = graph["series"][0]
        assert series["type"] == "graph" and series["layout"] == "force"
        assert {node["name"] for node in series["data"]} == set(family)
        assert len(series["links"]) == 3
        me = next(node for node in series["data"] if node["id"] == str(family[name].pk))
        assert me["symbolSize"] > max(n["symbolSize"] for n in series["data"] if n is not me)
        assert 'data-chart="household-graph"' in page and "echarts.min.js" in page


def test_household_member_outside_scope_is_shown_by_name_with_masked_mobile(client, org):
    mine = CustomerFactory(owner=org.rep1, name="我的客户")
    theirs = CustomerFactory(owner=org.rep3, name="别人的家长", mobile="13800138000")
    services.link_customers(from_customer=theirs, to_customer=mine, kind=RelationKind.PARENT)
    client.force_login(org.rep1)
    page = page_of(client, mine)
    assert household_text(page) == ["别人的家长 — Parent 138****8000"]
    assert f'href="/customers/{theirs.pk}/"' not in page
    assert "13800138000" not in page


def test_marketing_sees_household_mobiles_masked(client, org, family):
    client.force_login(org.marketing)
    page = page_of(client, family["王芳"])
    assert family["小明"].mobile not in page
    assert f"{family['小明'].mobile[:3]}****{family['小明'].mobile[-4:]}" in page
    assert "Add relation" not in page  # marketing may not change customers


def test_referral_count_follows_the_chain(client, org):
    a, b, c, d, e = (CustomerFactory(owner=org.rep1, name=n) for n in "甲乙丙丁戊")
    for referrer, referred in ((a, b), (a, c), (b, d), (d, e)):
        services.link_customers(from_customer=referrer, to_customer=referred, kind=RelationKind.REFERRER)
    assert services.referral_count(a.pk) == 4
    assert services.referral_count(b.pk) == 2
    assert services.referral_count(e.pk) == 0
    client.force_login(org.rep1)
    assert "Brought 4 customers" in page_of(client, a)
    assert "Brought 2 customers" in page_of(client, b)
    page = page_of(client, e)
    assert "Brought 0 customers" in page and "Referred by" in page


# -- tags --------------------------------------------------------------------------------------


def test_tags_editing_keeps_one_tag_in_a_single_choice_group(client, org):
    customer = CustomerFactory(owner=org.rep1)
    intent = TagGroupFactory(name="意向", multiple=False)
    high, low = TagFactory(group=intent, name="高"), TagFactory(group=intent, name="低")
    interests = TagGroupFactory(name="兴趣", multiple=True)
    piano, art = TagFactory(group=interests, name="钢琴"), TagFactory(group=interests, name="美术")
    client.force_login(org.rep1)
    url = f"/customers/{customer.pk}/tags/"
    response = client.post(url, {f"group_{intent.pk}": high.pk, f"group_{interests.pk}": [piano.pk, art.pk]})
    assert response.status_code == 302
    assert set(customer.tags.all()) == {high, piano, art}
    assert client.post(url, {f"group_{intent.pk}": low.pk, f"group_{interests.pk}": [art.pk]}).status_code == 302
    assert set(customer.tags.all()) == {low, art}
    # a crafted request with two tags of the single-choice group still leaves one
    client.post(url, {f"group_{intent.pk}": [high.pk, low.pk]})
    assert CustomerTag.objects.filter(customer=customer, tag__group=intent).count() == 1
    page = page_of(client, customer)
    assert "意向" in page and 'type="radio"' in page and 'type="checkbox"' in page


def test_tags_page_shows_tags_grouped(client, org):
    customer = CustomerFactory(owner=org.rep1)
    tag = TagFactory(group=TagGroupFactory(name="人生阶段"), name="小学")
    services.set_customer_tags(customer=customer, tags=[tag])
    client.force_login(org.rep1)
    page = page_of(client, customer)
    assert re.search(r"人生阶段</div>\s*<span[^>]*>小学</span>", page)


# -- satisfaction ------------------------------------------------------------------------------


def satisfaction_badge(page):
    match = re.search(r'data-testid="satisfaction-level">.*?<span class="badge[^"]*">(.*?)</span>', page, re.S)
    return match.group(1)


def test_two_csat_fives_make_the_level_high(client, org):
    customer = CustomerFactory(owner=org.rep1)
    client.force_login(org.rep1)
    assert satisfaction_badge(page_of(client, customer)) == "Unrated"
    url = f"/customers/{customer.pk}/satisfaction/add/"
    for _ in range(2):
        assert client.post(url, {"kind": "csat", "score": 5, "source": "survey", "comment": "很好"}).status_code == 302
    page = page_of(client, customer)
    assert satisfaction_badge(page) == "High"
    assert "很好" in page


def test_an_nps_of_three_makes_the_level_low(client, org):
    customer = CustomerFactory(owner=org.rep1)
    client.force_login(org.rep1)
    client.post(f"/customers/{customer.pk}/satisfaction/add/", {"kind": "nps", "score": 3, "source": "service"})
    assert satisfaction_badge(page_of(client, customer)) == "Low"


def test_out_of_range_score_shows_the_error_beside_the_field(client, org):
    customer = CustomerFactory(owner=org.rep1)
    client.force_login(org.rep1)
    response = client.post(
        f"/customers/{customer.pk}/satisfaction/add/",
        {"kind": "csat", "score": 9, "source": "survey", "comment": "留着"},
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "CSAT scores go from 1 to 5." in page and "留着" in page
    assert not customer.satisfaction_records.exists()


# -- timeline ----------------------------------------------------------------------------------


def test_timeline_shows_an_order_and_an_ownership_change(client, org):
    customer = CustomerFactory(owner=org.rep1)
    make_order(customer, "128.00", lines=[{"sku": "A1", "price": "64"}, {"sku": "B2", "price": "64"}])
    services.assign_customers(
        actor=org.manager1, customers=type(customer).objects.filter(pk=customer.pk), owner=org.rep2, reason="交接"
    )
    client.force_login(org.manager1)
    page = page_of(client, customer)
    timeline_html = page[page.index('id="timeline-list"') :]
    assert "¥128.00" in timeline_html and "2 lines" in timeline_html
    assert f"{org.rep1} → <strong>{org.rep2}</strong>" in timeline_html
    assert "交接" in timeline_html


def test_timeline_shows_field_changes_from_the_audit_log(client, org):
    client.force_login(org.rep1)
    client.post("/customers/new/", {"kind": "individual", "name": "旧名", "source": "website", "region": "上海"})
    customer = type(CustomerFactory()).objects.get(name="旧名")
    client.post(
        f"/customers/{customer.pk}/edit/", {"kind": "individual", "name": "新名", "source": "website", "region": "北京"}
    )
    page = page_of(client, customer)
    text = " ".join(re.sub(r"<[^>]+>", " ", page[page.index('id="timeline-list"') :]).split())
    assert "region : 上海市 → 北京市" in text and "name : 旧名 → 新名" in text
    assert "Record created" in text


def test_mobile_changes_in_the_timeline_are_masked_for_marketing(client, org):
    client.force_login(org.rep1)
    client.post("/customers/new/", {"kind": "individual", "name": "张三", "source": "website", "mobile": "13800138000"})
    customer = type(CustomerFactory()).objects.get(name="张三")
    client.post(
        f"/customers/{customer.pk}/edit/",
        {"kind": "individual", "name": "张三", "source": "website", "mobile": "13900139000"},
    )
    client.force_login(org.marketing)
    page = page_of(client, customer)
    assert "13800138000" not in page and "13900139000" not in page
    assert "138****8000 → 139****9000" in page


def test_timeline_paginates_twenty_at_a_time(client, org):
    customer = CustomerFactory(owner=org.rep1)
    start = timezone.now() - datetime.timedelta(days=100)
    for day in range(45):
        make_order(customer, 10 + day, placed_at=start + datetime.timedelta(days=day), refresh=False)
    client.force_login(org.rep1)
    page = page_of(client, customer)
    # newest first: the record's creation (today), then the orders from the latest back
    assert page.count('class="history-item timeline-item"') == 20
    assert page.count('data-kind="order"') == 19 and "¥54.00" in page and "¥36.00" in page and "¥35.00" not in page
    assert f"/customers/{customer.pk}/timeline/?offset=20" in page
    second = client.get(f"/customers/{customer.pk}/timeline/", {"offset": 20}).content.decode()
    assert second.count('data-kind="order"') == 20 and "¥35.00" in second and "¥16.00" in second
    assert "¥36.00" not in second and "?offset=40" in second
    third = client.get(f"/customers/{customer.pk}/timeline/", {"offset": 40}).content.decode()
    assert third.count('data-kind="order"') == 6 and "¥10.00" in third and "Load more" not in third


def test_timeline_filters_by_kind(client, org):
    customer = CustomerFactory(owner=org.rep1)
    make_order(customer, 99)
    services.record_satisfaction(customer=customer, kind="csat", score=4, source="survey")
    client.force_login(org.rep1)
    only = client.get(f"/customers/{customer.pk}/timeline/", {"kind": "satisfaction", "card": "1"}).content.decode()
    assert 'data-kind="satisfaction"' in only and 'data-kind="order"' not in only


def test_other_apps_register_their_own_timeline_source(client, org):
    customer = CustomerFactory(owner=org.rep1, name="登记")
    timeline.register(
        "note",
        "Notes",
        lambda c: timeline.entries(type(c).objects.filter(pk=c.pk), "note", "created_at"),
        lambda ids: type(customer).objects.filter(pk__in=ids),
        "customers/detail/timeline/lifecycle.html",
    )
    try:
        entries = timeline.page(customer).entries
        assert [e.kind for e in entries if e.kind == "note"] == ["note"]
    finally:
        timeline.unregister("note")


# -- scope -------------------------------------------------------------------------------------


def test_rep_gets_404_for_another_reps_customer_everywhere(client, org):
    mine, theirs = CustomerFactory(owner=org.rep1), CustomerFactory(owner=org.rep3)
    tag = TagFactory()
    client.force_login(org.rep1)
    assert client.get(f"/customers/{theirs.pk}/").status_code == 404
    assert client.get(f"/customers/{theirs.pk}/timeline/").status_code == 404
    assert client.get(f"/customers/{theirs.pk}/relations/candidates/").status_code == 404
    assert link(client, theirs, mine, "child").status_code == 404
    assert client.post(f"/customers/{theirs.pk}/tags/", {f"group_{tag.group_id}": [tag.pk]}).status_code == 404
    assert (
        client.post(
            f"/customers/{theirs.pk}/satisfaction/add/", {"kind": "csat", "score": 1, "source": "survey"}
        ).status_code
        == 404
    )
    relation = services.link_customers(from_customer=mine, to_customer=theirs, kind=RelationKind.SIBLING)
    assert client.post(f"/customers/relations/{relation.pk}/delete/").status_code == 404
    assert CustomerRelation.objects.count() == 1
    assert not theirs.tags.exists() and not theirs.satisfaction_records.exists()


def test_linking_needs_both_customers_in_scope(client, org):
    mine, theirs = CustomerFactory(owner=org.rep1), CustomerFactory(owner=org.rep3)
    client.force_login(org.rep1)
    response = link(client, mine, theirs, "child")
    assert response.status_code == 200
    assert "Choose one of the customers you may see." in response.content.decode()
    assert not CustomerRelation.objects.exists()


def test_marketing_may_look_but_not_edit(client, org):
    customer = CustomerFactory(owner=org.rep1)
    client.force_login(org.marketing)
    assert client.get(f"/customers/{customer.pk}/").status_code == 200
    assert (
        client.post(
            f"/customers/{customer.pk}/satisfaction/add/", {"kind": "csat", "score": 1, "source": "survey"}
        ).status_code
        == 403
    )


def test_empty_panels_say_what_will_appear(client, org):
    client.force_login(org.rep1)
    page = page_of(client, CustomerFactory(owner=org.rep1))
    assert "No open opportunities" in page and "No open reminders or tasks" in page and "No coupons held" in page
    assert "coming soon" not in page.lower()


# -- queries -----------------------------------------------------------------------------------


@pytest.mark.parametrize("orders", [5, 200])
def test_360_page_runs_a_bounded_number_of_queries(client, org, family, orders, django_assert_max_num_queries):
    customer = family["王芳"]
    start = timezone.now() - datetime.timedelta(days=400)
    for n in range(orders):
        make_order(
            customer,
            50 + n,
            placed_at=start + datetime.timedelta(days=n % 390, hours=n),
            lines=[{"sku": f"S{n}", "price": "50"}],
            refresh=False,
        )
    services.refresh_value_figures(customer.pk)
    for score in (5, 4, 2):
        services.record_satisfaction(customer=customer, kind="csat", score=score, source="survey")
    services.assign_customers(
        actor=org.manager1, customers=type(customer).objects.filter(pk=customer.pk), owner=org.rep2
    )
    services.assign_customers(
        actor=org.manager1, customers=type(customer).objects.filter(pk=customer.pk), owner=org.rep1
    )
    friend = CustomerFactory(owner=org.rep1)
    services.link_customers(from_customer=customer, to_customer=friend, kind=RelationKind.REFERRER)
    intent = TagGroupFactory(multiple=False)
    services.set_customer_tags(customer=customer, tags=[TagFactory(group=intent), TagFactory()])
    assert OwnershipChange.objects.filter(customer=customer).count() == 2
    for user in (org.rep1, org.manager1):
        client.force_login(user)
        # 2 of them: the access log entry of this view; 1: the lead source names; the history card reads its
        # newest entries and the names they mention (one query per model, however many entries)
        # +1 each: the entitlements (catalog), contracts and member card (members) panels; the CDP
        # events join the timeline's one query
        with django_assert_max_num_queries(40):
            response = client.get(f"/customers/{customer.pk}/")
        assert response.status_code == 200
        with django_assert_max_num_queries(12):
            assert client.get(f"/customers/{customer.pk}/timeline/", {"offset": 20}).status_code == 200


def test_360_view_shows_followups_opportunities_and_coupons(client, org):
    from coupons.services import claim
    from coupons.tests.factories import make_batch
    from customers.tests.factories import CustomerFactory
    from sales import services as sales

    customer = CustomerFactory(owner=org.rep1, name="钱多多")
    sales.record_followup(actor=org.rep1, customer=customer, content="约了周六试听")
    sales.open_opportunity(actor=org.rep1, customer=customer, name="周末编程班", amount=3600)
    coupon = claim(batch_code=make_batch(org).code, customer=customer, channel="app")
    client.force_login(org.rep1)
    page = client.get(f"/customers/{customer.pk}/").content.decode()
    assert "约了周六试听" in page and "周末编程班" in page and coupon.code in page


def test_the_360_lists_only_coupons_still_usable_with_the_year_they_end(client, org):
    import datetime

    from django.utils import timezone

    from coupons.models import Coupon
    from coupons.services import claim
    from coupons.tests.factories import make_batch
    from customers.tests.factories import CustomerFactory

    customer = CustomerFactory(owner=org.rep1, name="钱多多")
    batch = make_batch(org, per_day_limit=2)
    held = claim(batch_code=batch.code, customer=customer, channel="app")
    lapsed = claim(batch_code=batch.code, customer=customer, channel="app")
    ends = timezone.localtime(held.valid_until)  # claimed today, usable for 7 days
    # the nightly job has not marked it yet: still "claimed", but past its end
    Coupon.objects.filter(pk=lapsed.pk).update(valid_until=timezone.now() - datetime.timedelta(hours=1))
    client.force_login(org.rep1)
    page = client.get(f"/customers/{customer.pk}/").content.decode()
    panel = page[page.index('data-testid="coupons-held"') :]
    panel = panel[: panel.index("</ul>")]
    assert (held.code in panel, lapsed.code in panel, f"{ends:%Y-%m-%d}" in panel) == (True, False, True)
