"""The audit log as an administrator reads it: who made each change (a user, a rule, a job),
only the record's real fields in words, readable record names, masked contact details, and an
export in Shanghai time that is itself logged in the personal-data access log."""

import csv
import datetime
import io

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType

from crm.models import AccessLog, AccessLogRecord
from customers import services
from customers.models import Customer, TagGroup, TagRule
from customers.tests.factories import CustomerFactory, TagFactory
from sales.models import PoolRule

URL = "/org/audit/"


def rows(client, **params):
    response = client.get(URL, {"export": "csv", **params})
    assert response.status_code == 200
    text = b"".join(response.streaming_content if response.streaming else [response.content]).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def test_a_created_customer_lists_only_its_real_fields_with_the_mobile_masked(client, org):
    client.force_login(org.rep1)
    client.post(
        "/customers/new/",
        {
            "kind": "individual",
            "name": "张三",
            "mobile": "13800138000",
            "source": "website",
            "email": "zhang@example.com",
        },
    )
    customer = Customer.objects.get(name="张三")
    client.force_login(org.admin)
    page = client.get(URL, {"object_repr": "张三"}).content.decode()
    assert "tag_links" not in page
    assert "customers.CustomerTag.None" not in page
    assert "138****8000" in page
    assert "13800138000" not in page
    assert "zhang@example.com" not in page
    entry = LogEntry.objects.get_for_object(customer).get()
    assert "tag_links" not in entry.changes_dict


def test_customers_tagged_by_a_rule_name_the_rule(client, org):
    tag = TagFactory(name="上海客户")
    CustomerFactory(name="沪客", region="上海")
    rule = TagRule.objects.create(name="上海客户规则", tag=tag, query="region=上海")
    services.apply_rule(rule)
    client.force_login(org.admin)
    table = rows(client, object_repr="沪客")
    assert [(row[1], row[2]) for row in table[1:]] == [("规则：上海客户规则", "修改"), ("—", "创建")]


def test_tag_groups_and_tags_are_recorded_by_whom(client, org):
    client.force_login(org.admin)
    client.post("/customers/tags/groups/new/", {"name": "兴趣", "multiple": "on", "color": "primary", "position": 1})
    group = TagGroup.objects.get(name="兴趣")
    client.post("/customers/tags/new/", {"group": group.pk, "name": "数学"})
    entries = LogEntry.objects.filter(
        content_type__app_label="customers", content_type__model__in=["taggroup", "tag"]
    ).order_by("pk")
    assert [(e.content_type.model, e.object_repr, e.actor) for e in entries] == [
        ("taggroup", "兴趣", org.admin),
        ("tag", "兴趣:数学", org.admin),
    ]


def test_records_have_readable_names_and_the_export_reads_as_the_page(client, org):
    rule = PoolRule.objects.create(department=org.sales1)
    entry = LogEntry.objects.get_for_object(rule).get()
    assert entry.object_repr == "销售一部的公海规则"
    old = LogEntry.objects.create(
        content_type=ContentType.objects.get_for_model(PoolRule),
        object_pk="99",
        object_id=99,
        object_repr="PoolRule object (99)",
        action=LogEntry.Action.DELETE,
        changes={},
    )
    LogEntry.objects.filter(pk=old.pk).update(
        timestamp=datetime.datetime(2026, 3, 1, 2, 5, 6, 789000, tzinfo=datetime.UTC)
    )
    client.force_login(org.admin)
    table = rows(client, content_type=ContentType.objects.get_for_model(PoolRule).pk)
    by_record = {row[4]: row for row in table[1:]}
    assert by_record["公海规则 #99"][0] == "2026-03-01 10:05:06"
    changes = by_record["销售一部的公海规则"][5]
    assert "{" not in changes
    assert "部门：销售一部" in changes
    assert "启用：是" in changes


def test_exporting_the_audit_log_is_in_the_personal_data_access_log(client, org):
    customer = CustomerFactory(name="李四", mobile="13900139000")
    client.force_login(org.admin)
    table = rows(client, object_repr="李四")
    assert "139****9000" in table[1][5]
    assert "13900139000" not in "".join(",".join(row) for row in table)
    log = AccessLog.objects.get(action=AccessLog.Action.EXPORT, subject=AccessLog.Subject.CUSTOMER)
    assert log.user == org.admin
    assert list(AccessLogRecord.objects.filter(log=log).values_list("object_id", flat=True)) == [customer.pk]


@pytest.mark.django_db
def test_the_nightly_tag_rule_job_names_the_rule():
    from customers.tasks import apply_tag_rules

    tag = TagFactory(name="上海客户")
    CustomerFactory(name="沪客", region="上海")
    TagRule.objects.create(name="上海客户规则", tag=tag, query="region=上海")
    apply_tag_rules.delay()
    tag_entry = LogEntry.objects.filter(object_repr="沪客", changes__has_key="tags").get()
    assert tag_entry.additional_data["by"]["name"] == "上海客户规则"


