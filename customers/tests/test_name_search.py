"""Searching customers by one or two Chinese characters, by pinyin and by its initials (issue 20,
item 3): the same customers as "the name contains the text", found through the name's search keys
(crm.name_keys) so that PostgreSQL answers from an index instead of reading every row."""

import pytest
from django.db import connection
from django.urls import reverse

from crm.name_keys import keys_for
from crm.privacy import search_name_or_mobile
from customers.models import Customer
from customers.services.privacy import anonymize_customer

NAMES = ["王小明", "王小红", "李明", "曾国强", "欧阳明月", "小王便利店", "Tom 王", "明"]


@pytest.fixture
def people(org):
    return {
        name: Customer.objects.create(name=name, mobile=f"1390000{index:04d}", owner=org.rep1, department=org.team1)
        for index, name in enumerate(NAMES)
    }


def names(queryset):
    return sorted(queryset.values_list("name", flat=True))


def test_the_keys_of_a_name_hold_its_characters_pairs_pinyin_and_initials():
    keys = keys_for("王小明").split()
    assert keys[:5] == ["王", "小", "明", "王小", "小明"]
    assert {"wangxiaoming", "wxm", "w", "x", "m", "wx", "xm", "wa", "xi", "mi"} <= set(keys)
    # a family name keeps all its readings: 曾 is zeng as a family name, ceng elsewhere
    assert {"zengguoqiang", "cengguoqiang", "zgq", "cgq"} <= set(keys_for("曾国强").split())
    assert keys_for("") == keys_for(None) == keys_for("   ") == ""
    assert keys_for("Tom 王").split()[:4] == ["t", "o", "m", "王"]


@pytest.mark.parametrize("text", ["王", "小", "明", "王小", "小明", "明月", "便利", "王便"])
def test_a_one_or_two_character_search_finds_exactly_the_names_that_contain_it(org, people, text):
    contains = Customer.objects.filter(name__icontains=text)
    found = search_name_or_mobile(Customer.objects.all(), org.rep1, text)
    assert names(found) == names(contains)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("wxm", ["王小明"]),
        ("WXM", ["王小明"]),
        ("wx", ["王小明", "王小红"]),
        ("xw", ["小王便利店"]),
        ("xiaoming", ["王小明"]),
        ("wangxiao", ["王小明", "王小红"]),
        ("zgq", ["曾国强"]),
        ("cgq", ["曾国强"]),
        ("oymy", ["欧阳明月"]),
        ("ouyang", ["欧阳明月"]),
        ("ming", ["李明", "欧阳明月", "王小明", "明"]),
    ],
)
def test_pinyin_and_its_initials_find_the_names(org, people, text, expected):
    assert names(search_name_or_mobile(Customer.objects.all(), org.rep1, text)) == sorted(expected)


def test_the_keys_follow_a_renamed_customer_and_anonymization_clears_them(org, people):
    customer = people["李明"]
    customer.name = "赵六"
    customer.save(update_fields=["name"])
    customer.refresh_from_db()
    assert customer.name_keys.split()[:3] == ["赵", "六", "赵六"]
    assert names(search_name_or_mobile(Customer.objects.all(), org.rep1, "lm")) == []
    assert names(search_name_or_mobile(Customer.objects.all(), org.rep1, "zl")) == ["赵六"]

    anonymize_customer(actor=org.admin, customer=customer)
    customer.refresh_from_db()
    assert "zl" not in customer.name_keys.split() and "赵" not in customer.name_keys
    assert customer.name_keys == keys_for(customer.name)


def test_the_customer_list_global_search_and_order_search_use_the_keys(client, org, people):
    client.force_login(org.rep1)
    page = client.get(reverse("customers:list"), {"q": "wxm"}).content.decode()
    assert "王小明" in page and "王小红" not in page
    page = client.get(reverse("search"), {"q": "王"}).content.decode()
    for name in ("王小明", "王小红", "小王便利店"):
        assert name in page
    assert "李明" not in page


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's indexes")
@pytest.mark.parametrize(
    ("text", "index"),
    [("王", "customer_name_keys_tokens"), ("小明", "customer_name_keys_tokens"), ("wxm", "customer_name_keys_trgm")],
)
def test_postgresql_answers_short_and_pinyin_searches_from_an_index(org, people, text, index):
    query = search_name_or_mobile(Customer.objects.all(), org.rep1, text).order_by().values("id")
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert index in plan, plan


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's indexes")
def test_postgresql_answers_a_partial_mobile_search_from_an_index(org, people):
    query = search_name_or_mobile(Customer.objects.all(), org.admin, "00003").order_by().values("id")
    assert names(query.model.objects.filter(id__in=query)) == ["曾国强"]
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "customer_mobile_search_trgm" in plan, plan
