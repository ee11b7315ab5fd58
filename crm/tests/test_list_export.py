"""ScopedListView's exports: the fast path (values_list, declared with ``export_fields``) writes what the
table shows, neutralizes formulas, streams CSV; lists that declare nothing keep the table path."""

import csv
import datetime
import io

import django_tables2 as tables
import pytest
from django.test import RequestFactory
from django.utils import timezone, translation
from openpyxl import load_workbook

from crm import ui
from crm.ui import LocalDateTimeColumn, ScopedListView, SubqueryPaginator, neutralize
from customers.filters import CustomerFilter
from customers.models import Customer
from customers.tests.factories import CustomerFactory


class PlainTable(tables.Table):
    name = tables.Column(linkify=True)
    owner = tables.Column()
    created_at = LocalDateTimeColumn(format="Y-m-d H:i")

    class Meta:
        model = Customer
        fields = (
            "name",
            "kind",
            "mobile",
            "source",
            "owner",
            "department",
            "order_count",
            "total_amount",
            "created_at",
        )
        order_by = ("-created_at",)

    def value_mobile(self, value):
        return value[:3] + "****" if value else value


class TemplateTable(PlainTable):
    badge = tables.TemplateColumn("<b>{{ record.name }}</b>", verbose_name="badge")

    class Meta(PlainTable.Meta):
        fields = PlainTable.Meta.fields + ("badge",)


class FastView(ScopedListView):
    model = Customer
    table_class = PlainTable
    filterset_class = CustomerFilter
    view_action = "customers.view"
    export_action = "customers.export"
    export_fields = {}


class SlowView(FastView):
    export_fields = None


class TemplateView(FastView):
    table_class = TemplateTable


class DeclaredTemplateView(FastView):
    table_class = TemplateTable
    export_fields = {"badge": ("name", lambda value: f"[{value}]")}


def export(view_class, user, fmt="csv", query=""):
    request = RequestFactory().get(f"/x/?export={fmt}{query}")
    request.user = user
    view = view_class()
    view.setup(request)
    view.object_list = None
    response = view.get(request)
    if fmt == "csv":
        text = b"".join(response.streaming_content).decode("utf-8-sig")
        return list(csv.reader(io.StringIO(text)))
    sheet = load_workbook(io.BytesIO(response.content)).active
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


@pytest.fixture
def customers(org):
    stamp = timezone.make_aware(datetime.datetime(2024, 5, 1, 9, 30))
    first = CustomerFactory(owner=org.rep1, name="张三", mobile="13800138000", source="referral", created_at=stamp)
    evil = CustomerFactory(
        owner=org.rep1, name='=cmd|" /C calc"!A0', mobile="13900139000", created_at=stamp + datetime.timedelta(hours=1)
    )
    return first, evil


def test_fast_export_has_the_tables_headers_and_values(org, customers):
    with translation.override("en"):
        rows = export(FastView, org.rep1)
    assert rows[0] == [
        "Name",
        "Kind",
        "Mobile",
        "Source channel",
        "Owner",
        "Department",
        "Orders",
        "Total spent",
        "Created",
    ]
    first = rows[2]
    # the source is a lead source code; this plain table declares no conversion (product tables show the name)
    assert first == [
        "张三",
        "Individual",
        "138****",
        "referral",
        str(org.rep1),
        str(org.team1),
        "0",
        "0.00",
        "2024-05-01 09:30",
    ]
    # the same cells as the table path (``as_values``), after the same neutralization
    with translation.override("en"):
        assert rows == export(SlowView, org.rep1)


def test_fast_export_neutralizes_formulas_in_csv_and_xlsx(org, customers):
    csv_rows = export(FastView, org.rep1)
    assert csv_rows[1][0] == '\'=cmd|" /C calc"!A0'
    xlsx_rows = export(FastView, org.rep1, "xlsx")
    assert xlsx_rows[1][0] == '\'=cmd|" /C calc"!A0'
    assert xlsx_rows[2][0] == "张三"
    assert neutralize("+1") == "'+1" and neutralize("@SUM(A1)") == "'@SUM(A1)" and neutralize(-3) == -3


def test_fast_export_honours_scope_and_sort(org, customers):
    CustomerFactory(owner=org.rep3, name="别人的")
    names = [
        neutralize(n) for n in Customer.objects.filter(owner=org.rep1).order_by("-name").values_list("name", flat=True)
    ]
    assert [r[0] for r in export(FastView, org.rep1, query="&sort=-name")[1:]] == names
    assert "别人的" in [r[0] for r in export(FastView, org.admin)]


def test_fast_export_reads_in_a_fixed_number_of_queries(org, django_assert_max_num_queries):
    for index in range(120):
        CustomerFactory(owner=[org.rep1, org.rep2][index % 2])
    with django_assert_max_num_queries(12):
        rows = export(FastView, org.manager1)
    assert len(rows) == 121


def test_fast_export_streams_in_chunks(org, monkeypatch):
    for _ in range(7):
        CustomerFactory(owner=org.rep1)
    monkeypatch.setattr(ui, "EXPORT_CHUNK", 3)
    request = RequestFactory().get("/x/?export=csv")
    request.user = org.rep1
    view = FastView()
    view.setup(request)
    response = view.get(request)
    assert response.streaming
    chunks = list(response.streaming_content)
    assert len(chunks) == 1 + 1 + 7  # BOM, header, one line per row


def test_a_column_that_cannot_be_read_from_values_falls_back_to_the_table(org, customers):
    rows = export(TemplateView, org.rep1)
    assert rows[0][-1] == "badge" and rows[2][-1] == "张三"


def test_a_declared_column_uses_its_path_and_function(org, customers):
    rows = export(DeclaredTemplateView, org.rep1)
    assert rows[2][-1] == "[张三]"
    assert rows[1][-1] == '[=cmd|" /C calc"!A0]'


def test_local_datetime_column_renders_local_time():
    column = LocalDateTimeColumn(format="Y-m-d H:i")
    moment = datetime.datetime(2024, 1, 1, 16, 5, tzinfo=datetime.UTC)
    assert column.render(moment) == "2024-01-02 00:05"  # Asia/Shanghai


def test_subquery_paginator_gives_the_same_pages(org):
    for index in range(25):
        CustomerFactory(owner=org.rep1, created_at=timezone.now() - datetime.timedelta(minutes=index % 5))
    expected = list(Customer.objects.order_by("-created_at", "-id").values_list("pk", flat=True))
    table = PlainTable(Customer.objects.order_by("-created_at", "-id"))
    table.paginate(paginator_class=SubqueryPaginator, per_page=10)
    pages = [[row.record.pk for row in table.paginator.page(n).object_list] for n in range(1, 4)]
    assert pages == [expected[:10], expected[10:20], expected[20:]]
