"""Imports: check, preview, commit all or nothing, progress."""

import io
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile

from customers import imports
from customers.models import Customer, CustomerRelation, CustomerTag, ImportJob, Order, OrderLine, RelationKind
from customers.tests.factories import CustomerFactory, TagFactory, TagGroupFactory

CUSTOMERS_CSV = """name,mobile,gender,birthday,region,source,tags,notes
张伟,+86 138-0013-8001,男,1985-03-12,上海,官网,意向:高;兴趣:数学,=HYPERLINK("http://x")
李娜,139 1234 5678,女,1988-07-01,杭州,转介绍,兴趣:数学,
"""


@pytest.fixture(autouse=True)
def english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture
def tags(db):
    intent = TagGroupFactory(name="意向", multiple=False)
    interest = TagGroupFactory(name="兴趣")
    return {
        "high": TagFactory(group=intent, name="高"),
        "low": TagFactory(group=intent, name="低"),
        "math": TagFactory(group=interest, name="数学"),
    }


def upload(client, kind, content, name="file.csv", encoding="utf-8"):
    data = content.encode(encoding) if isinstance(content, str) else content
    response = client.post("/customers/import/", {"kind": kind, "file": SimpleUploadedFile(name, data)})
    assert response.status_code == 302, response.content.decode()[:2000]
    return ImportJob.objects.get(pk=response.url.rstrip("/").rsplit("/", 1)[1])


def commit(client, job, callbacks):
    with callbacks(execute=True):
        response = client.post(f"/customers/import/{job.pk}/commit/")
    assert response.status_code == 302
    job.refresh_from_db()
    return job


def test_good_customers_csv_creates_customers_with_normalized_mobiles_and_tags(
    client, org, tags, django_capture_on_commit_callbacks
):
    client.force_login(org.rep1)
    job = upload(client, "customers", CUSTOMERS_CSV)
    assert job.status == ImportJob.Status.VALIDATED and job.errors == [] and job.total == 2
    page = client.get(f"/customers/import/{job.pk}/").content.decode()
    assert "张伟" in page and "New customer" in page and "/commit/" in page
    assert not Customer.objects.exists()  # the check stores nothing

    job = commit(client, job, django_capture_on_commit_callbacks)
    assert job.status == ImportJob.Status.DONE and job.processed == 2
    zhang = Customer.objects.get(mobile="13800138001")
    assert zhang.name == "张伟" and zhang.gender == "male" and str(zhang.birthday) == "1985-03-12"
    assert zhang.source == "website" and zhang.owner == org.rep1 and zhang.department == org.team1
    assert zhang.notes == '=HYPERLINK("http://x")'  # stored as typed; exports neutralize it
    assert {str(t) for t in zhang.tags.all()} == {"意向:高", "兴趣:数学"}
    assert CustomerTag.objects.filter(customer=zhang, source="import").count() == 2
    assert Customer.objects.get(mobile="13912345678").name == "李娜"
    result = client.get(f"/customers/import/{job.pk}/").content.decode()
    assert f"/customers/{zhang.pk}/" in result


def test_bad_mobile_at_row_3_is_reported_and_nothing_is_stored(client, org, django_capture_on_commit_callbacks):
    client.force_login(org.rep1)
    job = upload(client, "customers", "姓名,手机\n张伟,13800138001\n李娜,12345\n王芳,13700001234\n")
    assert job.status == ImportJob.Status.INVALID
    assert [(e["row"], e["column"]) for e in job.errors] == [(3, "mobile")]
    page = client.get(f"/customers/import/{job.pk}/").content.decode()
    assert "China mobile number" in page and "/commit/" not in page
    job = commit(client, job, django_capture_on_commit_callbacks)  # refused: the job has errors
    assert job.status == ImportJob.Status.INVALID and not Customer.objects.exists()


def test_commit_is_all_or_nothing(client, org):
    client.force_login(org.rep1)
    job = upload(
        client,
        "orders",
        "external_id,mobile,name,amount,placed_at\n"
        "SO-1,13800138001,张伟,100,2025-03-01\n"
        "SO-2,13800138002,李娜,200,2025-03-02\n"
        "SO-3,13800138003,王芳,300,2025-03-03\n",
    )
    assert job.status == ImportJob.Status.VALIDATED
    # between the check and the commit, SO-2 arrives by another way
    other = CustomerFactory(owner=org.rep1)
    Order.objects.create(customer=other, amount=1, external_id="SO-2")
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.QUEUED)

    imports.run_import(job.pk, language="en")

    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED and job.finished_at is not None
    assert job.errors == [{"row": 3, "column": "external_id", "message": "Order SO-2 was added since the check."}]
    assert Order.objects.count() == 1 and Customer.objects.count() == 1  # SO-1 and its customer rolled back
    assert all(entry["customer_id"] is None for entry in job.rows)  # no links to rolled-back customers
    page = client.get(f"/customers/import/{job.pk}/").content.decode()
    assert "Nothing was imported: row 3 failed" in page


