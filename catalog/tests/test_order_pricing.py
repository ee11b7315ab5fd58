"""Orders priced by the catalogue: the orders API, the order form and the order import record the
sales policy that applied on each line; an unknown SKU from the API is 422 naming its line."""

import datetime
from decimal import Decimal

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from catalog.models import Product, Sku
from catalog.services.pricing import price_for, price_orders
from catalog.tests.factories import PolicyFactory, ProductFactory, SkuFactory, category
from crm import services as crm_services
from customers.models import Order, OrderLine
from customers.services import place_order
from customers.tests.factories import CustomerFactory
from customers.tests.test_imports import commit, upload


def bearer(raw):
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def token(*scopes):
    client = crm_services.create_api_client(name="shop-" + "-".join(s.replace(":", "") for s in scopes))
    _token, raw = crm_services.issue_token(client=client, scopes=list(scopes))
    return raw


@pytest.fixture
def shelf(db):
    one = category("一对一", category("教育培训"))
    product = ProductFactory(category=one)
    math = SkuFactory(product=product, code="MATH-48", list_price=Decimal("13800.00"), cost=Decimal("6000.00"))
    eng = SkuFactory(product=product, code="ENG-24", list_price=Decimal("6480.00"), cost=Decimal("2800.00"))
    # a discount on everything online, and a narrower one: online and on the category 一对一
    everything = PolicyFactory(name="线上九五折", percent_off=Decimal(5), channel="online", priority=9)
    narrower = PolicyFactory(name="线上一对一九折", percent_off=Decimal(10), channel="online", category=one)
    return {"math": math, "eng": eng, "one": one, "everything": everything, "narrower": narrower}


def order_body(**extra):
    body = {
        "external_id": "WX-1",
        "customer": {"mobile": "13800138001", "name": "张伟"},
        "amount": "18420.00",
        "items": [{"sku": "MATH-48", "quantity": 1}, {"sku": "ENG-24", "quantity": 1, "price": "6000.00"}],
    }
    body.update(extra)
    return body


def test_an_api_order_is_priced_by_the_most_specific_policy_and_the_line_records_it(client, shelf):
    response = client.post("/api/v1/orders", order_body(), content_type="application/json", **bearer(token("orders")))
    assert response.status_code == 201, response.content
    narrower = shelf["narrower"]
    assert response.json()["items"] == [
        {
            "sku": "MATH-48",
            "category": "一对一",
            "quantity": 1,
            "price": "12420.00",
            "policy": {"id": narrower.pk, "name": "线上一对一九折", "price": "12420.00"},
            "catalogue_price": "12420.00",
        },
        {
            "sku": "ENG-24",
            "category": "一对一",
            "quantity": 1,
            "price": "6000.00",
            "policy": {"id": narrower.pk, "name": "线上一对一九折", "price": "5832.00"},
            "catalogue_price": "5832.00",
        },
    ]
    order = Order.objects.get(external_id="WX-1")
    assert list(order.lines.values_list("sku", "price", "policy_id", "policy_name", "policy_price", "cost")) == [
        ("MATH-48", Decimal("12420.00"), narrower.pk, "线上一对一九折", Decimal("12420.00"), Decimal("6000.00")),
        ("ENG-24", Decimal("6000.00"), narrower.pk, "线上一对一九折", Decimal("5832.00"), Decimal("2800.00")),
    ]
    assert order.cost == Decimal("8800.00")  # no cost given: the SKUs' costs


def test_an_order_that_gives_its_cost_keeps_it(shelf):
    order = place_order(
        customer=CustomerFactory(), amount="13800", cost="5000", lines=[{"sku": "MATH-48"}], channel="store"
    )
    line = order.lines.get()
    assert (order.cost, line.price, line.policy_id, line.policy_price) == (
        Decimal("5000.00"),
        Decimal("13800.00"),
        None,
        Decimal("13800.00"),
    )


def test_an_unknown_sku_from_the_api_is_422_naming_its_line_and_stores_nothing(client, shelf):
    body = order_body(items=[{"sku": "MATH-48"}, {"sku": "GHOST-1", "price": "10.00"}])
    response = client.post("/api/v1/orders", body, content_type="application/json", **bearer(token("orders")))
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid"
    assert response.json()["error"]["fields"] == {"items[1].sku": ["Unknown SKU: GHOST-1."]}
    assert Order.objects.count() == 0


def test_a_client_that_may_add_skus_adds_the_unknown_one_as_a_draft(client, shelf):
    body = order_body(items=[{"sku": "NEW-1", "price": "99.00", "quantity": 2}], amount="198.00")
    response = client.post(
        "/api/v1/orders", body, content_type="application/json", **bearer(token("orders", "products:write"))
    )
    assert response.status_code == 201, response.content
    sku = Sku.objects.select_related("product__category").get(code="NEW-1")
    assert (sku.list_price, sku.product.code, sku.product.status, sku.product.category.name) == (
        Decimal("99.00"),
        "UNSORTED",
        Product.Status.DRAFT,
        "未分类",
    )
    line = OrderLine.objects.get(sku="NEW-1")
    # priced like any SKU from then on: the online discount on everything applies to it too
    assert (line.price, line.policy_name, line.policy_price, line.cost) == (
        Decimal("198.00") / 2,
        "线上九五折",
        Decimal("94.05"),
        Decimal("0.00"),
    )


