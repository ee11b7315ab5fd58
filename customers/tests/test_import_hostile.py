"""Hostile files for the customer and order import: broken encodings, files that are not what they
say, formulas, duplicate keys, 100,000 rows. A file is refused whole with a message that says why,
or checked row by row with each error named; nothing is stored until a clean file is committed, and
a failed commit leaves the database as it was."""

import codecs
import csv
import io
import random
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook

from crm.tests.files import csv_bytes, xlsx, zip_of
from customers import imports
from customers.models import Customer, ImportJob, Order
from customers.tests.factories import CustomerFactory
from customers.tests.test_imports import commit, upload

FORMULAS = ("=cmd|' /C calc'!A0", "+1+1", "-1", "@SUM(1)")
NOT_TEXT = "neither a CSV text file (UTF-8 or GBK) nor an XLSX workbook"


@pytest.fixture(autouse=True)
def english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


def refused(client, data, name="file.csv", kind="customers"):
    """Upload a file the import must refuse: the form's error text. Nothing may be stored."""
    customers, orders = Customer.objects.count(), Order.objects.count()
    response = client.post("/customers/import/", {"kind": kind, "file": SimpleUploadedFile(name, data)})
    assert response.status_code == 200, response.status_code
    assert not ImportJob.objects.exists()
    assert (Customer.objects.count(), Order.objects.count()) == (customers, orders)
    return " ".join(response.context["form"].errors["file"])


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"name,mobile\n\xff\xfe\xfd,13800138001\n", id="invalid-utf8"),
        pytest.param(codecs.BOM_UTF8 + "姓名,手机\n张伟,13800138001\n".encode("gbk"), id="gbk-labelled-utf8-by-a-bom"),
        pytest.param("name,mobile\n张伟,13800138001\n".encode("utf-16"), id="utf16-with-bom"),
        pytest.param(random.Random(7).randbytes(4096), id="binary-junk"),
        pytest.param("name,mobile\n张\x00伟,13800138001\n".encode(), id="nul-inside-utf8"),
    ],
)
def test_a_file_in_no_readable_encoding_is_refused_with_the_encodings_named(client, org, data):
    client.force_login(org.rep1)
    assert NOT_TEXT in refused(client, data)


def test_a_gbk_file_without_any_label_reads_as_chinese(client, org):
    client.force_login(org.rep1)
    job = upload(
        client, "customers", csv_bytes([["姓名", "手机", "备注"], ["张伟", "13800138001", "五年级·数学"]], "gbk")
    )
    assert job.rows[0]["values"] == {"name": "张伟", "mobile": "13800138001", "notes": "五年级·数学"}


@pytest.mark.parametrize(
    "name,data",
    [
        pytest.param("customers.xlsx", zip_of({"junk.bin": random.Random(1).randbytes(2048)}), id="zip-of-garbage"),
        pytest.param(
            "customers.xlsx",
            zip_of({"[Content_Types].xml": b"<Types", "xl/workbook.xml": b"\x00\xff"}),
            id="zip-with-broken-workbook-parts",
        ),
        pytest.param("customers.xlsx", xlsx([["name"], ["张伟"]])[:300], id="truncated-xlsx"),
        pytest.param("customers.xlsx", "name,mobile\n张伟,13800138001\n".encode("gbk"), id="csv-named-xlsx"),
    ],
)
def test_an_xlsx_that_is_no_workbook_is_refused(client, org, name, data):
    client.force_login(org.rep1)
    assert "This XLSX file cannot be read" in refused(client, data, name=name)


@pytest.mark.parametrize(
    "data,message",
    [
        (b"", "The submitted file is empty."),
        (b"\n\n \n", "The file is empty."),
        (b"name,mobile,region\n", "The file has a header but no data rows."),
        (codecs.BOM_UTF8 + b"name,mobile\r\n,\r\n", "The file has a header but no data rows."),
        (xlsx([["name", "mobile"]]), "The file has a header but no data rows."),
    ],
)
def test_an_empty_or_header_only_file_is_refused(client, org, data, message):
    client.force_login(org.rep1)
    assert message in refused(client, data, name="file.xlsx" if data.startswith(b"PK") else "file.csv")


def test_formula_cells_are_stored_as_typed_and_exported_inert(client, org, django_capture_on_commit_callbacks):
    rows = [["name", "mobile", "region", "notes", "wechat_id"]]
    rows += [
        [f"{formula}", f"1380013800{i}", formula, f"{formula} notes", formula] for i, formula in enumerate(FORMULAS)
    ]
    client.force_login(org.rep1)
    job = upload(client, "customers", csv_bytes(rows))
    assert job.status == ImportJob.Status.VALIDATED, job.errors
    commit(client, job, django_capture_on_commit_callbacks)
    stored = dict(Customer.objects.values_list("mobile", "name"))
    assert stored == {f"1380013800{i}": formula for i, formula in enumerate(FORMULAS)}
    assert Customer.objects.get(mobile="13800138000").notes == "=cmd|' /C calc'!A0 notes"

    text = b"".join(client.get("/customers/?export=csv").streaming_content).decode("utf-8-sig")
    exported = list(csv.reader(io.StringIO(text)))
    names = sorted(row[0] for row in exported[1:])
    assert names == sorted("'" + formula for formula in FORMULAS)
    sheet = load_workbook(io.BytesIO(client.get("/customers/?export=xlsx").content)).active
    assert sorted(row[0] for row in sheet.iter_rows(min_row=2, values_only=True)) == names


