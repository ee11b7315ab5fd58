"""The catalogue's pages: who may open and change what, what they show, and bounded query counts."""

import datetime
import re
from decimal import Decimal

import pytest
from auditlog.models import LogEntry
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from catalog.models import Entitlement, EntitlementUse, Product, SalesPolicy, Sku
from catalog.services import entitlements
from catalog.tests.factories import PolicyFactory, ProductFactory, SkuFactory, category
from customers.tests.factories import CustomerFactory


@pytest.fixture
def shelf(db):
    one = category("一对一", category("教育培训"))
    product = ProductFactory(code="EDU-MATH", name="初中数学一对一", category=one)
    sku = SkuFactory(product=product, code="EDU-MATH-48", list_price=Decimal("13800.00"))
    return {"category": one, "product": product, "sku": sku}


def test_every_role_sees_the_product_list(client, org, shelf):
    client.force_login(org.rep1)
    response = client.get(reverse("catalog:products"))
    assert response.status_code == 200
    assert [p.code for p in response.context["table"].page.object_list.data] == ["EDU-MATH"]
    with translation.override("zh-hans"):  # a product's code is not a coupon code (券码)
        assert str(Product._meta.get_field("code").verbose_name) == "产品编码"


def test_the_product_list_costs_the_same_whatever_the_number_of_products(
    client, org, shelf, django_assert_max_num_queries
):
    for _ in range(40):
        SkuFactory(product=ProductFactory(category=shelf["category"]))
    client.force_login(org.admin)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("catalog:products") + "?per_page=50")
    assert response.context["table"].paginator.count == 41


def test_the_product_page_shows_its_skus_with_prices(client, org, shelf):
    client.force_login(org.rep1)
    page = client.get(reverse("catalog:product", args=[shelf["product"].pk])).content.decode()
    assert "EDU-MATH-48" in page and "¥13,800.00" in page and "教育培训/一对一" in page


def test_marketing_creates_a_product_and_a_sku_and_both_are_audited(client, org, shelf):
    client.force_login(org.marketing)
    response = client.post(
        reverse("catalog:product_create"),
        {
            "code": "HOME-AC",
            "name": "空调清洗",
            "category": shelf["category"].pk,
            "description": "",
        },
    )
    product = Product.objects.get(code="HOME-AC")
    assert response["Location"] == product.get_absolute_url()
    client.post(
        reverse("catalog:sku_create", args=[product.pk]),
        {
            "code": "HOME-AC-1",
            "name": "挂机",
            "spec": "",
            "unit": "台",
            "list_price": "120",
            "cost": "55",
            "tax_rate": "6",
            "is_active": "on",
            "grants_name": "",
            "grants_quantity": "0",
            "grants_valid_days": "365",
            "renewal_threshold": "0",
        },
    )
    assert list(Sku.objects.filter(product=product).values_list("code", "list_price")) == [
        ("HOME-AC-1", Decimal("120.00"))
    ]
    assert LogEntry.objects.filter(actor=org.marketing, action=LogEntry.Action.CREATE).count() == 2


def test_a_duplicate_sku_code_is_refused_beside_the_field(client, org, shelf):
    client.force_login(org.admin)
    response = client.post(
        reverse("catalog:sku_create", args=[shelf["product"].pk]),
        {
            "code": "EDU-MATH-48",
            "name": "x",
            "unit": "件",
            "list_price": "1",
            "cost": "0",
            "tax_rate": "6",
            "grants_quantity": "0",
            "grants_valid_days": "365",
            "renewal_threshold": "0",
        },
    )
    assert list(response.context["form"].errors) == ["code"]


def test_a_negative_list_price_is_refused_beside_the_field(client, org, shelf):
    client.force_login(org.admin)
    response = client.post(
        reverse("catalog:sku_edit", args=[shelf["sku"].pk]),
        {
            "code": "EDU-MATH-48",
            "name": "x",
            "unit": "件",
            "list_price": "-1",
            "cost": "0",
            "tax_rate": "6",
            "grants_quantity": "0",
            "grants_valid_days": "365",
            "renewal_threshold": "0",
        },
    )
    assert list(response.context["form"].errors) == ["list_price"]
    assert Sku.objects.get().list_price == Decimal("13800.00")


