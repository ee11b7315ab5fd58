import datetime
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from coupons.tests.factories import make_batch
from crm.tests.factories import OrgFixture
from customers.tests.factories import CustomerFactory
from members.models import PointsOffer, Tier
from members.services import points


@pytest.fixture
def org(db):
    return OrgFixture()


@pytest.fixture
def member(org):
    Tier.objects.create(name="普通", position=0)
    Tier.objects.create(name="银卡", position=1, min_spend=Decimal(5000), min_points=1000)
    customer = CustomerFactory(name="周杰", owner=org.rep1, department=org.team1)
    member = points.member_for(customer)
    points.earn(member=member, points=800, reason="活动", reference="e")
    points.recompute_tier(member, reason="订单")
    return member


def test_the_member_page_shows_tier_points_and_what_the_next_tier_takes(
    client, org, member, django_assert_max_num_queries
):
    client.force_login(org.rep1)
    with django_assert_max_num_queries(20):
        response = client.get(reverse("members:member", args=[member.pk]))
    text = response.content.decode()
    assert response.status_code == 200
    assert ("再得 200 积分或再消费 ¥5,000.00 升至银卡" in text, "普通" in text, "+800" in text) == (True, True, True)


def test_another_reps_member_is_not_found(client, org, member):
    client.force_login(org.rep2)
    assert client.get(reverse("members:member", args=[member.pk])).status_code == 404


def test_the_list_finds_a_member_by_name(client, org, member):
    client.force_login(org.rep1)
    response = client.get(reverse("members:list"), {"q": "周杰"})
    assert list(response.context["page"]) == [member]


def test_points_buy_a_coupon_of_the_chosen_batch_once(client, org, member):
    batch = make_batch(org)
    offer = PointsOffer.objects.create(batch=batch, points=300)
    client.force_login(org.rep1)
    url = reverse("members:redeem", args=[member.pk])
    client.post(url, {"offer": offer.pk, "reference": "r1"})
    client.post(url, {"offer": offer.pk, "reference": "r1"})
    member.refresh_from_db()
    assert (member.points, member.customer.coupons.count()) == (500, 1)


def test_the_360_view_shows_the_member_card(client, org, member):
    client.force_login(org.rep1)
    text = client.get(member.customer.get_absolute_url()).content.decode()
    assert ('data-testid="member-card"' in text, "800 积分" in text) == (True, True)


def test_attending_a_lesson_earns_points_once(org, member):
    from customers import registry

    first = registry.award_points(customer=member.customer, kind="attendance", reference="attendance:1")
    again = registry.award_points(customer=member.customer, kind="attendance", reference="attendance:1")
    member.refresh_from_db()
    assert (first.pk == again.pk, member.points, datetime.date.today() < first.expires_on) == (True, 810, True)


def test_the_list_counts_only_the_members_in_scope_and_the_count_is_bounded(
    client, org, member, django_assert_max_num_queries
):
    for name in ("吴敏", "郑爽"):
        points.member_for(CustomerFactory(name=name, owner=org.rep1, department=org.team1))
    points.member_for(CustomerFactory(name="孙丽", owner=org.rep3, department=org.sales2))
    client.force_login(org.rep1)
    with django_assert_max_num_queries(12) as captured:
        response = client.get(reverse("members:list"))
    assert response.context["page"].paginator.count == 3
    assert sorted(m.customer.name for m in response.context["page"]) == ["吴敏", "周杰", "郑爽"]
    counts = [q["sql"] for q in captured.captured_queries if "COUNT(*)" in q["sql"].upper()]
    assert len(counts) == 1 and "LIMIT 10001" in counts[0]
    client.force_login(org.rep3)
    assert [m.customer.name for m in client.get(reverse("members:list")).context["page"]] == ["孙丽"]


def test_a_list_longer_than_the_cap_says_there_are_more_pages(client, org, member, monkeypatch):
    from members.views.members import BoundedPaginator

    monkeypatch.setattr(BoundedPaginator, "cap", 2)
    for name in ("吴敏", "郑爽"):
        points.member_for(CustomerFactory(name=name, owner=org.rep1, department=org.team1))
    client.force_login(org.rep1)
    response = client.get(reverse("members:list"))
    assert (response.context["page"].paginator.count, response.context["page"].paginator.capped) == (2, True)
    client.force_login(org.rep2)  # rep2 sees none of rep1's members: nothing to cap
    response = client.get(reverse("members:list"))
    assert (response.context["page"].paginator.count, response.context["page"].paginator.capped) == (0, False)


def test_the_members_page_and_its_menu_entry_say_hui_yuan_not_member_count(client, org, member):
    client.force_login(org.rep1)
    text = client.get(reverse("members:list")).content.decode()
    assert "<title>会员 · CRM</title>" in text
    assert '<h1><i class="bi bi-gem"></i> 会员</h1>' in text
    assert re.search(r'data-nav="members:list"><i class="bi bi-gem"></i> ([^<]*)</a>', text).group(1) == "会员"


def test_exchanging_points_asks_for_confirmation_first(client, org, member):
    PointsOffer.objects.create(batch=make_batch(org), points=300)
    client.force_login(org.rep1)
    text = client.get(reverse("members:member", args=[member.pk])).content.decode()
    form = re.search(r'<form[^>]*action="' + reverse("members:redeem", args=[member.pk]) + r'"[^>]*>', text).group(0)
    assert "确定用积分兑换所选优惠券吗" in form
