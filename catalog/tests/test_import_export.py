"""Catalogue import (all or nothing, with a row report) and export (the same columns)."""

import io
from decimal import Decimal

import pytest
from auditlog.models import LogEntry
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from catalog.models import Category, Product, ProductImport, Sku
from catalog.services import imports
from catalog.tests.factories import SkuFactory

HEADER = "产品编码,产品名称,品类,SKU编码,SKU名称,规格,单位,标价,成本,税率,权益,权益数量,权益有效天数\n"
GOOD = (
    HEADER
    + 'EDU-1V1,初中数学一对一,教育培训/一对一,EDU-1V1-24,24课时,24课时,课时包,"7,200",3100,6,课时,24,365\n'
    + "EDU-1V1,初中数学一对一,教育培训/一对一,EDU-1V1-48,48课时,48课时,课时包,13800,6000,6,课时,48,365\n"
    + "HOME-AC,空调清洗,家政服务,HOME-AC-1,挂机,挂机,台,¥120,55,6,,,\n"
)


def _start(org, text, name="catalogue.csv"):
    return imports.start_import(user=org.marketing, file_name=name, data=text.encode("utf-8"))


def test_a_good_file_is_checked_then_written_whole(org):
    job = _start(org, GOOD)
    assert (job.status, job.errors, job.total, Sku.objects.count()) == (
        "validated",
        [],
        3,
        0,
    )
    job = imports.commit_import(job=job, user=org.marketing)
    assert (job.status, job.message) == ("done", "3 SKUs created, 0 updated.")
    rows = list(Sku.objects.order_by("code").values_list("code", "product__code", "list_price", "grants_quantity"))
    assert rows == [
        ("EDU-1V1-24", "EDU-1V1", Decimal("7200.00"), 24),
        ("EDU-1V1-48", "EDU-1V1", Decimal("13800.00"), 48),
        ("HOME-AC-1", "HOME-AC", Decimal("120.00"), 0),
    ]
    assert sorted(Category.objects.values_list("name", flat=True)) == [
        "一对一",
        "家政服务",
        "教育培训",
    ]
    assert LogEntry.objects.filter(actor=org.marketing, content_type__model="sku").count() == 3


def test_every_bad_cell_is_reported_with_its_row_and_column_and_nothing_is_written(org):
    text = (
        HEADER
        + "P1,产品,教育培训,S1,规格,,件,abc,10,6,,,\n"
        + "P1,产品,教育培训,S1,规格,,件,10,-5,160,,1.5,\n"
        + ",产品,教育培训,S2,规格,,件,10,,,,,\n"
    )
    job = _start(org, text)
    assert job.status == "invalid"
    assert [(e["row"], e["column"]) for e in job.errors] == [
        (2, "list_price"),
        (3, "cost"),
        (3, "tax_rate"),
        (3, "grants_quantity"),
        (3, "sku_code"),
        (4, "product_code"),
    ]
    assert imports.commit_import(job=job, user=org.marketing).status == "invalid"
    assert Sku.objects.count() == 0


def test_a_file_without_a_required_column_names_it(org):
    job = _start(org, "产品编码,产品名称,品类,SKU编码\nP1,产品,教育培训,S1\n")
    assert job.errors == [
        {
            "row": 1,
            "column": "list_price",
            "message": "The file has no list_price column.",
        }
    ]


def test_a_row_failing_at_write_time_rolls_back_every_row(org):
    SkuFactory(code="TAKEN")
    job = _start(
        org,
        HEADER + "P9,新品,教育培训,NEW-1,规格,,件,10,,,,,\n" + "P9,新品,教育培训,NEW-2,规格,,件,10,,,,,\n",
    )
    ProductImport.objects.filter(pk=job.pk).update(rows=job.rows[:1] + [dict(job.rows[1], unit="x" * 30)])
    job.refresh_from_db()
    job = imports.commit_import(job=job, user=org.marketing)
    assert (job.status, job.errors[0]["row"], job.errors[0]["column"]) == (
        "failed",
        3,
        "unit",
    )
    assert (
        Sku.objects.filter(code__startswith="NEW").count(),
        Product.objects.filter(code="P9").count(),
    ) == (0, 0)


def test_an_existing_sku_is_updated_not_duplicated(org):
    SkuFactory(code="EDU-1V1-24", list_price=Decimal("1.00"))
    job = imports.commit_import(job=_start(org, GOOD), user=org.marketing)
    assert job.message == "2 SKUs created, 1 updated."
    assert Sku.objects.get(code="EDU-1V1-24").list_price == Decimal("7200.00")


def test_a_committed_job_is_not_imported_twice(org):
    job = _start(org, GOOD)
    imports.commit_import(job=job, user=org.marketing)
    job.status = "validated"  # a stale copy, as a double click would hold
    assert imports.commit_import(job=job, user=org.marketing).status == "done"
    assert Sku.objects.count() == 3


def test_an_xlsx_file_imports_like_a_csv(org):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for line in GOOD.strip().split("\n"):
        sheet.append(next(iter(__import__("csv").reader([line]))))
    buffer = io.BytesIO()
    book.save(buffer)
    job = imports.start_import(user=org.marketing, file_name="c.xlsx", data=buffer.getvalue())
    assert (job.status, job.total) == ("validated", 3)


def test_the_export_imports_back_unchanged(client, org):
    imports.commit_import(job=_start(org, GOOD), user=org.marketing)
    client.force_login(org.manager1)
    response = client.get(reverse("catalog:product_export") + "?format=csv")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    lines = text.strip().splitlines()
    assert lines[0] == ",".join(imports.EXPORT_HEADER)
    assert (
        lines[1]
        == "EDU-1V1,初中数学一对一,教育培训/一对一,EDU-1V1-24,24课时,24课时,课时包,7200.00,3100.00,6.00,课时,24,365"
    )
    job = imports.start_import(user=org.marketing, file_name="again.csv", data=text.encode())
    assert (job.status, imports.commit_import(job=job, user=org.marketing).message) == (
        "validated",
        "0 SKUs created, 3 updated.",
    )


def test_a_rep_may_not_export_the_catalogue(client, org):
    client.force_login(org.rep1)
    assert client.get(reverse("catalog:product_export")).status_code == 403


def test_the_upload_page_checks_then_commits(client, org):
    client.force_login(org.marketing)
    upload = SimpleUploadedFile("c.csv", GOOD.encode(), content_type="text/csv")
    response = client.post(reverse("catalog:import"), {"file": upload})
    job = ProductImport.objects.get()
    assert response.status_code == 302 and response["Location"] == job.get_absolute_url()
    page = client.get(job.get_absolute_url()).content.decode()
    assert "3 rows checked, no problems" in page
    client.post(reverse("catalog:import_commit", args=[job.pk]))
    assert Sku.objects.count() == 3


def test_an_old_excel_file_is_refused_beside_the_file_field(client, org):
    client.force_login(org.marketing)
    upload = SimpleUploadedFile("c.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100)
    response = client.post(reverse("catalog:import"), {"file": upload})
    assert response.context["form"].errors == {
        "file": ["This is an old Excel file (.xls). Save it as .xlsx or CSV and upload it again."]
    }


@pytest.mark.parametrize("role", ["rep1", "manager1", "director"])
def test_only_catalogue_managers_may_import(client, org, role):
    client.force_login(getattr(org, role))
    assert client.get(reverse("catalog:import")).status_code == 403
