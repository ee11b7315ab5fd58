"""The customer list's export (issue 13, item 29): the visible columns, custom attributes, tags and
classes included; dates as dates and numbers as numbers; a sheet named after the list."""

import datetime
import io

from django.utils import timezone
from openpyxl import load_workbook

from customers.models import CustomAttribute, CustomerTag
from customers.tests.factories import CustomerFactory, TagFactory


def test_the_customer_export_has_the_visible_columns_typed_in_a_named_sheet(client, org):
    CustomAttribute.objects.create(key="school", label="学校", kind=CustomAttribute.Kind.TEXT, position=1)
    CustomAttribute.objects.create(key="grade_year", label="年级", kind=CustomAttribute.Kind.NUMBER, position=2)
    CustomAttribute.objects.create(key="trial_on", label="试听日期", kind=CustomAttribute.Kind.DATE, position=3)
    created = timezone.make_aware(datetime.datetime(2026, 11, 10, 9, 30))
    customer = CustomerFactory(
        name="王小明",
        owner=org.rep1,
        region="上海",
        lifecycle_stage="first_order",
        value_segment="potential",
        grid_class="B",
        created_at=created,
        custom={"school": "实验小学", "grade_year": "3", "trial_on": "2026-11-02"},
    )
    for position, name in enumerate(("高意向", "数学"), 1):  # tags list by their group's position
        CustomerTag.objects.create(customer=customer, tag=TagFactory(name=name, group__position=position))
    client.force_login(org.manager1)
    page = client.get("/customers/").content.decode()
    assert "实验小学" in page and "高意向" in page
    response = client.get("/customers/?export=xlsx")
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["客户"]
    rows = list(book.active.iter_rows(values_only=True))
    header, row = rows[0], dict(zip(rows[0], rows[1]))
    assert list(header) == [
        "名称",
        "类型",
        "手机号",
        "地区",
        "来源渠道",
        "负责人",
        "部门",
        "生命周期阶段",
        "价值分层",
        "九宫格分类",
        "标签",
        "创建时间",
        "学校",
        "年级",
        "试听日期",
    ]
    assert row["名称"] == "王小明" and row["负责人"] == str(org.rep1)
    assert row["标签"] == "高意向, 数学"
    assert row["学校"] == "实验小学" and row["年级"] == 3 and row["试听日期"] == datetime.datetime(2026, 11, 2)
    assert row["创建时间"] == datetime.datetime(2026, 11, 10, 9, 30)
    assert book.active.cell(row=2, column=12).number_format == "yyyy-mm-dd hh:mm"
    assert row["九宫格分类"] == "B" and row["价值分层"] == "潜在客户"
