"""Every tag change is an audit entry on the customer: by hand, in bulk, by import, by rules, by merge."""

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType

from crm.ui import history_for
from customers import services
from customers.models import Customer, TagRule
from customers.tests.factories import CustomerFactory, TagFactory, TagGroupFactory


@pytest.fixture(autouse=True)
def english(client, settings):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


@pytest.fixture
def tags(db):
    intent = TagGroupFactory(name="意向", multiple=False, position=1)
    interest = TagGroupFactory(name="兴趣", position=2)
    return {
        "high": TagFactory(group=intent, name="高"),
        "low": TagFactory(group=intent, name="低"),
        "math": TagFactory(group=interest, name="数学"),
        "art": TagFactory(group=interest, name="美术"),
    }


def tag_entries(customer):
    content_type = ContentType.objects.get_for_model(Customer)
    return list(
        LogEntry.objects.filter(content_type=content_type, object_id=customer.pk, changes__has_key="tags").order_by(
            "timestamp", "pk"
        )
    )


def test_editing_tags_on_the_360_view_is_logged_with_actor_and_before_after(client, org, tags):
    customer = CustomerFactory(owner=org.rep1)
    client.force_login(org.rep1)
    url = f"/customers/{customer.pk}/tags/"
    intent, interest = tags["high"].group, tags["math"].group
    assert (
        client.post(url, {f"group_{intent.pk}": tags["high"].pk, f"group_{interest.pk}": [tags["math"].pk]}).status_code
        == 302
    )
    assert (
        client.post(url, {f"group_{intent.pk}": tags["low"].pk, f"group_{interest.pk}": [tags["math"].pk]}).status_code
        == 302
    )
    # saving the same tags again changes nothing and logs nothing
    client.post(url, {f"group_{intent.pk}": tags["low"].pk, f"group_{interest.pk}": [tags["math"].pk]})
    first, second = tag_entries(customer)
    assert first.changes == {"tags": [[], ["意向:高", "兴趣:数学"]]}
    assert second.changes == {"tags": [["意向:高", "兴趣:数学"], ["意向:低", "兴趣:数学"]]}
    assert second.actor == org.rep1 and second.action == LogEntry.Action.UPDATE
    assert second.object_repr == customer.name

    # the history of the customer (crm.ui.history_for) has them, readable
    history = history_for(customer)
    assert history[0].pk == second.pk
    assert history[0].changes_display_dict["tags"] == ["意向:高, 兴趣:数学", "意向:低, 兴趣:数学"]
    # and the 360 view's timeline tells them
    page = client.get(f"/customers/{customer.pk}/").content.decode()
    assert "意向:高, 兴趣:数学 → 意向:低, 兴趣:数学" in page
    assert "— → 意向:高, 兴趣:数学" in page


def test_bulk_tag_from_the_list_logs_each_changed_customer_in_a_fixed_number_of_queries(
    client, org, tags, django_assert_max_num_queries
):
    customers = [CustomerFactory(owner=org.rep1) for _ in range(30)]
    services.add_tags(customer_ids=[customers[0].pk], tags=[tags["art"]])
    client.force_login(org.manager1)
    with django_assert_max_num_queries(40):
        response = client.post(
            "/customers/", {"bulk_action": "tag", "selection": [c.pk for c in customers], "tag": tags["math"].pk}
        )
    assert response.status_code == 302
    for customer in customers[1:]:
        (entry,) = tag_entries(customer)
        assert entry.changes == {"tags": [[], ["兴趣:数学"]]} and entry.actor == org.manager1
    added_later = tag_entries(customers[0])[-1]
    assert added_later.changes == {"tags": [["兴趣:美术"], ["兴趣:数学", "兴趣:美术"]]}
    # a second run changes nothing, logs nothing
    before = LogEntry.objects.count()
    client.post("/customers/", {"bulk_action": "tag", "selection": [c.pk for c in customers], "tag": tags["math"].pk})
    assert LogEntry.objects.count() == before


def test_query_count_of_add_tags_does_not_grow_with_the_customers(org, tags, django_assert_max_num_queries):
    few = [CustomerFactory().pk for _ in range(3)]
    many = [CustomerFactory().pk for _ in range(60)]
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as small:
        services.add_tags(customer_ids=few, tags=[tags["high"], tags["math"]])
    with CaptureQueriesContext(connection) as large:
        services.add_tags(customer_ids=many, tags=[tags["high"], tags["math"]])
    assert len(large) == len(small)
    assert LogEntry.objects.filter(changes__has_key="tags").count() == 63


def test_single_choice_switch_and_removal_are_logged(org, tags):
    customer = CustomerFactory()
    services.add_tags(customer_ids=[customer.pk], tags=[tags["high"]], actor=org.manager1)
    services.add_tags(customer_ids=[customer.pk], tags=[tags["low"]])
    services.remove_tags(customer_ids=[customer.pk], tags=[tags["low"]], actor=org.rep1)
    entries = tag_entries(customer)
    assert [e.changes["tags"] for e in entries] == [[[], ["意向:高"]], [["意向:高"], ["意向:低"]], [["意向:低"], []]]
    assert [e.actor for e in entries] == [org.manager1, None, org.rep1]


def test_rules_log_tagging_and_untagging_as_the_system(org, tags):
    shanghai = CustomerFactory(region="上海")
    beijing = CustomerFactory(region="北京")
    rule = TagRule.objects.create(name="上海客户", tag=tags["math"], query="region=上海")
    services.apply_rule(rule)
    assert [e.changes for e in tag_entries(shanghai)] == [{"tags": [[], ["兴趣:数学"]]}]
    assert tag_entries(shanghai)[0].actor is None
    assert tag_entries(beijing) == []
    Customer.objects.filter(pk=shanghai.pk).update(region="330100", region_province="330000", region_city="330100")
    result = services.apply_rule(rule)
    assert result["removed"] == 1
    assert tag_entries(shanghai)[-1].changes == {"tags": [["兴趣:数学"], []]}
    # a nightly run with nothing to do logs no tag change
    before = LogEntry.objects.filter(changes__has_key="tags").count()
    services.apply_all_rules()
    assert LogEntry.objects.filter(changes__has_key="tags").count() == before


def test_tags_import_is_logged_as_the_importer(client, org, tags, django_capture_on_commit_callbacks):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from customers.models import ImportJob

    customer = CustomerFactory(owner=org.rep1, mobile="13800138001")
    client.force_login(org.rep1)
    response = client.post(
        "/customers/import/",
        {"kind": "tags", "file": SimpleUploadedFile("t.csv", "手机,标签\n13800138001,意向:高;兴趣:数学\n".encode())},
    )
    job = ImportJob.objects.get(pk=response.url.rstrip("/").rsplit("/", 1)[1])
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/customers/import/{job.pk}/commit/")
    (entry,) = tag_entries(customer)
    assert entry.changes == {"tags": [[], ["意向:高", "兴趣:数学"]]} and entry.actor == org.rep1


def test_merge_logs_the_tags_the_survivor_gains(org, tags):
    survivor, duplicate = CustomerFactory(), CustomerFactory()
    services.add_tags(customer_ids=[survivor.pk], tags=[tags["math"]])
    services.add_tags(customer_ids=[duplicate.pk], tags=[tags["art"]])
    services.merge_customers(actor=org.admin, survivor=survivor, duplicate=duplicate)
    last = tag_entries(survivor)[-1]
    assert last.changes == {"tags": [["兴趣:数学"], ["兴趣:数学", "兴趣:美术"]]} and last.actor == org.admin