@pytest.mark.parametrize("role", ["rep1", "manager1", "director"])
def test_only_admins_and_marketing_change_the_catalogue(client, org, shelf, role):
    client.force_login(getattr(org, role))
    assert client.get(reverse("catalog:product_create")).status_code == 403
    response = client.post(
        reverse("catalog:product_edit", args=[shelf["product"].pk]),
        {"code": "X", "name": "改名", "category": shelf["category"].pk},
    )
    assert response.status_code == 403
    assert Product.objects.get().name == "初中数学一对一"


def test_a_policy_is_created_and_its_price_list_filled_on_the_page(client, org, shelf):
    client.force_login(org.marketing)
    client.post(
        reverse("catalog:policy_create"),
        {
            "name": "高价值客户价目表",
            "kind": "price_list",
            "value_segment": "high",
            "priority": "5",
            "is_active": "on",
        },
    )
    policy = SalesPolicy.objects.get()
    response = client.post(policy.get_absolute_url(), {"prices": "EDU-MATH-48 12800"})
    assert response.status_code == 302
    assert list(policy.prices.values_list("sku__code", "price")) == [("EDU-MATH-48", Decimal("12800.00"))]


def test_a_discount_without_its_percentage_is_refused_beside_the_field(client, org, shelf):
    client.force_login(org.marketing)
    response = client.post(
        reverse("catalog:policy_create"),
        {"name": "九折", "kind": "percent", "priority": "0"},
    )
    assert response.context["form"].errors == {"percent_off": ["Enter the percentage off, e.g. 10."]}


def test_the_policy_list_costs_the_same_whatever_the_number_of_policies(
    client, org, shelf, django_assert_max_num_queries
):
    for index in range(30):
        PolicyFactory(category=shelf["category"] if index % 2 else None)
    client.force_login(org.rep1)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("catalog:policies"))
    assert response.context["table"].paginator.count == 30


def test_the_price_check_names_the_winning_policy(client, org, shelf):
    PolicyFactory(name="教育九折", category=shelf["category"], percent_off=Decimal(10))
    customer = CustomerFactory(owner=org.rep1)
    client.force_login(org.rep1)
    response = client.get(
        reverse("catalog:price_check"),
        {
            "sku": shelf["sku"].pk,
            "customer": customer.pk,
            "channel": "store",
            "on": "2026-07-01",
        },
    )
    quote = response.context["quote"]
    assert (quote.price, quote.policy.name) == (Decimal("12420.00"), "教育九折")
    assert "¥12,420.00" in response.content.decode()


def test_the_price_check_refuses_a_customer_outside_the_scope(client, org, shelf):
    stranger = CustomerFactory(owner=org.rep3, department=org.sales2)
    client.force_login(org.rep1)
    response = client.get(
        reverse("catalog:price_check"),
        {"sku": shelf["sku"].pk, "customer": stranger.pk},
    )
    assert (response.context["quote"], response.context["form"].errors) == (
        None,
        {"customer": ["No customer with this id in your scope."]},
    )


# --- entitlements ----------------------------------------------------------------------------------


@pytest.fixture
def held(org, shelf):
    mine = CustomerFactory(name="王小明", owner=org.rep1)
    theirs = CustomerFactory(name="李雷", owner=org.rep3)
    return {
        "mine": entitlements.grant(
            customer=mine,
            name="课时",
            quantity=48,
            sku=shelf["sku"],
            renewal_threshold=6,
            expires_on=datetime.date(2099, 12, 31),
        ),
        "theirs": entitlements.grant(customer=theirs, name="保洁次数", quantity=12),
    }


def test_a_rep_lists_only_the_entitlements_of_his_customers(client, org, held):
    client.force_login(org.rep1)
    response = client.get(reverse("catalog:entitlements"))
    assert [e.customer.name for e in response.context["table"].page.object_list.data] == ["王小明"]


def test_another_reps_entitlement_is_404(client, org, held):
    client.force_login(org.rep1)
    assert client.get(held["theirs"].get_absolute_url()).status_code == 404
    response = client.post(
        reverse("catalog:entitlement_consume", args=[held["theirs"].pk]),
        {"quantity": 1},
    )
    assert response.status_code == 404
    assert Entitlement.objects.get(pk=held["theirs"].pk).balance == 12