def test_the_schema_names_the_new_scope_and_the_priced_lines(admin_client):
    schema = admin_client.get("/api/schema/?format=json").json()
    item = schema["components"]["schemas"]["OrderItem"]
    assert "products:write" in item["properties"]["sku"]["description"]
    assert "OrderItemOut" in schema["components"]["schemas"]


def test_the_order_form_shows_an_unknown_sku_beside_its_line(client, org, shelf):
    customer = CustomerFactory(owner=org.rep1)
    client.force_login(org.rep1)
    response = client.post(
        reverse("customers:order_create", args=[customer.pk]),
        {
            "amount": "100",
            "channel": "sales",
            "lines-TOTAL_FORMS": "2",
            "lines-INITIAL_FORMS": "0",
            "lines-0-sku": "MATH-48",
            "lines-0-quantity": "1",
            "lines-1-sku": "GHOST-2",
            "lines-1-quantity": "1",
            "lines-1-price": "10",
        },
    )
    assert response.status_code == 200
    lines = response.context["lines"]
    assert (lines.forms[0].errors, lines.forms[1].errors) == ({}, {"sku": ["Unknown SKU: GHOST-2."]})
    assert Order.objects.count() == 0
    assert '<datalist id="sku-options">' in response.content.decode()


def test_the_order_form_charges_the_policy_price_when_the_line_has_none(client, org, shelf):
    customer = CustomerFactory(owner=org.rep1)
    PolicyFactory(name="顾问九二折", percent_off=Decimal(8), channel="sales", sku=shelf["eng"])
    client.force_login(org.rep1)
    response = client.post(
        reverse("customers:order_create", args=[customer.pk]),
        {
            "amount": "5961.60",
            "channel": "sales",
            "lines-TOTAL_FORMS": "1",
            "lines-INITIAL_FORMS": "0",
            "lines-0-sku": "ENG-24",
            "lines-0-quantity": "1",
        },
    )
    assert response.status_code == 302
    assert list(OrderLine.objects.values_list("price", "policy_name")) == [(Decimal("5961.60"), "顾问九二折")]


def test_imported_rows_are_priced_with_the_policy_of_their_customer_channel_and_day(
    client, org, shelf, django_capture_on_commit_callbacks
):
    CustomerFactory(owner=org.rep1, mobile="13800138001")
    store_march = PolicyFactory(
        name="门店三月特价",
        percent_off=Decimal(20),
        channel="store",
        sku=shelf["math"],
        valid_from=datetime.date(2026, 3, 1),
        valid_until=datetime.date(2026, 3, 31),
    )
    client.force_login(org.rep1)
    job = upload(
        client,
        "orders",
        "订单号,手机,姓名,金额,渠道,下单时间,商品编码,数量,单价\n"
        "SO-1,13800138001,,11040,门店,2026-03-10 10:30,MATH-48,1,\n"
        "SO-2,13800138001,,13800,门店,2026-04-10 10:30,MATH-48,1,\n"
        "SO-3,13800138001,,12000,网店,2026-03-10 10:30,MATH-48,1,12000\n"
        "SO-4,13800138001,,50,门店,2026-03-10 10:30,PLAIN-1,1,50\n",
    )
    commit(client, job, django_capture_on_commit_callbacks)
    rows = OrderLine.objects.order_by("order__external_id").values_list(
        "order__external_id", "price", "policy_id", "policy_price", "cost"
    )
    assert list(rows) == [
        ("SO-1", Decimal("11040.00"), store_march.pk, Decimal("11040.00"), Decimal("6000.00")),
        ("SO-2", Decimal("13800.00"), None, Decimal("13800.00"), Decimal("6000.00")),
        ("SO-3", Decimal("12000.00"), shelf["narrower"].pk, Decimal("12420.00"), Decimal("6000.00")),
        ("SO-4", Decimal("50.00"), None, None, None),
    ]


def test_a_chunk_of_orders_is_priced_in_three_queries_and_as_one_order_is(shelf, django_assert_num_queries):
    customers = [CustomerFactory() for _ in range(5)]
    day = timezone.localdate()
    orders = [
        {"lines": [{"sku": "MATH-48"}, {"sku": "ENG-24", "quantity": 2}], "customer": c, "channel": "online", "on": day}
        for c in customers
    ]
    with django_assert_num_queries(2):  # the SKUs, the policies (a price list would add one)
        priced = price_orders(orders=orders)
    assert {line["policy_name"] for lines in priced for line in lines} == {"线上一对一九折"}
    single = price_for(sku=shelf["math"], customer=customers[0], channel="online", on=day)
    assert (priced[0][0]["price"], priced[0][0]["policy_id"]) == (single.price, single.policy.pk)


