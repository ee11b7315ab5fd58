"""What the order-placing service calls: lines priced from the catalogue, and the withdrawal job."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from catalog.models import Product
from catalog.services.pricing import price_lines
from catalog.tasks import close_withdrawn_products
from catalog.tests.factories import PolicyFactory, ProductFactory, SkuFactory, category
from customers.tests.factories import CustomerFactory


@pytest.fixture
def skus(db):
    one = category("一对一", category("教育培训"))
    product = ProductFactory(category=one)
    return {
        "math": SkuFactory(
            product=product,
            code="MATH-48",
            list_price=Decimal("13800.00"),
            cost=Decimal("6000.00"),
        ),
        "eng": SkuFactory(
            product=product,
            code="ENG-24",
            list_price=Decimal("6480.00"),
            cost=Decimal("2800.00"),
        ),
        "category": one,
    }


def test_lines_get_the_policy_price_cost_and_category_and_a_given_price_is_kept_beside_the_policy(
    skus, django_assert_num_queries
):
    policy = PolicyFactory(name="小程序九折", percent_off=Decimal(10), channel="mini_program")
    customer = CustomerFactory()
    with django_assert_num_queries(2):  # the SKUs, the policies (a price list would add one)
        lines = price_lines(
            lines=[
                {"sku": "MATH-48", "quantity": 2},
                {"sku": "ENG-24", "price": "6000"},
            ],
            customer=customer,
            channel="mini_program",
        )
    assert lines == [
        {
            "sku": "MATH-48",
            "quantity": 2,
            "price": Decimal("12420.00"),
            "list_price": Decimal("13800.00"),
            "policy_price": Decimal("12420.00"),
            "cost": Decimal("6000.00"),
            "category": "一对一",
            "policy_id": policy.pk,
            "policy_name": "小程序九折",
        },
        {
            "sku": "ENG-24",
            "quantity": 1,
            "price": "6000",
            "list_price": Decimal("6480.00"),
            "policy_price": Decimal("5832.00"),
            "cost": Decimal("2800.00"),
            "category": "一对一",
            "policy_id": policy.pk,
            "policy_name": "小程序九折",
        },
    ]


def test_an_unknown_sku_is_named_by_its_line(skus):
    with pytest.raises(ValidationError) as caught:
        price_lines(lines=[{"sku": "MATH-48"}, {"sku": "GHOST"}])
    assert caught.value.message_dict == {"items[1].sku": ["Unknown SKU: GHOST."]}


def test_the_nightly_job_closes_products_whose_withdrawal_day_has_come(skus):
    today = timezone.localdate()
    due = ProductFactory(sale_until=today)
    later = ProductFactory(sale_until=today + datetime.timedelta(days=1))
    close_withdrawn_products()
    close_withdrawn_products()
    assert dict(Product.objects.filter(pk__in=[due.pk, later.pk]).values_list("pk", "status")) == {
        due.pk: "withdrawn",
        later.pk: "approved",
    }
