"""A label and its value are joined by the full-width colon on Chinese pages ("负责人：rep1", no space
after it) and by ": " on English pages: the lead, opportunity, coupon batch, partner, search and
approvals pages, and the audit log's change list."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from coupons import services as coupon_services
from coupons.tests.factories import make_batch, make_budget
from crm import audit
from crm.labels import colon, labelled
from crm.names import person_name
from customers.tests.factories import CustomerFactory
from partners.services import partners as partner_services
from partners.tests.factories import PartnerFactory
from sales.tests.factories import LeadFactory

#: Chinese text, then an ASCII colon and a value: "负责人: rep1" (what must not show).
ASCII_AFTER_CHINESE = re.compile(r"[\u3400-\u9fff] ?: ?\S")


def visible_text(response):
    """The page's text as a person reads it: the <main> part, tags removed, whitespace collapsed."""
    page = response.content.decode()
    main = re.search(r"<main\b.*?</main>", page, re.S)
    body = main.group(0) if main else page
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", "", body).split())


def ascii_colons(text):
    return [text[max(m.start() - 8, 0) : m.end() + 8] for m in ASCII_AFTER_CHINESE.finditer(text)]


@pytest.fixture
def pages(org):
    """The pages to read, each as (user, url), with the records that put a labelled value on them."""
    lead = LeadFactory(owner=org.rep1, name="王小明")
    customer = CustomerFactory(owner=org.rep1, name="李华")
    account = make_budget(org)
    rejected = make_batch(org, account=account, status="rejected", reject_reason="面额过高")
    org.sales1.manager = org.manager1
    org.sales1.save()
    pending = make_batch(org, account=account, status="draft", quantity=100)
    coupon_services.submit(actor=org.rep2, batch=pending)
    partner = PartnerFactory(owner=org.rep1, name="华东渠道")
    partner_services.add_follow_up(
        partner=partner,
        actor=org.rep1,
        kind="call",
        content="谈返点",
        next_at=timezone.make_aware(datetime.datetime(2026, 12, 20, 10, 0)),
    )
    return {
        "lead": (org.rep1, lead.get_absolute_url()),
        "opportunity_form": (org.rep1, reverse("sales:opportunity_create") + f"?customer={customer.pk}"),
        "batch": (org.marketing, rejected.get_absolute_url()),
        "search": (org.rep1, reverse("search") + "?q=王小明"),
        "approvals_mine": (org.rep2, reverse("approvals:inbox") + "?tab=mine"),
        "partner": (org.rep1, partner.get_absolute_url()),
    }


@pytest.mark.parametrize("name", ["lead", "opportunity_form", "batch", "search", "approvals_mine", "partner"])
def test_a_chinese_page_joins_labels_and_values_with_the_full_width_colon(client, pages, name):
    user, url = pages[name]
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    text = visible_text(response)
    assert ascii_colons(text) == []
    assert "：" in text


def test_the_lead_page_reads_owner_then_the_full_width_colon(client, org, pages):
    client.force_login(org.rep1)
    assert f"负责人：{person_name(org.rep1)}" in visible_text(client.get(pages["lead"][1]))


def test_a_rejected_batch_gives_its_reason_after_the_full_width_colon(client, org, pages):
    client.force_login(org.marketing)
    assert "已驳回：面额过高" in visible_text(client.get(pages["batch"][1]))


def test_the_search_heading_names_the_query_after_the_full_width_colon(client, org, pages):
    client.force_login(org.rep1)
    assert "搜索：“王小明”" in visible_text(client.get(pages["search"][1]))


def test_an_english_page_keeps_the_ascii_colon_and_a_space(client, org, pages, settings):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    client.force_login(org.rep1)
    text = visible_text(client.get(pages["lead"][1]))
    assert f"owner: {person_name(org.rep1)}" in text
    assert "：" not in text


def test_the_audit_logs_change_list_uses_the_full_width_colon(client, org):
    client.force_login(org.admin)
    org.sales2.name = "销售二部（新）"
    org.sales2.save()
    text = visible_text(client.get(reverse("org:audit")))
    assert ascii_colons(text) == []
    assert "名称：销售二部 → 销售二部（新）" in text


def test_python_built_labels_follow_the_language():
    with translation.override("zh-hans"):
        assert (colon(), labelled("规则", "上海客户")) == ("：", "规则：上海客户")
    with translation.override("en"):
        assert (colon(), labelled("Rule", "Shanghai")) == (": ", "Rule: Shanghai")


def test_the_audit_export_joins_each_change_with_the_full_width_colon():
    with translation.override("zh-hans"):
        assert audit.changes_text([("姓名", "赵六", "赵六六")], 1) == "姓名：赵六 → 赵六六"


def test_a_list_counts_the_selection_and_labels_its_phone_cards_with_the_full_width_colon(client, org):
    LeadFactory(owner=org.rep1, name="王小明", status="new")
    client.force_login(org.manager1)
    response = client.get(reverse("sales:leads"))
    text = visible_text(response)
    assert "已选：0" in text
    assert ascii_colons(text) == []
    assert '<span class="visually-hidden">状态：</span>' in response.content.decode()


def test_an_english_list_keeps_the_ascii_colon_in_the_selection_and_the_cards(client, org, settings):
    LeadFactory(owner=org.rep1, name="王小明", status="new")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    client.force_login(org.manager1)
    response = client.get(reverse("sales:leads"))
    assert "Selected: 0" in visible_text(response)
    assert re.findall(r'visually-hidden">(\w+)(: )</span>', response.content.decode())[:1] == [("Grade", ": ")]
