"""Hostile files for the lead import: broken encodings, files that are not what they say,
formulas, duplicate keys, 100,000 rows (over the 5,000-row cap). Refused whole with the reason, or
checked row by row; a failed commit stores nothing (no lead, no assignment, no task)."""

import codecs
import csv
import io
import random
import time

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook

from crm.tests.files import csv_bytes, garbage_zip, xlsx
from customers.models import Customer
from customers.tests.factories import CustomerFactory
from sales import imports
from sales.models import AssignmentRule, Lead, LeadImportJob, PoolMove, Task
from sales.tests.factories import LeadFactory
from sales.tests.test_lead_imports import commit, upload

FORMULAS = ("=cmd|' /C calc'!A0", "+1+1", "-1", "@SUM(1)")


@pytest.fixture(autouse=True)
def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


def counts():
    return Lead.objects.count(), PoolMove.objects.count(), Task.objects.count(), Customer.objects.count()


def refused(client, data, name="leads.csv"):
    """Upload a file the import must refuse: the page's error text. Nothing may be stored."""
    before = counts()
    response = client.post("/sales/leads/import/", {"file": SimpleUploadedFile(name, data)})
    assert response.status_code == 200, response.status_code
    assert not LeadImportJob.objects.exists() and counts() == before
    return " ".join(response.context["form"].errors["file"])


@pytest.mark.parametrize(
    "name,data,message",
    [
        ("l.csv", b"name,mobile\n\xff\xfe\xfd,13800138001\n", "neither a CSV text file"),
        ("l.csv", codecs.BOM_UTF8 + "姓名,手机\n张伟,13800138001\n".encode("gbk"), "neither a CSV text file"),
        ("l.csv", "name,mobile\n张伟,13800138001\n".encode("utf-16"), "neither a CSV text file"),
        ("l.csv", random.Random(11).randbytes(4096), "neither a CSV text file"),
        ("l.csv", "name,mobile\n张\x00伟,13800138001\n".encode(), "neither a CSV text file"),
        ("l.xlsx", garbage_zip(), "This XLSX file cannot be read"),
        ("l.xlsx", xlsx([["name"], ["张伟"]])[:300], "This XLSX file cannot be read"),
        ("l.csv", b"", "The submitted file is empty."),
        ("l.csv", b"name,mobile\n", "The file has a header but no data rows."),
    ],
    ids=[
        "invalid-utf8",
        "gbk-labelled-utf8-by-a-bom",
        "utf16-with-bom",
        "binary-junk",
        "nul-inside-utf8",
        "xlsx-zip-of-garbage",
        "truncated-xlsx",
        "empty",
        "header-only",
    ],
)
def test_a_file_that_cannot_be_read_is_refused_with_the_reason(client, org, name, data, message):
    client.force_login(org.rep1)
    assert message in refused(client, data, name=name)


def test_gbk_file_reads_as_chinese(client, org):
    client.force_login(org.rep1)
    job = upload(client, csv_bytes([["姓名", "手机号", "需求"], ["王小明家长", "13900001111", "五年级数学"]], "gbk"))
    assert job.rows[0]["values"]["name"] == "王小明家长" and job.rows[0]["values"]["need"] == "五年级数学"


def test_formula_cells_are_stored_as_typed_and_exported_inert(client, org, django_capture_on_commit_callbacks):
    client.force_login(org.manager1)
    job = upload(
        client,
        csv_bytes(
            [["name", "mobile", "region", "need", "note"]]
            + [[formula, f"1390000000{i}", formula, formula, formula] for i, formula in enumerate(FORMULAS)]
        ),
    )
    assert job.status == LeadImportJob.Status.VALIDATED, job.errors
    commit(client, job, django_capture_on_commit_callbacks)
    assert dict(Lead.objects.values_list("mobile", "name")) == {
        f"1390000000{i}": formula for i, formula in enumerate(FORMULAS)
    }
    assert set(Lead.objects.values_list("note", flat=True)) == set(FORMULAS)

    text = b"".join(client.get("/sales/leads/?export=csv").streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    column = rows[0].index("Name")
    assert sorted(row[column] for row in rows[1:]) == sorted("'" + f for f in FORMULAS)
    sheet = load_workbook(io.BytesIO(client.get("/sales/leads/?export=xlsx").content)).active
    assert sorted(row[column] for row in sheet.iter_rows(min_row=2, values_only=True)) == sorted(
        "'" + f for f in FORMULAS
    )


def test_duplicates_in_the_file_and_in_the_database_are_named_by_row(client, org):
    earlier = LeadFactory(owner=org.rep2, mobile="13900000001", name="老线索")
    customer = CustomerFactory(owner=org.rep2, mobile="13900000002", name="老客户")
    client.force_login(org.manager1)
    job = upload(
        client,
        csv_bytes(
            [
                ["name", "mobile"],
                ["甲", "13900000003"],
                ["乙", "+86 139-0000-0003"],
                ["丙", "0086 13900000003"],
                ["丁", "139 0000 0001"],
                ["戊", "13900000002"],
            ]
        ),
    )
    assert job.status == LeadImportJob.Status.VALIDATED, job.errors
    actions = [
        (r["row"], r["action"], r.get("duplicate_row"), r.get("duplicate_lead_id"), r.get("customer_id"))
        for r in job.rows
    ]
    assert actions == [
        (2, "create", None, None, None),
        (3, "duplicate", 2, None, None),
        (4, "duplicate", 2, None, None),
        (5, "duplicate", None, earlier.pk, None),
        (6, "customer", None, None, customer.pk),
    ]
    page = client.get(f"/sales/leads/import/{job.pk}/").content.decode()
    assert page.count("Duplicate of row 2") == 2 and f"Duplicate of lead #{earlier.pk}" in page


def test_a_row_that_fails_while_writing_rolls_back_every_lead_and_assignment(client, org):
    """The rows before the failing one were captured (assigned by the rules, with their pool
    moves): all of it goes."""
    AssignmentRule.objects.create(position=10, team=org.team1)
    client.force_login(org.manager1)
    rows = [["name", "mobile", "owner"]] + [[f"线索{i}", f"1390000{i:04d}", ""] for i in range(50)]
    rows[40][2] = "rep2"  # spreadsheet row 41
    job = upload(client, csv_bytes(rows))
    assert job.status == LeadImportJob.Status.VALIDATED, job.errors
    before = counts()
    org.rep2.is_active = False  # between the check and the commit, rep2 leaves
    org.rep2.save()
    LeadImportJob.objects.filter(pk=job.pk).update(status=LeadImportJob.Status.QUEUED)
    imports.run_lead_import(job.pk, language="en")
    job.refresh_from_db()
    assert job.status == LeadImportJob.Status.FAILED
    assert [(e["row"], e["column"]) for e in job.errors] == [(41, "owner")]
    assert counts() == before


def test_100000_rows_are_refused_quickly_with_the_limit_named(client, org):
    client.force_login(org.rep1)
    data = ("name,mobile\n" + "".join(f"线索{i},13{i % 10}{i:08d}\n" for i in range(100_000))).encode()
    started = time.monotonic()
    message = refused(client, data)
    assert "more than 5,000 rows" in message
    assert time.monotonic() - started < 30