def test_task_runs_a_job_once(client, org):
    client.force_login(org.rep1)
    job = upload(client, "customers", "name,mobile\n张伟,13800138001\n")
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.QUEUED)
    imports.run_import(job.pk, language="en")
    imports.run_import(job.pk, language="en")
    assert Customer.objects.count() == 1


def test_gbk_csv_is_read(client, org):
    client.force_login(org.rep1)
    job = upload(client, "customers", "姓名,手机,地区\n张伟,13800138001,上海\n", encoding="gbk")
    assert job.status == ImportJob.Status.VALIDATED
    assert job.rows[0]["values"] == {"name": "张伟", "mobile": "13800138001", "region": "上海"}


def test_binary_junk_is_refused_with_a_clear_message(client, org):
    client.force_login(org.rep1)
    response = client.post(
        "/customers/import/", {"kind": "customers", "file": SimpleUploadedFile("x.csv", bytes(range(256)) * 4)}
    )
    assert response.status_code == 200
    assert "neither a CSV text file" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_xlsx_is_read(client, org, django_capture_on_commit_callbacks):
    import datetime

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["姓名", "手机", "生日", "性别"])
    sheet.append(["张伟", 13800138001, datetime.datetime(1985, 3, 12), "男"])
    buffer = io.BytesIO()
    book.save(buffer)
    client.force_login(org.rep1)
    job = upload(client, "customers", buffer.getvalue(), name="客户.xlsx")
    assert job.status == ImportJob.Status.VALIDATED, job.errors
    commit(client, job, django_capture_on_commit_callbacks)
    customer = Customer.objects.get()
    assert customer.mobile == "13800138001" and str(customer.birthday) == "1985-03-12" and customer.gender == "male"


def test_orders_import_refreshes_value_figures(client, org, django_capture_on_commit_callbacks):
    existing = CustomerFactory(owner=org.rep1, mobile="13800138001")
    client.force_login(org.rep1)
    job = upload(
        client,
        "orders",
        "订单号,手机,姓名,金额,渠道,下单时间,商品编码,数量,单价\n"
        "SO-1,13800138001,,3980,门店,2025-03-01 10:30,MATH-01,1,2980\n"
        "SO-1,13800138001,,3980,门店,2025-03-01 10:30,BOOK-01,2,500\n"
        "SO-2,13800138001,,1000.5,小程序,2025-04-01,,,\n"
        "SO-3,13600009999,王芳,299,网店,2025-04-02 19:05,TRIAL,1,\n",
    )
    assert job.status == ImportJob.Status.VALIDATED, job.errors
    summary = {str(label): number for label, number, _css in imports.summary(job)}
    assert summary["Orders"] == 3 and summary["New customers"] == 1
    commit(client, job, django_capture_on_commit_callbacks)
    existing.refresh_from_db()
    assert existing.order_count == 2 and existing.total_amount == Decimal("4980.50")
    assert existing.lifecycle_stage != "potential" and existing.last_order_at is not None
    order = Order.objects.get(external_id="SO-1")
    assert order.channel == "store" and order.created_by == org.rep1
    assert sorted(order.lines.values_list("sku", "quantity", "price")) == [
        ("BOOK-01", 2, Decimal("500.00")),
        ("MATH-01", 1, Decimal("2980.00")),
    ]
    new = Customer.objects.get(mobile="13600009999")
    assert new.name == "王芳" and new.owner == org.rep1 and new.order_count == 1
    assert OrderLine.objects.get(order__external_id="SO-3").price == Decimal("299.00")
    # stored set-based, yet each order has its "created" audit entry, by the importer
    from auditlog.models import LogEntry

    created = LogEntry.objects.get_for_object(order).get(action=LogEntry.Action.CREATE)
    assert created.actor == org.rep1 and created.changes["external_id"] == ["None", "SO-1"]


def test_order_rows_must_agree_on_the_amount(client, org):
    client.force_login(org.rep1)
    job = upload(
        client,
        "orders",
        "external_id,mobile,amount,placed_at,sku,price\n"
        "SO-1,13800138001,100,2025-03-01,A,50\n"
        "SO-1,13800138001,120,2025-03-01,B,50\n"
        "SO-2,13800138001,100,2099-03-01,A,100\n",
    )
    assert [(e["row"], e["column"]) for e in job.errors] == [(3, "amount"), (4, "placed_at")]