def test_a_reveal_on_the_audit_log_shows_one_entry_in_full_and_is_logged(client, org):
    customer = CustomerFactory(name="王五", mobile="13700137000")
    entry = LogEntry.objects.get_for_object(customer).get()
    client.force_login(org.admin)
    page = client.get(URL, {"object_repr": "王五"}).content.decode()
    assert f'action="/org/audit/{entry.pk}/reveal/"' in page
    assert "13700137000" not in page
    revealed = client.post(f"/org/audit/{entry.pk}/reveal/").content.decode()
    assert "13700137000" in revealed
    log = AccessLog.objects.get(action=AccessLog.Action.REVEAL)
    assert (log.user, log.subject, list(log.records.values_list("object_id", flat=True))) == (
        org.admin,
        AccessLog.Subject.CUSTOMER,
        [customer.pk],
    )


def test_imported_customers_name_the_importing_user(client, org, django_capture_on_commit_callbacks):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from customers.imports import run_import
    from customers.models import ImportJob

    client.force_login(org.manager1)
    data = "姓名,手机\n赵六,13600136000\n".encode()
    response = client.post("/customers/import/", {"kind": "customers", "file": SimpleUploadedFile("c.csv", data)})
    job = ImportJob.objects.get(pk=response.url.rstrip("/").rsplit("/", 1)[1])
    with django_capture_on_commit_callbacks(execute=False):  # the worker runs it, outside any request
        client.post(f"/customers/import/{job.pk}/commit/")
    client.logout()
    run_import(job.pk)
    customer = Customer.objects.get(mobile="13600136000")
    assert LogEntry.objects.get_for_object(customer).get().actor == org.manager1


def test_the_history_card_reads_the_owner_names_of_all_its_entries_at_once(org, django_assert_max_num_queries):
    from django.template.loader import render_to_string

    from crm.tests.factories import UserFactory
    from crm.ui import history_for

    customer = CustomerFactory(owner=org.rep1, department=org.rep1.department)
    owners = [
        UserFactory(username=f"owner{n}", last_name="钱", first_name=f"{n}号", department=org.sales1) for n in range(8)
    ]
    for owner in owners:  # eight hand-overs: eight entries, each naming two owners
        customer.owner = owner
        customer.save()
    history = history_for(customer, limit=10)
    assert len(history) == 9
    with django_assert_max_num_queries(2):  # the users and the department named by all entries: one query each
        page = render_to_string("includes/history.html", {"history": history, "revealed": False})
    assert page.count('class="history-item"') == 9
    from crm.names import person_name

    assert "<strong>负责人</strong>：钱6号 → 钱7号" in page
    assert f"<strong>负责人</strong>：{person_name(org.rep1)} → 钱0号" in page


def test_a_recorded_follow_up_names_every_changed_field_in_chinese(org):
    from django.utils import translation

    from crm import audit
    from sales import services as sales_services

    customer = CustomerFactory(owner=org.rep1, name="苏嘉")
    followup = sales_services.record_followup(actor=org.rep1, customer=customer, content="电话回访")
    entry = LogEntry.objects.get_for_object(followup).get()
    with translation.override("zh-hans"):
        labels = sorted(str(label) for label, _before, _after in audit.change_rows([entry], mask=False)[entry.pk])
    assert labels == sorted(["时间", "渠道", "内容", "结果", "客户", "方向", "操作人", "部门"])


def test_amounts_in_the_history_read_with_thousands_separators():
    from contracts.models import Contract
    from crm.audit import _readable

    field = Contract._meta.get_field("amount")
    assert _readable(field, "12800.00", {}) == "12,800.00"
    assert _readable(field, "0", {}) == "0.00"
    assert _readable(field, "not a number", {}) == "not a number"


def test_a_multiple_choice_of_checkboxes_is_titled_above_its_options():
    from django import forms
    from django.template.loader import render_to_string

    class PickForm(forms.Form):
        flag = forms.BooleanField(label="Flag", required=False)
        picks = forms.MultipleChoiceField(
            label="Instalments", choices=[("1", "#1"), ("2", "#2")], widget=forms.CheckboxSelectMultiple
        )

    html = render_to_string("includes/form_fields.html", {"form": PickForm()})
    legend = html.index("<legend")
    assert legend < html.index('value="1"') and "Instalments" in html[legend : html.index('value="1"')]
    assert 'class="form-check-label" for="id_flag">Flag</label>' in html  # a single checkbox keeps its label after
