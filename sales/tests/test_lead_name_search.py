"""Leads are searched by name as customers are (crm.name_keys): one or two characters, pinyin and its
initials, through search keys kept on save and on import, and backfilled by the migration."""

import importlib

import pytest
from django.apps import apps
from django.conf import settings
from django.db import connection

from crm.name_keys import keys_for
from crm.privacy import search_name_or_mobile
from sales.models import Lead
from sales.tests.factories import LeadFactory
from sales.tests.test_lead_imports import commit, upload

URL = "/sales/leads/"


@pytest.fixture
def client(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def people(org):
    return {name: LeadFactory(owner=org.rep1, name=name) for name in ("王小明", "王小红", "李明")}


def names(queryset):
    return sorted(queryset.values_list("name", flat=True))


def test_the_lead_list_finds_a_lead_by_the_initials_of_its_name(client, org, people):
    client.force_login(org.rep1)
    page = client.get(URL, {"q": "wxm"}).content.decode()
    assert "王小明" in page
    assert "王小红" not in page
    assert "李明" not in page


@pytest.mark.parametrize(
    ("text", "expected"), [("王", ["王小明", "王小红"]), ("小明", ["王小明"]), ("明", ["李明", "王小明"])]
)
def test_a_one_or_two_character_search_finds_the_leads_whose_name_holds_it(org, people, text, expected):
    assert names(search_name_or_mobile(Lead.objects.all(), org.rep1, text)) == expected


def test_the_keys_follow_a_renamed_lead(org, people):
    lead = people["李明"]
    lead.name = "赵六"
    lead.save(update_fields=["name"])
    lead.refresh_from_db()
    assert lead.name_keys == keys_for("赵六")
    assert names(search_name_or_mobile(Lead.objects.all(), org.rep1, "zl")) == ["赵六"]
    assert names(search_name_or_mobile(Lead.objects.all(), org.rep1, "lm")) == []


def test_imported_leads_carry_the_keys_of_their_names(client, org, django_capture_on_commit_callbacks):
    client.force_login(org.manager1)
    job = upload(client, "姓名,手机号,来源\n王小明家长,13900001111,官网\n")
    commit(client, job, django_capture_on_commit_callbacks)
    lead = Lead.objects.get()
    assert lead.name_keys == keys_for("王小明家长")
    assert names(search_name_or_mobile(Lead.objects.all(), org.manager1, "wxm")) == ["王小明家长"]


def test_the_migration_fills_the_keys_of_existing_leads(org, people):
    Lead.objects.update(name_keys="")
    migration = importlib.import_module("sales.migrations.0018_lead_name_keys")
    migration.fill_keys(apps, connection.schema_editor)
    assert sorted(Lead.objects.values_list("name_keys", flat=True)) == sorted(keys_for(n) for n in people)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's indexes")
@pytest.mark.parametrize(
    ("text", "index"),
    [("王", "lead_name_keys_tokens"), ("小明", "lead_name_keys_tokens"), ("wxm", "lead_name_keys_trgm")],
)
def test_postgresql_answers_short_and_pinyin_lead_searches_from_an_index(org, people, text, index):
    query = search_name_or_mobile(Lead.objects.all(), org.rep1, text).order_by().values("id")
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert index in plan, plan
