"""Leads and assignment rules by region code (省/市/区, customers.regions)."""

import importlib

import pytest
from django.apps import apps

from customers.selectors import unmatched_regions
from sales import services
from sales.models import AssignmentRule, Lead
from sales.services.leads import choose_owner, convert_lead
from sales.tests.factories import LeadFactory


def test_a_lead_gets_the_code_of_its_region_text(org):
    lead = services.capture_lead(name="王", mobile="13900000003", source="website", region="上海浦东", assign=False)
    assert (lead.region, lead.region_code) == ("上海浦东", "310115")
    lead.region = "火星"
    lead.save(update_fields=["region"])
    lead.refresh_from_db()
    assert lead.region_code == ""


@pytest.fixture
def rules(org):
    AssignmentRule.objects.create(position=1, region="310115", user=org.rep1)  # a district
    AssignmentRule.objects.create(position=2, region="330100", user=org.rep2)  # a city
    AssignmentRule.objects.create(position=3, region="310000", user=org.rep3)  # a province
    return org


@pytest.mark.parametrize(
    "text,owner",
    [
        ("上海浦东新区", "rep1"),
        ("上海市徐汇区", "rep3"),
        ("上海", "rep3"),
        ("杭州西湖区", "rep2"),
        ("杭州", "rep2"),
        ("浙江宁波", None),
        ("火星", None),
        ("", None),
    ],
)
def test_assignment_rules_match_by_code_at_each_level(rules, text, owner):
    lead = LeadFactory(region=text)
    chosen = choose_owner(lead)
    assert (chosen.username if chosen else None) == owner


def test_a_converted_lead_gives_the_customer_its_region_code(org):
    lead = LeadFactory(region="杭州市西湖区", owner=org.rep1)
    convert_lead(lead=lead, actor=org.rep1)
    lead.refresh_from_db()
    customer = lead.customer
    assert (customer.region, customer.region_province, customer.region_city) == ("330106", "330000", "330100")


def test_migration_maps_rule_text_and_switches_off_a_rule_it_cannot_map(org):
    matched = AssignmentRule.objects.create(position=1, region_text="上海", user=org.rep1)
    unmatched = AssignmentRule.objects.create(position=2, region_text="华东", user=org.rep2)
    Lead.objects.bulk_create([Lead(name="旧线索", region="浙江杭州"), Lead(name="远方", region="火星")])
    migration = importlib.import_module("sales.migrations.0013_region_text_to_codes")
    migration.forward(apps, None)
    matched.refresh_from_db()
    unmatched.refresh_from_db()
    assert (matched.region, matched.region_text, matched.is_active) == ("310000", "", True)
    assert (unmatched.region, unmatched.region_text, unmatched.is_active) == ("", "华东", False)
    assert dict(Lead.objects.values_list("name", "region_code")) == {"旧线索": "330100", "远方": ""}
    listed = [(row["text"], row["count"]) for row in unmatched_regions(org.admin) if row["kind"] != "客户"]
    assert listed == [("火星", 1), ("华东", 1)]