def test_relations_import_creates_links_and_refuses_a_contradiction(client, org, django_capture_on_commit_callbacks):
    dad = CustomerFactory(owner=org.rep1, mobile="13800138001", name="张伟")
    kid = CustomerFactory(owner=org.rep1, mobile="13800138002", name="张小明")
    mum = CustomerFactory(owner=org.rep1, mobile="13800138003", name="李娜")
    client.force_login(org.rep1)
    job = upload(
        client,
        "relations",
        "from_mobile,to_mobile,kind\n13800138001,13800138002,父母\n"
        "13800138003,13800138001,配偶\n13800138003,13800138002,parent\n",
    )
    assert job.status == ImportJob.Status.VALIDATED, job.errors
    commit(client, job, django_capture_on_commit_callbacks)
    assert CustomerRelation.objects.filter(from_customer=dad, to_customer=kid, kind=RelationKind.PARENT).exists()
    assert CustomerRelation.objects.filter(kind=RelationKind.SPOUSE).count() == 1
    assert CustomerRelation.objects.filter(from_customer=mum, to_customer=kid).exists()

    contradiction = upload(client, "relations", "from_mobile,to_mobile,kind\n13800138002,13800138001,父母\n")
    assert contradiction.status == ImportJob.Status.INVALID
    assert contradiction.errors[0]["row"] == 2 and contradiction.errors[0]["column"] == "kind"
    assert "already linked" in contradiction.errors[0]["message"]
    again = upload(client, "relations", "from_mobile,to_mobile,kind\n13800138001,13800138002,父母\n")
    assert again.status == ImportJob.Status.VALIDATED and again.rows[0]["action"] == "skip"
    assert CustomerRelation.objects.count() == 3


def test_duplicate_mobile_links_to_the_existing_customer(client, org, tags, django_capture_on_commit_callbacks):
    existing = CustomerFactory(owner=org.rep1, mobile="13800138001", name="张伟", region="")
    client.force_login(org.rep1)
    job = upload(client, "customers", "name,mobile,region,tags\n张伟伟,138 0013 8001,上海,意向:低\n")
    assert job.status == ImportJob.Status.VALIDATED
    assert job.rows[0]["action"] == "link" and job.rows[0]["customer_id"] == existing.pk
    page = client.get(f"/customers/import/{job.pk}/").content.decode()
    assert f"Links to existing customer #{existing.pk}" in page
    commit(client, job, django_capture_on_commit_callbacks)
    assert Customer.objects.count() == 1
    existing.refresh_from_db()
    assert existing.name == "张伟" and existing.region == "310000"  # empty fields filled (上海 as its code)
    assert list(existing.tags.all()) == [tags["low"]]


def test_duplicate_name_and_birthday_links_and_duplicates_in_the_file_are_errors(client, org):
    existing = CustomerFactory(owner=org.rep1, mobile="", name="张伟", birthday="1985-03-12")
    client.force_login(org.rep1)
    job = upload(client, "customers", "name,birthday,mobile\n张伟,1985/3/12,\n李娜,,13800138001\n王芳,,13800138001\n")
    assert job.rows[0]["customer_id"] == existing.pk and job.rows[0]["match"] == "name"
    assert [(e["row"], e["column"], e["message"]) for e in job.errors] == [(4, "mobile", "Same mobile as row 3.")]


def test_customer_of_another_owner_is_an_error(client, org):
    CustomerFactory(owner=org.rep3, mobile="13800138001")
    client.force_login(org.rep1)
    job = upload(client, "customers", "name,mobile\n张伟,13800138001\n")
    assert job.errors[0]["column"] == "mobile" and "belongs to another owner" in job.errors[0]["message"]


def test_unknown_or_unassignable_owner_is_an_error(client, org):
    client.force_login(org.manager1)
    job = upload(client, "customers", "name,owner\n张伟,nobody\n李娜,rep3\n王芳,rep2\n")
    assert [(e["row"], e["column"]) for e in job.errors] == [(2, "owner"), (3, "owner")]
    assert "Unknown user nobody" in job.errors[0]["message"]


def test_rep_cannot_import_orders_onto_another_reps_customer(client, org, django_capture_on_commit_callbacks):
    theirs = CustomerFactory(owner=org.rep3, mobile="13800138001")
    client.force_login(org.rep1)
    job = upload(client, "orders", "external_id,mobile,amount,placed_at\nSO-1,13800138001,100,2025-03-01\n")
    assert job.status == ImportJob.Status.INVALID
    assert job.errors[0]["row"] == 2 and "belongs to another owner" in job.errors[0]["message"]
    commit(client, job, django_capture_on_commit_callbacks)
    assert not Order.objects.exists() and theirs.orders.count() == 0