def test_a_formula_in_an_xlsx_cell_is_read_as_its_value_never_as_its_text(client, org):
    """A workbook saved without computed values (as scripts write them) has no value to read:
    the row is an error, the formula text is not imported."""
    client.force_login(org.rep1)
    job = upload(
        client,
        "customers",
        xlsx(
            [
                ["name", "mobile", "notes"],
                ['=HYPERLINK("http://evil.example","点我")', 13800138001, "=1+1"],
                ["李娜", 13800138002, "=1+1"],
            ]
        ),
        name="f.xlsx",
    )
    assert [(e["row"], e["column"]) for e in job.errors] == [(2, "name")]
    assert [r["row"] for r in job.rows] == [3] and "notes" not in job.rows[0]["values"]


def test_duplicate_mobiles_in_the_file_are_reported_by_row(client, org, django_capture_on_commit_callbacks):
    client.force_login(org.rep1)
    job = upload(
        client,
        "customers",
        csv_bytes(
            [
                ["name", "mobile"],
                ["张伟", "13800138001"],
                ["李娜", "13900000002"],
                ["张伟2", "+86 138-0013-8001"],
                ["张伟3", "0086 13800138001"],
                ["王芳", "139 0000 0002"],
            ]
        ),
    )
    assert job.status == ImportJob.Status.INVALID
    assert [(e["row"], e["column"], e["message"]) for e in job.errors] == [
        (4, "mobile", "Same mobile as row 2."),
        (5, "mobile", "Same mobile as row 2."),
        (6, "mobile", "Same mobile as row 3."),
    ]
    page = client.get(f"/customers/import/{job.pk}/").content.decode()
    assert "Same mobile as row 2." in page and "/commit/" not in page
    commit(client, job, django_capture_on_commit_callbacks)
    assert not Customer.objects.exists()


def test_keys_that_exist_in_the_database_are_linked_or_named(client, org):
    mine = CustomerFactory(owner=org.rep1, mobile="13800138001", name="张伟")
    CustomerFactory(owner=org.rep3, mobile="13800138002", name="别人的")
    client.force_login(org.rep1)
    job = upload(
        client,
        "customers",
        csv_bytes(
            [["name", "mobile"], ["张伟", "138 0013 8001"], ["别人的", "13800138002"], ["张伟again", "+8613800138001"]]
        ),
    )
    assert job.rows[0]["action"] == "link" and job.rows[0]["customer_id"] == mine.pk
    assert [(e["row"], e["column"]) for e in job.errors] == [(3, "mobile"), (4, "mobile")]
    assert "belongs to another owner" in job.errors[0]["message"]
    assert job.errors[1]["message"] == "Same mobile as row 2."


def test_order_numbers_repeated_in_the_file_or_imported_before_are_named(client, org):
    existing = CustomerFactory(owner=org.rep1, mobile="13800138001")
    Order.objects.create(customer=existing, amount=10, external_id="SO-OLD")
    client.force_login(org.rep1)
    job = upload(
        client,
        "orders",
        csv_bytes(
            [
                ["external_id", "mobile", "amount", "placed_at", "sku", "price"],
                ["SO-OLD", "13800138001", "100", "2025-03-01", "", ""],
                ["SO-1", "13800138001", "100", "2025-03-01", "A", "50"],
                ["SO-1", "13800138001", "120", "2025-03-01", "B", "50"],
                ["SO-1", "13800138009", "100", "2025-03-01", "C", "50"],
            ]
        ),
    )
    assert [(e["row"], e["column"]) for e in job.errors] == [(2, "external_id"), (4, "amount"), (5, "mobile")]
    assert job.errors[0]["message"] == "Order SO-OLD was imported before."
    assert "Row 3 has the same order number" in job.errors[1]["message"]
    assert Order.objects.count() == 1


def test_a_row_that_fails_while_writing_rolls_back_the_whole_file(client, org):
    client.force_login(org.rep1)
    rows = [["name", "mobile", "notes"]] + [[f"客户{i}", f"1380000{i:04d}", FORMULAS[i % 4]] for i in range(300)]
    job = upload(client, "customers", csv_bytes(rows))
    assert job.status == ImportJob.Status.VALIDATED
    # between the check and the commit, someone adds the customer of row 200 by another way
    CustomerFactory(owner=org.rep2, mobile="13800000198")
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.QUEUED)
    imports.run_import(job.pk, language="en")
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED
    assert job.errors == [
        {"row": 200, "column": "mobile", "message": "A customer with this mobile was added since the check."}
    ]
    assert Customer.objects.count() == 1  # the 199 rows before it are rolled back too


def _many_rows(count):
    head = "name,mobile,region\n"
    return (head + "".join(f"客户{i},13{i % 10}{i:08d},上海\n" for i in range(count))).encode()


def test_100000_rows_are_checked_in_the_background_and_one_more_is_refused(
    client, org, django_capture_on_commit_callbacks
):
    client.force_login(org.admin)
    message = refused(client, _many_rows(imports.MAX_ROWS + 1))
    assert "more than 100,000 rows" in message and not Customer.objects.exists()

    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):  # the check runs in Celery (eager here)
        job = upload(client, "customers", _many_rows(imports.MAX_ROWS), name="十万.csv")
    elapsed = time.monotonic() - started
    job.refresh_from_db()
    assert job.status == ImportJob.Status.VALIDATED and job.total == 100_000 and job.errors == []
    assert elapsed < 120, f"checking 100,000 rows took {elapsed:.0f} s"
    assert not Customer.objects.exists()  # checked, nothing stored before the commit
    page = client.get(f"/customers/import/{job.pk}/").content.decode()
    assert "100000" in page.replace(",", "")
