"""政策及效果统计 and 经营分析: every figure recounted from the order lines in the database, each
user's scope, the drill-down behind a figure, XLSX, and query counts flat in the data size."""

import datetime
import io
from collections import defaultdict
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from catalog import analysis
from catalog.tests.factories import PolicyFactory, ProductFactory, SkuFactory, category
from customers.models import Order, OrderLine
from customers.services import cancel_order, place_order
from customers.tests.factories import CustomerFactory

YEAR = 2026


def at(month, day=10):
    return timezone.make_aware(datetime.datetime(YEAR, month, day, 10, 0))


@pytest.fixture
def sales(org):
    edu = category("教育培训")
    one = category("一对一", edu)
    home = category("家政服务")
    math = SkuFactory(
        product=ProductFactory(code="EDU-MATH", name="数学一对一", category=one),
        code="MATH-48",
        list_price=Decimal("1000.00"),
        cost=Decimal("400.00"),
    )
    clean = SkuFactory(
        product=ProductFactory(code="HOME-CLEAN", name="保洁", category=home),
        code="CLEAN-4",
        list_price=Decimal("500.00"),
        cost=Decimal("300.00"),
    )
    online = PolicyFactory(name="线上九折", percent_off=Decimal(10), channel="online")
    shanghai = CustomerFactory(owner=org.rep1, department=org.team1, region="310104")
    hangzhou = CustomerFactory(owner=org.rep3, department=org.sales2, region="330106")
    orders = [
        place_order(customer=shanghai, amount="900", lines=[{"sku": "MATH-48"}], channel="online", placed_at=at(3)),
        place_order(
            customer=shanghai,
            amount="1500",
            lines=[{"sku": "MATH-48"}, {"sku": "CLEAN-4", "quantity": 2, "price": "250"}],
            channel="store",
            placed_at=at(3, 20),
        ),
        place_order(customer=hangzhou, amount="450", lines=[{"sku": "CLEAN-4"}], channel="online", placed_at=at(4)),
        place_order(
            customer=hangzhou, amount="80", lines=[{"sku": "PLAIN-1", "price": "80"}], channel="store", placed_at=at(4)
        ),
    ]
    cancelled = place_order(customer=hangzhou, amount="1000", lines=[{"sku": "MATH-48"}], placed_at=at(4))
    cancel_order(order=cancelled)
    return {"math": math, "clean": clean, "online": online, "orders": orders, "one": one, "home": home}


def recount(lines, key):
    """The figures of each group, counted line by line in Python from the stored rows."""
    groups = defaultdict(lambda: {"orders": set(), "gmv": Decimal(0), "margin": Decimal(0)})
    for line in lines:
        group = groups[key(line)]
        group["orders"].add(line.order_id)
        group["gmv"] += line.price * line.quantity
        if line.cost is not None:
            group["margin"] += (line.price - line.cost) * line.quantity
    return {k: (len(v["orders"]), v["gmv"], v["margin"]) for k, v in groups.items()}


def paid_lines():
    return list(OrderLine.objects.filter(order__status=Order.Status.PAID).select_related("order", "order__customer"))


def test_policy_effect_recounts_each_policy_against_none(org, sales):
    data = analysis.policy_effect(org.admin, year=YEAR)
    catalogue = [line for line in paid_lines() if line.policy_price is not None]
    expected = recount(catalogue, lambda line: line.policy_id)
    online = sales["online"]
    assert [(p["id"], p["name"], p["orders"], p["gmv"], p["margin"]) for p in data["policies"]] == [
        (online.pk, "线上九折", *expected[online.pk])
    ]
    assert (data["none"]["orders"], data["none"]["gmv"], data["none"]["margin"]) == expected[None]
    # exact figures: online math 900 (margin 500) and online cleaning 450 (150); at list price
    # one order with math 1000 (600) and cleaning 2 × 250 (−100)
    assert expected == {
        online.pk: (2, Decimal("1350.00"), Decimal("650.00")),
        None: (1, Decimal("1500.00"), Decimal("500.00")),
    }
    march, april = data["months"][2], data["months"][3]
    assert (march["policy"]["gmv"], march["none"]["gmv"], april["policy"]["gmv"], april["none"]["orders"]) == (
        Decimal("900.00"),
        Decimal("1500.00"),
        Decimal("450.00"),
        0,
    )


def test_a_rep_sees_the_figures_of_his_own_customers_only(org, sales):
    data = analysis.policy_effect(org.rep1, year=YEAR)
    assert [(p["orders"], p["gmv"]) for p in data["policies"]] == [(1, Decimal("900.00"))]
    assert analysis.business_analysis(org.rep3, year=YEAR, by="channel")["total"]["gmv"] == Decimal("530.00")
    assert analysis.business_analysis(org.manager1, year=YEAR, by="channel")["total"]["gmv"] == Decimal("2400.00")


@pytest.mark.parametrize(
    "by,key",
    [
        ("product", lambda line, skus: skus[line.sku].product_id if line.sku in skus else None),
        ("category", lambda line, skus: skus[line.sku].product.category_id if line.sku in skus else None),
        ("channel", lambda line, skus: line.order.channel),
        ("province", lambda line, skus: line.order.customer.region_province),
        ("city", lambda line, skus: line.order.customer.region_city),
        ("month", lambda line, skus: timezone.localtime(line.order.placed_at).strftime("%Y-%m")),
    ],
)
def test_business_analysis_recounts_every_dimension(org, sales, by, key):
    skus = {s.code: s for s in (sales["math"], sales["clean"])}
    expected = recount(paid_lines(), lambda line: key(line, skus))
    data = analysis.business_analysis(org.admin, year=YEAR, by=by)
    got = {row["key"]: (row["orders"], row["gmv"], row["margin"]) for row in data["rows"]}
    assert got == {("" if k is None else str(k)): v for k, v in expected.items()}
    assert (data["total"]["orders"], data["total"]["gmv"]) == (4, Decimal("2930.00"))


