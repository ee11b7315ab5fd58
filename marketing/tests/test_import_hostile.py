"""Hostile files for an event's registration import (CSV): broken encodings, a workbook, cells too
long or with NUL characters, formulas, duplicate people, 100,000 rows. All or nothing: a refused
file registers nobody, captures no lead and takes no seat."""

import csv
import io
import random
import time

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from crm.tests.files import csv_bytes, garbage_zip
from customers.tests.factories import CustomerFactory
from marketing.models import Event, Registration
from marketing.views.campaigns import MAX_REGISTRATION_ROWS
from sales.models import Lead

from .factories import make_campaign, make_event


@pytest.fixture
def event(org):
    return make_event(make_campaign(org), capacity=100)


@pytest.fixture(autouse=True)
def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


def state(event):
    event.refresh_from_db()
    return Registration.objects.count(), Lead.objects.count(), event.registered_count, event.attended_count


def post(client, event, data, name="registrations.csv"):
    """Upload a registration file as the marketing admin: the messages shown afterwards."""
    response = client.post(
        reverse("marketing:registration_import", args=[event.pk]),
        {"file": SimpleUploadedFile(name, data, "text/csv")},
        follow=True,
    )
    assert response.status_code == 200
    return [str(message) for message in response.context["messages"]]


def refused(client, event, data, name="registrations.csv"):
    before = state(event)
    shown = post(client, event, data, name)
    assert shown[0] == "Nothing was imported. Fix these rows and upload the file again:", shown
    assert state(event) == before
    return shown[1:]


@pytest.mark.parametrize(
    "data,message",
    [
        (b"mobile,name\n13800138001,\xff\xfe\n", "The file is neither UTF-8 nor GBK text."),
        ("mobile,name\n13800138001,张伟\n".encode("utf-16"), "The file is neither UTF-8 nor GBK text."),
        (random.Random(9).randbytes(4096), "The file is neither UTF-8 nor GBK text."),
        (garbage_zip("xl/workbook.xml", seed=5, size=1024), "The file is neither UTF-8 nor GBK text."),
        (b"", "The submitted file is empty."),
        (b"mobile,name\n", "The file has a header but no data rows."),
        ("name,attended\n张伟,yes\n".encode(), "The file needs a mobile column."),
    ],
    ids=[
        "invalid-utf8",
        "utf16-with-bom",
        "binary-junk",
        "xlsx-zip-of-garbage",
        "empty",
        "header-only",
        "no-mobile-column",
    ],
)
def test_a_file_that_cannot_be_read_registers_nobody(client, org, event, data, message):
    client.force_login(org.marketing)
    assert refused(client, event, data) == [message]


def test_gbk_file_reads_as_chinese(client, org, event):
    client.force_login(org.marketing)
    post(client, event, csv_bytes([["手机号", "姓名", "签到"], ["13800138001", "王小明家长", "是"]], "gbk"))
    registration = Registration.objects.get()
    assert registration.name == "王小明家长" and registration.status == Registration.Status.ATTENDED


@pytest.mark.parametrize(
    "cell,reason",
    [
        ("张\x00伟", "Null characters are not allowed."),
        ("长" * 101, "At most 100 characters."),
        ("x" * 200_000, "The CSV file cannot be read"),
    ],
    ids=["nul", "longer-than-the-field", "longer-than-csv-reads"],
)
def test_a_bad_name_names_its_row_and_registers_nobody(client, org, event, cell, reason):
    """These were server errors: PostgreSQL refuses a NUL and a name longer than the column,
    Python's csv module a cell over 128 KB."""
    client.force_login(org.marketing)
    errors = refused(client, event, csv_bytes([["mobile", "name"], ["13800138001", "张伟"], ["13800138002", cell]]))
    assert len(errors) == 1 and reason in errors[0]
    if "CSV" not in reason:
        assert errors[0].startswith("Row 3: name:")


def test_formula_names_are_stored_as_typed_and_exported_inert(client, org, event):
    formulas = ("=cmd|' /C calc'!A0", "+1+1", "-1", "@SUM(1)")
    client.force_login(org.marketing)
    post(client, event, csv_bytes([["mobile", "name"]] + [[f"1380013800{i}", f] for i, f in enumerate(formulas)]))
    assert sorted(Registration.objects.values_list("name", flat=True)) == sorted(formulas)
    # each unknown person became a lead; the lead list's export keeps the formulas inert
    client.force_login(org.admin)
    text = b"".join(client.get("/sales/leads/?export=csv").streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    column = rows[0].index("Name")
    assert sorted(row[column] for row in rows[1:]) == sorted("'" + f for f in formulas)


def test_the_same_person_twice_takes_one_seat(client, org, event):
    known = CustomerFactory(owner=org.rep1, mobile="13800138009", name="老客户")
    client.force_login(org.marketing)
    post(
        client,
        event,
        csv_bytes(
            [
                ["mobile", "name", "attended"],
                ["13800138001", "甲", ""],
                ["+86 138-0013-8001", "甲again", "yes"],
                ["13800138009", "", ""],
                ["138 0013 8009", "老客户", "yes"],
            ]
        ),
    )
    post(client, event, csv_bytes([["mobile", "name"], ["13800138001", "甲"]]))  # the same file again
    assert Registration.objects.count() == 2 and Lead.objects.count() == 1
    assert Registration.objects.get(customer=known).status == Registration.Status.ATTENDED
    event.refresh_from_db()
    assert event.registered_count == 2 and event.attended_count == 2


def test_a_full_event_half_way_through_the_file_takes_back_every_seat(client, org):
    small = make_event(make_campaign(org), capacity=3)
    client.force_login(org.marketing)
    errors = refused(client, small, csv_bytes([["mobile", "name"]] + [[f"1380013800{i}", f"人{i}"] for i in range(5)]))
    assert errors == ["Row 5: The event is full.", "Row 6: The event is full."]
    assert Event.objects.get(pk=small.pk).registered_count == 0


def test_100000_rows_are_refused_quickly_with_the_limit_named(client, org, event):
    """Each row may capture a lead inside the request: the file is refused, not worked through
    for minutes."""
    client.force_login(org.marketing)
    data = ("mobile,name\n" + "".join(f"13{i % 10}{i:08d},人{i}\n" for i in range(100_000))).encode()
    started = time.monotonic()
    assert refused(client, event, data) == [
        f"The file has more than {MAX_REGISTRATION_ROWS:,} rows; split it into smaller files."
    ]
    assert time.monotonic() - started < 30