def test_placing_an_order_of_twenty_lines_costs_a_bounded_number_of_queries(shelf, django_assert_max_num_queries):
    for n in range(18):
        SkuFactory(product=shelf["math"].product, code=f"X-{n:02d}")
    customer = CustomerFactory()
    lines = [{"sku": "MATH-48"}, {"sku": "ENG-24"}] + [{"sku": f"X-{n:02d}"} for n in range(18)]
    with django_assert_max_num_queries(30):  # the lines are priced in three queries, whatever their number
        order = place_order(customer=customer, amount="1000", lines=lines, channel="online")
    assert order.lines.count() == 20


def test_an_order_form_without_an_amount_totals_its_lines_at_the_policy_price(client, org, shelf):
    customer = CustomerFactory(owner=org.rep1)
    PolicyFactory(name="顾问九二折", percent_off=Decimal(8), channel="sales", sku=shelf["eng"])
    client.force_login(org.rep1)
    response = client.post(
        reverse("customers:order_create", args=[customer.pk]),
        {
            "amount": "",
            "channel": "sales",
            "lines-TOTAL_FORMS": "1",
            "lines-INITIAL_FORMS": "0",
            "lines-0-sku": "ENG-24",
            "lines-0-quantity": "2",
        },
    )
    assert response.status_code == 302
    order = Order.objects.get(customer=customer)
    assert order.amount == Decimal("11923.20")  # 2 × 5,961.60


def test_an_order_form_without_an_amount_nor_lines_asks_for_the_amount(client, org, shelf):
    customer = CustomerFactory(owner=org.rep1)
    client.force_login(org.rep1)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    response = client.post(
        reverse("customers:order_create", args=[customer.pk]),
        {
            "amount": "",
            "channel": "sales",
            "lines-TOTAL_FORMS": "1",
            "lines-INITIAL_FORMS": "0",
            "lines-0-quantity": "1",
        },
    )
    assert response.status_code == 200
    assert response.context["form"].errors["amount"] == ["请填写金额，或添加明细以自动合计。"]
    assert not Order.objects.filter(customer=customer).exists()


def _preview(client, customer, **lines):
    data = {"amount": "", "channel": "sales", "lines-TOTAL_FORMS": "3", "lines-INITIAL_FORMS": "0", **lines}
    return client.post(reverse("customers:order_preview", args=[customer.pk]), data)


def test_the_order_form_shows_each_lines_price_and_policy_before_saving(client, org, shelf):
    """Before saving, the order form shows what each line will cost this customer on this channel:
    the policy's price, the typed price, a SKU the catalogue does not know; nothing is saved."""
    customer = CustomerFactory(owner=org.rep1)
    PolicyFactory(name="顾问九二折", percent_off=Decimal(8), channel="sales", sku=shelf["eng"])
    client.force_login(org.rep1)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    response = _preview(
        client,
        customer,
        **{
            "lines-0-sku": "ENG-24",
            "lines-0-quantity": "2",
            "lines-1-sku": "MATH-48",
            "lines-1-quantity": "1",
            "lines-1-price": "13000",
            "lines-2-sku": "GHOST-2",
            "lines-2-quantity": "1",
        },
    )
    assert response.status_code == 200
    rows = [
        (r["sku"], r["quantity"], r["price"], r["policy"], r["typed"], r["known"], r["total"])
        for r in response.context["rows"]
    ]
    assert rows == [
        ("ENG-24", 2, Decimal("5961.60"), "顾问九二折", False, True, Decimal("11923.20")),
        ("MATH-48", 1, Decimal("13000"), "", True, True, Decimal("13000")),
        ("GHOST-2", 1, None, "", False, False, None),
    ]
    html = response.content.decode()
    assert '<td class="text-end fw-semibold" data-testid="price-preview-total">¥24,923.20</td>' in html
    assert "目录中没有此 SKU：请从列表中选择" in html  # saving refuses it beside its line
    assert "没有价格的明细不计入合计。" in html
    assert Order.objects.count() == 0


def test_the_order_price_preview_follows_the_channel_and_reads_only_customers_in_scope(client, org, shelf):
    customer = CustomerFactory(owner=org.rep1)
    client.force_login(org.rep1)
    online = _preview(client, customer, channel="online", **{"lines-0-sku": "MATH-48", "lines-0-quantity": "1"})
    assert [(r["price"], r["policy"]) for r in online.context["rows"]] == [(Decimal("12420.00"), "线上一对一九折")]
    sales = _preview(client, customer, **{"lines-0-sku": "MATH-48", "lines-0-quantity": "1"})
    assert [(r["price"], r["policy"]) for r in sales.context["rows"]] == [(Decimal("13800.00"), "")]
    assert '<div class="small text-muted" data-testid="price-preview-policy">List price</div>' in sales.content.decode()
    someone_elses = CustomerFactory(owner=org.rep2)
    assert _preview(client, someone_elses, **{"lines-0-sku": "MATH-48"}).status_code == 404
    assert client.get(reverse("customers:order_preview", args=[customer.pk])).status_code == 405
