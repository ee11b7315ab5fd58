"""Personal information: masking with a logged reveal, the access log, a customer's data export and
anonymization, and the retention rule for leads that never converted."""

import datetime
import json
from decimal import Decimal

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.test import override_settings
from django.utils import timezone

from crm import services as crm_services
from crm.models import AccessLog, AccessLogRecord, PrivacySettings
from customers.models import Customer, CustomerRelation, Order, RelationKind
from customers.services import link_customers, update_customer
from customers.tests.factories import CustomerFactory, make_order
from sales.models import FollowUp, Lead
from sales.services.followups import record_followup
from sales.services.retention import anonymize_stale_leads
from sales.tests.factories import LeadFactory

MOBILE = "13912345678"


@pytest.fixture
def customer(org):
    return CustomerFactory(
        name="王小明",
        mobile=MOBILE,
        email="wang@example.com",
        wechat_id="wxming",
        owner=org.rep1,
        notes="孩子对花生过敏",
    )


def _records(action, subject="customer"):
    return list(
        AccessLogRecord.objects.filter(log__action=action, subject=subject).values_list(
            "log__user__username", "object_id"
        )
    )


def test_rep_sees_masked_contact_details_and_a_reveal_that_is_logged(client, org, customer):
    client.force_login(org.rep1)
    page = client.get(customer.get_absolute_url()).content.decode()
    assert MOBILE not in page and "wang@example.com" not in page and "wxming" not in page
    assert "139****5678" in page and 'data-testid="reveal"' in page
    assert _records("view") == [("rep1", customer.pk)]

    revealed = client.post(f"/customers/{customer.pk}/reveal/").content.decode()
    assert MOBILE in revealed and "wang@example.com" in revealed and "wxming" in revealed
    assert _records("reveal") == [("rep1", customer.pk)]


def test_lists_and_search_are_masked_too(client, org, customer):
    client.force_login(org.rep1)
    assert MOBILE not in client.get("/customers/").content.decode()
    assert MOBILE not in client.get("/search/", {"q": "王小明"}).content.decode()


def test_marketing_may_not_reveal(client, org, customer):
    client.force_login(org.marketing)
    page = client.get(customer.get_absolute_url()).content.decode()
    assert 'data-testid="reveal"' not in page
    assert client.post(f"/customers/{customer.pk}/reveal/").status_code == 403
    assert not _records("reveal")


def test_no_reveal_outside_the_scope(client, org, customer):
    client.force_login(org.rep3)
    assert client.post(f"/customers/{customer.pk}/reveal/").status_code == 404
    assert not _records("reveal")


@override_settings(MASK_PERSONAL_DATA=False)
def test_masking_can_be_switched_off_for_roles_that_need_the_numbers(client, org, customer):
    client.force_login(org.rep1)
    assert MOBILE in client.get(customer.get_absolute_url()).content.decode()
    client.force_login(org.marketing)
    assert MOBILE not in client.get(customer.get_absolute_url()).content.decode()


def test_lead_reveal_is_logged(client, org):
    lead = LeadFactory(mobile="13700001111", email="lead@example.com", owner=org.rep1)
    client.force_login(org.rep1)
    page = client.get(f"/sales/leads/{lead.pk}/").content.decode()
    assert "13700001111" not in page and "137****1111" in page
    assert "13700001111" in client.post(f"/sales/leads/{lead.pk}/reveal/").content.decode()
    assert _records("reveal", "lead") == [("rep1", lead.pk)]
    client.force_login(org.rep3)
    assert client.post(f"/sales/leads/{lead.pk}/reveal/").status_code == 404


def test_an_export_names_every_exported_customer(client, org, customer):
    others = [CustomerFactory(owner=org.rep1) for _ in range(3)]
    outside = CustomerFactory(owner=org.rep3)
    client.force_login(org.rep1)
    response = client.get("/customers/", {"export": "csv"})
    body = (
        b"".join(response.streaming_content).decode("utf-8-sig")
        if response.streaming
        else response.content.decode("utf-8-sig")
    )
    assert MOBILE not in body  # masked in the file as on the page
    log = AccessLog.objects.get(action=AccessLog.Action.EXPORT)
    assert log.user == org.rep1 and log.count == 4 and "export=csv" in log.detail
    exported = set(log.records.values_list("object_id", flat=True))
    assert exported == {customer.pk, *(c.pk for c in others)} and outside.pk not in exported


def test_order_export_logs_the_customers_once_each(client, org, customer):
    make_order(customer, Decimal("100"))
    make_order(customer, Decimal("50"))
    client.force_login(org.rep1)
    response = client.get("/customers/orders/", {"export": "csv"})
    assert response.status_code == 200
    log = AccessLog.objects.get(action=AccessLog.Action.EXPORT)
    assert list(log.records.values_list("object_id", flat=True)) == [customer.pk] and log.count == 1


