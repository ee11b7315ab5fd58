from decimal import Decimal

from auditlog.models import LogEntry

from customers import services
from customers.models import Customer, CustomerRelation, OwnershipChange
from customers.tests.factories import CustomerFactory, TagFactory, make_order


def test_merge_keeps_relations_tags_orders_and_history_on_the_survivor(org):
    survivor = CustomerFactory(owner=org.rep1, name="王芳", mobile="13800000001", email="")
    duplicate = CustomerFactory(owner=org.rep1, name="王芳", mobile="13800000002", email="wf@example.com")
    child = CustomerFactory(owner=org.rep1, name="王小宝")
    other_child = CustomerFactory(owner=org.rep1, name="王小贝")
    services.link_customers(from_customer=duplicate, to_customer=child, kind="parent")
    services.link_customers(from_customer=survivor, to_customer=other_child, kind="parent")
    shared, only_dup = TagFactory(), TagFactory()
    services.add_tags(customer_ids=[survivor.pk, duplicate.pk], tags=[shared])
    services.add_tags(customer_ids=[duplicate.pk], tags=[only_dup])
    make_order(survivor, "100.00")
    make_order(duplicate, "50.00")
    OwnershipChange.objects.create(customer=duplicate, to_owner=org.rep1, reason="handed_over")
    survivor_entries = LogEntry.objects.get_for_object(survivor).count()
    duplicate_entries = LogEntry.objects.get_for_object(duplicate).count()

    merged = services.merge_customers(actor=org.admin, survivor=survivor, duplicate=duplicate)

    assert not Customer.objects.filter(pk=duplicate.pk).exists()
    assert merged.email == "wf@example.com"  # empty field filled from the duplicate
    assert set(merged.tags.values_list("pk", flat=True)) == {shared.pk, only_dup.pk}
    assert merged.order_count == 2 and merged.total_amount == Decimal("150.00")
    children = set(CustomerRelation.objects.filter(from_customer=merged).values_list("to_customer__name", flat=True))
    assert children == {"王小宝", "王小贝"}
    # the duplicate's hand-over moved to the survivor (the factory records no ownership rows)
    assert list(OwnershipChange.objects.filter(customer=merged).values_list("reason", flat=True)) == ["handed_over"]
    entries = LogEntry.objects.get_for_object(merged)
    # both records' history, plus three entries of the merge: the email filled in, the tags
    # joined, and the merge itself
    assert entries.count() == survivor_entries + duplicate_entries + 3
    assert [e.changes["merged"] for e in entries.filter(changes__has_key="merged")] == [
        ["王芳 (#%d)" % duplicate.pk, "王芳"]
    ]


def test_merge_drops_the_link_between_the_two_and_duplicate_links(org):
    a = CustomerFactory(owner=org.rep1)
    b = CustomerFactory(owner=org.rep1)
    spouse = CustomerFactory(owner=org.rep1)
    services.link_customers(from_customer=a, to_customer=b, kind="sibling")
    services.link_customers(from_customer=a, to_customer=spouse, kind="spouse")
    services.link_customers(from_customer=b, to_customer=spouse, kind="spouse")
    merged = services.merge_customers(actor=org.admin, survivor=a, duplicate=b)
    assert CustomerRelation.objects.filter(is_family=True).count() == 1
    assert CustomerRelation.objects.get().reading_for(merged.pk)[0] == spouse


def test_only_admins_merge_in_the_browser(client, org):
    a, b = CustomerFactory(owner=org.rep1), CustomerFactory(owner=org.rep1)
    client.force_login(org.manager1)
    assert client.post("/customers/merge/", {"survivor": a.pk, "duplicate": b.pk}).status_code == 403
    client.force_login(org.admin)
    page = client.get(f"/customers/merge/?survivor={a.pk}&duplicate={b.pk}")
    assert b.name in page.content.decode()
    response = client.post("/customers/merge/", {"survivor": a.pk, "duplicate": b.pk})
    assert response.status_code == 302
    assert not Customer.objects.filter(pk=b.pk).exists()


def test_duplicate_by_name_and_birthday_is_caught_in_the_form(client, org):
    import datetime

    CustomerFactory(owner=org.rep1, name="孙悟空", mobile="", birthday=datetime.date(2015, 5, 1))
    client.force_login(org.rep1)
    response = client.post(
        "/customers/new/", {"kind": "individual", "name": "孙悟空", "birthday": "2015-05-01", "source": "website"}
    )
    assert response.status_code == 200
    assert 'data-testid="duplicate-warning"' in response.content.decode()
    assert Customer.objects.filter(name="孙悟空").count() == 1


def test_custom_attributes_appear_on_the_form_and_are_saved(client, org):
    from customers.models import CustomAttribute

    CustomAttribute.objects.create(key="school_grade", label="年级", kind="choice", choices="一年级\n二年级")
    client.force_login(org.rep1)
    assert "年级" in client.get("/customers/new/").content.decode()
    response = client.post(
        "/customers/new/", {"kind": "individual", "name": "小明", "source": "website", "custom_school_grade": "二年级"}
    )
    assert response.status_code == 302
    assert Customer.objects.get(name="小明").custom == {"school_grade": "二年级"}
    bad = client.post(
        "/customers/new/", {"kind": "individual", "name": "小红", "source": "website", "custom_school_grade": "九年级"}
    )
    assert bad.status_code == 200 and not Customer.objects.filter(name="小红").exists()


def test_bulk_tagging_from_the_list(client, org):
    tag = TagFactory(name="高意向")
    mine = CustomerFactory.create_batch(3, owner=org.rep1)
    client.force_login(org.manager1)
    response = client.post("/customers/", {"bulk_action": "tag", "selection": [c.pk for c in mine], "tag": tag.pk})
    assert response.status_code == 302
    assert tag.customers.count() == 3
