import csv
import io

import pytest
from auditlog.models import LogEntry
from openpyxl import load_workbook

from customers.models import Customer
from customers.tests.factories import CustomerFactory


@pytest.fixture
def mine_and_theirs(org):
    return CustomerFactory(owner=org.rep1, name="我的客户"), CustomerFactory(owner=org.rep3, name="别人的客户")


def test_rep_list_shows_only_own_customers(client, org, mine_and_theirs):
    client.force_login(org.rep1)
    page = client.get("/customers/").content.decode()
    assert "我的客户" in page and "别人的客户" not in page


def test_rep_cannot_open_another_reps_customer_by_url(client, org, mine_and_theirs):
    client.force_login(org.rep1)
    theirs = mine_and_theirs[1]
    assert client.get(f"/customers/{theirs.pk}/").status_code == 404
    assert client.get(f"/customers/{theirs.pk}/edit/").status_code == 404


def test_rep_cannot_change_another_reps_customer_by_post(client, org, mine_and_theirs):
    client.force_login(org.rep1)
    theirs = mine_and_theirs[1]
    response = client.post(f"/customers/{theirs.pk}/edit/", {"kind": "individual", "name": "hacked", "source": "other"})
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.name == "别人的客户"


def test_rep_export_contains_only_own_customers(client, org, mine_and_theirs):
    client.force_login(org.rep1)
    response = client.get("/customers/?export=csv")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert [row[0] for row in rows[1:]] == ["我的客户"]


def test_export_neutralizes_formulas(client, org):
    CustomerFactory(owner=org.rep1, name='=HYPERLINK("http://evil")')
    client.force_login(org.rep1)
    response = client.get("/customers/?export=xlsx")
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet.cell(row=2, column=1).value.startswith("'=")


def test_manager_sees_department_and_below_in_list(client, org, mine_and_theirs):
    client.force_login(org.manager1)
    page = client.get("/customers/").content.decode()
    assert "我的客户" in page and "别人的客户" not in page


def test_bulk_action_cannot_touch_records_outside_scope(client, org, mine_and_theirs):
    client.force_login(org.manager1)
    theirs = mine_and_theirs[1]
    client.post("/customers/", {"bulk_action": "assign", "selection": [theirs.pk], "owner": org.rep2.pk})
    theirs.refresh_from_db()
    assert theirs.owner == org.rep3


def test_bulk_hand_over_moves_ownership_and_keeps_history(client, org, mine_and_theirs):
    client.force_login(org.manager1)
    mine = mine_and_theirs[0]
    response = client.post("/customers/", {"bulk_action": "assign", "selection": [mine.pk], "owner": org.rep2.pk})
    assert response.status_code == 302
    mine.refresh_from_db()
    assert mine.owner == org.rep2
    entry = LogEntry.objects.get_for_object(mine).filter(action=LogEntry.Action.UPDATE).first()
    assert entry.actor == org.manager1
    assert entry.changes_dict["owner"] == [str(org.rep1.pk), str(org.rep2.pk)]


def test_rep_may_not_bulk_delete(client, org, mine_and_theirs):
    client.force_login(org.rep1)
    response = client.post("/customers/", {"bulk_action": "delete", "selection": [mine_and_theirs[0].pk]})
    assert response.status_code == 403
    assert Customer.objects.filter(pk=mine_and_theirs[0].pk).exists()


def test_create_customer_normalizes_mobile_and_records_history(client, org):
    client.force_login(org.rep1)
    response = client.post(
        "/customers/new/",
        {
            "kind": "individual",
            "name": "张三",
            "mobile": "+86 138-0013-8000",
            "source": "website",
        },
    )
    customer = Customer.objects.get(name="张三")
    assert response.status_code == 302
    assert customer.mobile == "13800138000"
    assert customer.owner == org.rep1 and customer.department == org.rep1.department
    entry = LogEntry.objects.get_for_object(customer).get()
    assert entry.action == LogEntry.Action.CREATE and entry.actor == org.rep1
    assert "张三" in client.get(f"/customers/{customer.pk}/").content.decode()