def test_api_reads_are_logged_with_the_client(client, org, customer):
    api = crm_services.create_api_client(name="小程序")
    _token, raw = crm_services.issue_token(client=api, scopes=["customers:read"])
    response = client.get(f"/api/v1/customers/{customer.pk}", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 200
    log = AccessLog.objects.get(action=AccessLog.Action.API_READ)
    assert log.client == api and list(log.records.values_list("object_id", flat=True)) == [customer.pk]


def test_data_export_holds_everything_and_is_logged(client, org, customer):
    order = make_order(customer, Decimal("880.00"))
    record_followup(actor=org.rep1, customer=customer, content="电话沟通了暑期班")
    client.force_login(org.admin)
    page = client.get(f"/customers/{customer.pk}/personal-data/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200 and 'data-testid="held"' in page.content.decode()
    assert ("order", 1) in [(str(label).lower(), count) for label, count in page.context["held"]]
    response = client.post(f"/customers/{customer.pk}/personal-data/export/")
    assert response["Content-Disposition"].startswith("attachment")
    data = json.loads(response.content)
    assert data["customer"]["mobile"] == MOBILE
    assert [row["id"] for row in data["related"]["customers.order"]] == [order.pk]
    assert data["related"]["customers.order"][0]["amount"] == "880.00"
    assert any(row["content"] == "电话沟通了暑期班" for row in data["related"]["sales.followup"])
    assert _records("data_export") == [("admin", customer.pk)]


@pytest.mark.parametrize("role", ["rep1", "manager1", "marketing"])
def test_only_administrators_export_or_anonymize(client, org, customer, role):
    client.force_login(getattr(org, role))
    assert client.get(f"/customers/{customer.pk}/personal-data/").status_code == 403
    assert client.post(f"/customers/{customer.pk}/personal-data/export/").status_code == 403
    assert client.post(f"/customers/{customer.pk}/personal-data/anonymize/").status_code == 403
    assert Customer.objects.get(pk=customer.pk).mobile == MOBILE


def test_anonymization_erases_the_person_and_keeps_orders_and_totals(client, org, customer):
    make_order(customer, Decimal("300.00"))
    make_order(customer, Decimal("200.00"))
    sibling = CustomerFactory(owner=org.rep1)
    link_customers(actor=org.rep1, from_customer=customer, to_customer=sibling, kind=RelationKind.SIBLING)
    record_followup(actor=org.rep1, customer=customer, content="住在幸福小区3号楼")
    update_customer(customer=Customer.objects.get(pk=customer.pk), actor=org.rep1, mobile="13800000000")
    lead = LeadFactory(mobile="13700002222", owner=org.rep1, customer=customer, status=Lead.Status.CONVERTED)
    before = Customer.objects.get(pk=customer.pk)

    client.force_login(org.admin)
    response = client.post(f"/customers/{customer.pk}/personal-data/anonymize/", follow=True)
    assert "Anonymized" in response.content.decode() or "已匿名" in response.content.decode()

    after = Customer.objects.get(pk=customer.pk)
    assert after.anonymized_at and after.name.endswith(f"#{customer.pk}")
    assert (after.mobile, after.email, after.wechat_id, after.notes, after.custom) == ("", "", "", "", {})
    assert (
        (after.order_count, after.total_amount) == (before.order_count, before.total_amount) == (2, Decimal("500.00"))
    )
    assert Order.objects.filter(customer=customer).count() == 2
    assert not CustomerRelation.objects.filter(from_customer=customer).exists()
    assert FollowUp.objects.get(customer=customer).content == ""
    assert Lead.objects.get(pk=lead.pk).mobile == "" and Lead.objects.get(pk=lead.pk).anonymized_at
    history = LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(Customer), object_pk=str(customer.pk)
    )
    assert history.count() >= 2
    dumped = json.dumps(list(history.values("changes", "object_repr", "serialized_data")), ensure_ascii=False)
    assert MOBILE not in dumped and "13800000000" not in dumped and "王小明" not in dumped
    assert _records("anonymize") == [("admin", customer.pk)]
    # the person's name and numbers are nowhere on their page any more
    page = client.get(customer.get_absolute_url()).content.decode()
    assert "王小明" not in page and "13800000000" not in page and "幸福小区" not in page


def test_the_retention_rule_anonymizes_only_quiet_unconverted_leads(org):
    now = timezone.now()
    old = now - datetime.timedelta(days=800)
    stale = LeadFactory(name="张三", mobile="13700003333", owner=org.rep1)
    recent = LeadFactory(owner=org.rep1)
    converted = LeadFactory(owner=org.rep1, status=Lead.Status.CONVERTED, customer=CustomerFactory(owner=org.rep1))
    record_followup(actor=org.rep1, lead=stale, content="不感兴趣")
    Lead.objects.filter(pk__in=[stale.pk, converted.pk]).update(created_at=old, updated_at=old, last_followup_at=old)

    assert anonymize_stale_leads(now) == 1
    stale.refresh_from_db()
    assert stale.anonymized_at and stale.mobile == "" and stale.name == f"#{stale.pk}"
    assert stale.source == "website"  # figures kept
    assert FollowUp.objects.get(lead=stale).content == ""
    assert Lead.objects.get(pk=recent.pk).anonymized_at is None
    assert Lead.objects.get(pk=converted.pk).mobile != ""
    assert anonymize_stale_leads(now) == 0  # done once

    settings_row = PrivacySettings.current()
    settings_row.lead_retention_days = None
    settings_row.save()
    Lead.objects.filter(pk=recent.pk).update(created_at=old, updated_at=old)
    assert anonymize_stale_leads(now) == 0


def test_access_log_page_and_retention_setting(client, org, customer):
    client.force_login(org.rep1)
    client.get(customer.get_absolute_url())
    client.force_login(org.admin)
    page = client.get("/org/privacy/", {"person": customer.pk})
    assert page.status_code == 200 and str(org.rep1) in page.content.decode()
    assert client.post("/org/privacy/retention/", {"lead_retention_days": "400"}).status_code == 302
    assert PrivacySettings.current().lead_retention_days == 400
    client.force_login(org.manager1)
    assert client.get("/org/privacy/").status_code == 403


def test_history_masks_contact_changes_until_revealed(client, org):
    from sales.services.leads import update_lead

    lead = LeadFactory(mobile="13700004444", owner=org.rep1)
    update_lead(lead=lead, actor=org.rep1, mobile="13700005555")
    client.force_login(org.rep1)
    page = client.get(f"/sales/leads/{lead.pk}/").content.decode()
    assert "13700004444" not in page and "13700005555" not in page
    assert "137****4444" in page and "137****5555" in page
