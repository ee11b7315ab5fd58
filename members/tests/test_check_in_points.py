"""Points for a check-in: a field visit earns the customer its tier's check-in points once per
visit; ``POST /api/v1/points/earn`` accepts a check-in source (the tier's rule decides the points)."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from crm import services as crm_services
from crm.tests.factories import OrgFixture
from customers.tests.factories import CustomerFactory
from field.services.visits import check_in, check_out
from members.models import EarnRule, Member, PointsEntry, Tier


@pytest.fixture
def org(db):
    return OrgFixture()


@pytest.fixture
def tiers(db):
    tiers = {
        name: Tier.objects.create(name=name, position=i, min_spend=Decimal(spend))
        for i, (name, spend) in enumerate([("普通", "0"), ("金卡", "100000")])
    }
    EarnRule.objects.create(source="check_in", tier=None, points=3)
    EarnRule.objects.create(source="check_in", tier=tiers["金卡"], points=15)
    return tiers


def at(hour):
    return timezone.make_aware(datetime.datetime(2026, 12, 7, hour))


def test_each_field_visit_earns_the_customers_tier_its_check_in_points_once(org, tiers):
    shop = CustomerFactory(name="好邻居便利店", owner=org.rep1, department=org.team1)
    Member.objects.create(customer=shop, tier=tiers["金卡"])
    first = check_in(user=org.rep1, customer=shop, now=at(10))
    check_out(visit=first, user=org.rep1, now=at(11))
    second = check_in(user=org.rep1, customer=shop, now=at(14))
    rows = PointsEntry.objects.order_by("id").values_list("reference", "delta", "reason")
    assert list(rows) == [(f"visit:{first.pk}", 15, "签到"), (f"visit:{second.pk}", 15, "签到")]
    assert Member.objects.get(customer=shop).points == 30


def test_a_customer_not_yet_a_member_joins_on_its_first_check_in_with_the_any_tier_rule(org, tiers):
    shop = CustomerFactory(owner=org.rep1, department=org.team1)
    check_in(user=org.rep1, customer=shop, now=at(10))
    assert (Member.objects.get(customer=shop).points, PointsEntry.objects.get().delta) == (3, 3)


def raw_token():
    client = crm_services.create_api_client(name="pos")
    _token, raw = crm_services.issue_token(client=client, scopes=["members"])
    return raw


def test_the_api_earns_a_check_in_by_the_tiers_rule_once_per_reference(client, org, tiers):
    gold = CustomerFactory(mobile="13800138001")
    Member.objects.create(customer=gold, tier=tiers["金卡"])
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw_token()}"}
    body = {"customer": {"mobile": "13800138001"}, "source": "check_in", "reference": "STORE-7-1"}
    first = client.post("/api/v1/points/earn", body, content_type="application/json", **headers)
    again = client.post("/api/v1/points/earn", body, content_type="application/json", **headers)
    assert first.status_code == 200, first.content
    assert (first.json()["points"], first.json()["balance"], first.json()["tier"]) == (15, 15, "金卡")
    assert (again.status_code, again.json()["balance"], PointsEntry.objects.count()) == (200, 15, 1)


def test_the_api_keeps_the_points_a_check_in_names(client, org, tiers):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw_token()}"}
    body = {"customer": {"id": CustomerFactory().pk}, "source": "check_in", "points": 50, "reference": "EVT-9"}
    response = client.post("/api/v1/points/earn", body, content_type="application/json", **headers)
    assert (response.status_code, response.json()["points"]) == (200, 50)
    assert PointsEntry.objects.get().reason == "签到"


def test_the_api_refuses_an_earn_without_points_or_a_source(client, org, tiers):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw_token()}"}
    body = {"customer": {"id": CustomerFactory().pk}, "reference": "X-1"}
    response = client.post("/api/v1/points/earn", body, content_type="application/json", **headers)
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {
        "points": ["This field is required."],
        "reason": ["This field is required."],
    }


def test_the_api_says_no_points_when_the_tier_earns_none_for_check_ins(client, org, tiers):
    EarnRule.objects.filter(tier=None).update(points=0)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw_token()}"}
    body = {"customer": {"id": CustomerFactory().pk}, "source": "check_in", "reference": "X-2"}
    response = client.post("/api/v1/points/earn", body, content_type="application/json", **headers)
    assert (response.status_code, response.json()["error"]["code"]) == (409, "no_points")


def test_the_schema_documents_the_check_in_source(admin_client):
    schema = admin_client.get("/api/schema/").content.decode()
    assert "EarnIn" in schema
    assert "check_in" in schema