def test_customer_moved_out_of_scope_after_the_check_fails_the_import(client, org):
    mine = CustomerFactory(owner=org.rep1, mobile="13800138001")
    client.force_login(org.rep1)
    job = upload(client, "orders", "external_id,mobile,amount,placed_at\nSO-1,13800138001,100,2025-03-01\n")
    Customer.objects.filter(pk=mine.pk).update(owner=org.rep3, department=org.sales2)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.QUEUED)
    imports.run_import(job.pk, language="en")
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED and job.errors[0]["row"] == 2 and not Order.objects.exists()


def test_marketing_cannot_import_orders_and_nobody_sees_another_users_job(client, org):
    client.force_login(org.marketing)
    page = client.get("/customers/import/").content.decode()
    assert 'value="customers"' in page and 'value="orders"' not in page
    response = client.post("/customers/import/", {"kind": "orders", "file": SimpleUploadedFile("o.csv", b"x")})
    assert response.status_code == 200 and not ImportJob.objects.exists()
    client.force_login(org.rep1)
    job = upload(client, "customers", "name\n张伟\n")
    client.force_login(org.rep2)
    assert client.get(f"/customers/import/{job.pk}/").status_code == 404
    assert client.post(f"/customers/import/{job.pk}/commit/").status_code == 404
    assert client.get(f"/customers/import/{job.pk}/progress/").status_code == 404


def test_tags_import_adds_tags(client, org, tags, django_capture_on_commit_callbacks):
    customer = CustomerFactory(owner=org.rep1, mobile="13800138001")
    client.force_login(org.rep1)
    job = upload(client, "tags", "手机,标签\n13800138001,意向:高;数学\n13800138009,意向:高\n")
    assert [(e["row"], e["column"]) for e in job.errors] == [(3, "mobile")]
    job = upload(client, "tags", "mobile,tags\n13800138001,意向:高;数学\n")
    commit(client, job, django_capture_on_commit_callbacks)
    assert set(customer.tags.all()) == {tags["high"], tags["math"]}


def test_large_file_is_checked_in_celery(client, org, django_capture_on_commit_callbacks, monkeypatch):
    monkeypatch.setattr(imports, "ASYNC_CHECK_ROWS", 3)
    client.force_login(org.rep1)
    rows = "".join(f"客户{i},138{i:08d}\n" for i in range(5))
    with django_capture_on_commit_callbacks(execute=True):
        job = upload(client, "customers", "name,mobile\n" + rows)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.VALIDATED and len(job.rows) == 5 and job.total == 5


def test_progress_partial_renders(client, org):
    client.force_login(org.rep1)
    job = ImportJob.objects.create(
        kind="orders", file_name="o.csv", created_by=org.rep1, total=1000, status=ImportJob.Status.RUNNING
    )
    cache.set(imports.progress_key(job.pk), {"phase": "import", "processed": 400, "total": 1000})
    response = client.get(f"/customers/import/{job.pk}/progress/", HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200 and 'hx-trigger="every 1s"' in body
    assert "400 / 1000" in body and 'aria-valuenow="40"' in body and "HX-Refresh" not in response

    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.DONE, processed=1000)
    response = client.get(f"/customers/import/{job.pk}/progress/", HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "hx-trigger" not in body and "1000 / 1000" in body and response["HX-Refresh"] == "true"


def test_import_page_lists_recent_jobs_and_serves_samples(client, org, django_assert_max_num_queries):
    client.force_login(org.rep1)
    for _ in range(3):
        upload(client, "customers", "name\n张伟\n", name="客户名单.csv")
    with django_assert_max_num_queries(10):
        page = client.get("/customers/import/").content.decode()
    assert page.count("客户名单.csv") == 3
    job = ImportJob.objects.first()
    with django_assert_max_num_queries(6):
        assert client.get(f"/customers/import/{job.pk}/").status_code == 200
    sample = client.get("/customers/import/samples/orders.csv")
    assert sample.status_code == 200 and "external_id" in b"".join(sample.streaming_content).decode("utf-8-sig")
    assert client.get("/customers/import/samples/passwd.csv").status_code == 404


@pytest.mark.parametrize("kind", ["customers", "relations", "tags", "orders"])
def test_sample_files_have_every_column_known(kind):
    from crm.import_pages import SAMPLES_DIR

    header, records = imports.read_table(f"{kind}.csv", (SAMPLES_DIR / f"{kind}.csv").read_bytes())
    index, errors, ignored = imports.map_header(kind, header)
    assert not errors and not ignored and records