def test_a_rep_uses_hours_on_the_page_and_a_double_submit_takes_them_once(client, org, held):
    client.force_login(org.rep1)
    url = reverse("catalog:entitlement_consume", args=[held["mine"].pk])
    form = {"quantity": "2", "note": "周六课", "reference": "form-123"}
    assert client.post(url, form).status_code == 302
    assert client.post(url, form).status_code == 302
    held["mine"].refresh_from_db()
    assert (held["mine"].balance, EntitlementUse.objects.count()) == (46, 1)


def test_using_more_than_the_balance_says_why_beside_the_quantity(client, org, held):
    client.force_login(org.rep1)
    response = client.post(
        reverse("catalog:entitlement_consume", args=[held["mine"].pk]),
        {"quantity": "49"},
    )
    assert (response.status_code, response.context["form"].errors) == (
        422,
        {"quantity": ["Only 48 left; cannot use 49."]},
    )


def test_marketing_may_see_but_not_use_entitlements(client, org, held):
    client.force_login(org.marketing)
    response = client.post(
        reverse("catalog:entitlement_consume", args=[held["mine"].pk]),
        {"quantity": "1"},
    )
    assert response.status_code == 403


def test_the_360_view_shows_the_customers_entitlements(client, org, held):
    client.force_login(org.rep1)
    page = client.get(held["mine"].customer.get_absolute_url()).content.decode()
    assert 'id="panel-entitlements"' in page and "48 / 48" in page and "课时" in page


def test_the_entitlement_list_costs_the_same_whatever_the_number(client, org, shelf, django_assert_max_num_queries):
    for _index in range(30):
        entitlements.grant(
            customer=CustomerFactory(owner=org.rep1),
            name="课时",
            quantity=10,
            sku=shelf["sku"],
        )
    client.force_login(org.rep1)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("catalog:entitlements") + "?per_page=50")
    assert response.context["table"].paginator.count == 30


def test_the_navigation_offers_the_catalogue(client, org, shelf):
    client.force_login(org.rep1)
    page = client.get(reverse("home")).content.decode()
    assert reverse("catalog:products") in page and reverse("catalog:entitlements") in page


def test_a_rep_uses_one_unit_from_the_360_view_and_lands_back_on_it(client, org, held):
    client.force_login(org.rep1)
    customer_url = held["mine"].customer.get_absolute_url()
    page = client.get(customer_url).content.decode()
    assert 'data-testid="use-one"' in page
    assert re.search(r'name="reference" value="[0-9a-f]{32}"', page) is not None
    response = client.post(
        reverse("catalog:entitlement_consume", args=[held["mine"].pk]),
        {"quantity": "1", "reference": "panel-1", "next": customer_url},
    )
    held["mine"].refresh_from_db()
    assert (response["Location"], held["mine"].balance) == (customer_url, 47)


def test_the_next_address_must_be_a_customer_page(client, org, held):
    client.force_login(org.rep1)
    response = client.post(
        reverse("catalog:entitlement_consume", args=[held["mine"].pk]),
        {"quantity": "1", "next": "https://evil.example.com/"},
    )
    assert response["Location"] == held["mine"].get_absolute_url()


def test_the_product_page_labels_its_code_as_the_product_code_not_a_coupon_code(client, org, shelf):
    client.force_login(org.admin)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    response = client.get(reverse("catalog:product", args=[shelf["product"].pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "产品编码</dt>" in page
    assert "券码" not in page


def test_the_price_checks_day_reads_as_a_date_and_a_policy_without_dates_reads_no_limit(client, org, shelf, settings):
    policy = PolicyFactory(name="长期九五折", category=shelf["category"], percent_off=Decimal(5))
    client.force_login(org.admin)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    check = client.get(reverse("catalog:price_check"))
    assert '<label class="form-label" for="id_on">日期</label>' in check.content.decode()
    page = client.get(reverse("catalog:policy", args=[policy.pk])).content.decode()
    assert '<dd class="col-sm-8">不限</dd>' in page