def test_form_errors_show_beside_the_field_and_keep_input(client, org):
    CustomerFactory(owner=org.rep3, mobile="13800138000", name="老客户")
    client.force_login(org.rep1)
    response = client.post(
        "/customers/new/",
        {"kind": "individual", "name": "新客户", "mobile": "13800138000", "source": "website", "region": "上海"},
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "老客户" not in page  # another team's customer is never named (issue 14, item 5)
    assert 'data-testid="duplicate-warning"' in page
    assert 'value="新客户"' in page and '<option value="310000" selected>上海市</option>' in page
    assert "is-invalid" in page


def test_invalid_mobile_is_refused(client, org):
    client.force_login(org.rep1)
    response = client.post(
        "/customers/new/", {"kind": "individual", "name": "李四", "mobile": "12345", "source": "website"}
    )
    assert response.status_code == 200
    assert not Customer.objects.filter(name="李四").exists()


def test_marketing_sees_masked_mobiles(client, org):
    CustomerFactory(owner=org.rep1, mobile="13800138000")
    client.force_login(org.marketing)
    page = client.get("/customers/").content.decode()
    assert "138****8000" in page and "13800138000" not in page


@pytest.mark.parametrize("rows", [10, 500])
def test_list_query_count_does_not_grow_with_rows(client, org, rows, django_assert_max_num_queries):
    CustomerFactory.create_batch(rows, owner=org.rep1)
    client.force_login(org.manager1)
    with django_assert_max_num_queries(13):  # lead source names once per request, the scoped departments
        response = client.get("/customers/?per_page=100")
    assert response.status_code == 200
    with django_assert_max_num_queries(8):  # filter choices, lead sources, custom attributes from the cache
        response = client.get("/customers/?per_page=100")
    assert response.status_code == 200


def test_detail_page_shows_history(client, org):
    customer = CustomerFactory(owner=org.rep1, name="原名")
    client.force_login(org.rep1)
    response = client.post(
        f"/customers/{customer.pk}/edit/",
        {"kind": "individual", "name": "改名", "source": "other", "mobile": customer.mobile},
    )
    assert response.status_code == 302
    page = client.get(f"/customers/{customer.pk}/").content.decode()
    history = page[page.index('<i class="bi bi-clock-history"></i> 变更历史') :]
    history = history[: history.index("</div></div>")]
    # the edit is an entry of the history card, with who made it and the name before and after
    assert history.count('class="history-item"') == 2  # created, then the edit
    assert str(org.rep1) in history
    assert "<strong>名称</strong>：原名 → 改名" in history


def test_filter_by_tags_any_and_all(client, org):
    from customers.services import add_tags
    from customers.tests.factories import TagFactory

    math, art = TagFactory(name="数学"), TagFactory(name="美术")
    both = CustomerFactory(owner=org.rep1, name="两门都学")
    only_math = CustomerFactory(owner=org.rep1, name="只学数学")
    CustomerFactory(owner=org.rep1, name="都不学")
    add_tags(customer_ids=[both.pk, only_math.pk], tags=[math])
    add_tags(customer_ids=[both.pk], tags=[art])
    client.force_login(org.rep1)
    any_page = client.get(f"/customers/?tags={math.pk}&tags={art.pk}&tags_match=any").content.decode()
    assert "两门都学" in any_page and "只学数学" in any_page and "都不学" not in any_page
    all_page = client.get(f"/customers/?tags={math.pk}&tags={art.pk}&tags_match=all").content.decode()
    assert "两门都学" in all_page and "只学数学" not in all_page


def test_deleting_a_customer_with_orders_is_refused_with_a_message(client, org):
    from decimal import Decimal

    from customers.tests.factories import make_order

    customer = CustomerFactory(owner=org.rep1)
    make_order(customer, Decimal("10"))
    client.force_login(org.manager1)
    response = client.post(f"/customers/{customer.pk}/delete/", follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "cannot be deleted" in response.content.decode()
    assert Customer.objects.filter(pk=customer.pk).exists()


def test_the_bulk_action_dialogs_ask_in_words_not_dashes(client, org):
    CustomerFactory(owner=org.rep1)
    client.force_login(org.manager1)
    page = client.get("/customers/").content.decode()
    assert "---------" not in page
    assert '<option value="" selected>请选择新负责人…</option>' in page
    assert '<option value="" selected>请选择标签…</option>' in page


def test_a_custom_attribute_added_after_a_list_was_shown_is_a_column_of_the_next_list(client, org):
    from customers.models import CustomAttribute

    CustomerFactory(owner=org.rep1, custom={"school": "实验小学"})
    client.force_login(org.director)
    assert "实验小学" not in client.get("/customers/").content.decode()
    attribute = CustomAttribute.objects.create(key="school", label="就读学校", kind="text")
    page = client.get("/customers/").content.decode()
    assert "就读学校" in page
    assert "实验小学" in page
    attribute.delete()
    assert "就读学校" not in client.get("/customers/").content.decode()