def test_business_analysis_labels_provinces_and_products(org, sales):
    by_province = analysis.business_analysis(org.admin, year=YEAR, by="province")
    assert [(row["label"], row["gmv"]) for row in by_province["rows"]] == [
        ("上海市", Decimal("2400.00")),
        ("浙江省", Decimal("530.00")),
    ]
    by_product = analysis.business_analysis(org.admin, year=YEAR, by="product")
    assert [row["label"] for row in by_product["rows"]] == ["EDU-MATH 数学一对一", "HOME-CLEAN 保洁", ""]


def test_the_drill_down_lists_the_lines_behind_a_figure(client, org, sales):
    client.force_login(org.admin)
    response = client.get(reverse("catalog:sold_lines") + f"?year={YEAR}&policy={sales['online'].pk}")
    assert response.status_code == 200
    assert sorted(line.order.channel for line in response.context["table"].data) == ["online", "online"]
    response = client.get(reverse("catalog:sold_lines") + f"?year={YEAR}&by=province&key=330000")
    assert sorted(line.sku for line in response.context["table"].data) == ["CLEAN-4", "PLAIN-1"]
    response = client.get(reverse("catalog:sold_lines") + f"?year={YEAR}&month=3&policy=none")
    assert sorted(line.sku for line in response.context["table"].data) == ["CLEAN-4", "MATH-48"]


def test_the_pages_show_the_figures_and_export_xlsx(client, org, sales):
    client.force_login(org.manager1)
    page = client.get(reverse("catalog:policy_effect") + f"?year={YEAR}").content.decode()
    assert "线上九折" in page and "1,500.00" in page
    response = client.get(reverse("catalog:analysis") + f"?year={YEAR}&by=channel&export=xlsx")
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[0][0] == "Channel" and rows[-1][:4] == ["Total", 2, 4, 2400]


def test_the_reports_cost_the_same_whatever_the_number_of_orders(client, org, sales, django_assert_max_num_queries):
    customer = CustomerFactory(owner=org.rep1, department=org.team1, region="310104")
    for month in range(1, 12):
        place_order(customer=customer, amount="500", lines=[{"sku": "CLEAN-4"}], channel="online", placed_at=at(month))
    client.force_login(org.admin)
    # the first view rolls the closed months up (a handful of statements however many months)
    with django_assert_max_num_queries(17):
        assert client.get(reverse("catalog:analysis") + f"?year={YEAR}&by=product").status_code == 200
    for by in ("product", "category", "channel", "province", "city", "month"):
        with django_assert_max_num_queries(12):
            assert client.get(reverse("catalog:analysis") + f"?year={YEAR}&by={by}").status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get(reverse("catalog:policy_effect") + f"?year={YEAR}").status_code == 200


def test_the_drill_down_lines_add_up_to_the_cell_with_separated_amounts(client, org, sales):
    client.force_login(org.admin)
    cell = next(
        row for row in analysis.business_analysis(org.admin, year=YEAR, by="channel")["rows"] if row["key"] == "store"
    )
    response = client.get(reverse("catalog:sold_lines") + f"?year={YEAR}&by=channel&key=store")
    table = response.context["table"]
    totals = [row.get_cell("line_total") for row in table.rows]
    assert sorted(totals) == ["1,000.00", "500.00", "80.00"]
    assert sum(Decimal(t.replace(",", "")) for t in totals) == cell["gmv"]
    assert sorted(row.get_cell("price") for row in table.rows) == ["1,000.00", "250.00", "80.00"]


def test_the_drill_down_names_its_cell_and_leads_back_to_it(client, org, sales, settings):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    client.force_login(org.admin)
    product = sales["math"].product

    def heading_and_back(query):
        page = client.get(reverse("catalog:sold_lines") + query).content.decode()
        heading = page.split("<h1>")[1].split("<span")[0].strip()
        back = page.split('data-testid="back"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
        return heading, back

    assert heading_and_back(f"?year={YEAR}&by=product&key={product.pk}") == (
        f"订单明细 · {YEAR} · 产品：EDU-MATH 数学一对一",
        reverse("catalog:analysis") + f"?year={YEAR}&by=product",
    )
    assert heading_and_back(f"?year={YEAR}&by=province&key=330000")[0] == f"订单明细 · {YEAR} · 省：浙江省"
    assert heading_and_back(f"?year={YEAR}&by=product&key=")[0] == f"订单明细 · {YEAR} · 产品：未知"
    assert heading_and_back(f"?year={YEAR}&month=3&policy={sales['online'].pk}") == (
        f"订单明细 · {YEAR}-03 · 线上九折",
        reverse("catalog:policy_effect") + f"?year={YEAR}",
    )
    response = client.get(reverse("catalog:sold_lines") + f"?year={YEAR}&policy=none&export=xlsx")
    assert f"order-lines-{YEAR}" in response["Content-Disposition"]
