"""The demo catalogue: what a person opening the demo sees."""

import io
from decimal import Decimal

import pytest
from django.apps import apps
from django.core.management import call_command

from catalog.models import Entitlement, Product, SalesPolicy, Sku
from catalog.services.pricing import price_for
from crm.models import ApprovalRequest
from customers.models import Customer

#: the renewal tasks land in sales (through customers.hooks); read by label, not imported
Task = apps.get_model("sales", "Task")


@pytest.fixture
def demo(db):
    call_command("seed_demo", "--size", "small", stdout=io.StringIO())


def test_the_demo_has_an_education_and_home_services_catalogue(demo):
    assert (
        Product.objects.count(),
        Sku.objects.count(),
        SalesPolicy.objects.count(),
    ) == (7, 10, 5)
    on_sale = sorted(p.code for p in Product.objects.all() if p.on_sale())
    assert on_sale == [
        "EDU-1V1-ENG",
        "EDU-1V1-MATH",
        "EDU-CLS-SUMMER",
        "HOME-AC",
        "HOME-CLEAN",
        "MEMBER-YEAR",
    ]


def test_the_art_class_waits_for_the_directors_approval(demo):
    request = ApprovalRequest.objects.get(kind="product_launch")
    assert (request.status, request.requested_by.username, request.object_id) == (
        "pending",
        "marketing",
        Product.objects.get(code="EDU-CLS-ART").pk,
    )


def test_customers_hold_entitlements_and_one_asks_for_renewal(demo):
    from resources.models import Enrolment

    enrolled = Enrolment.objects.exclude(entitlement=None).count()  # lesson hours of the school's enrolments
    assert Entitlement.objects.count() == 24 + enrolled
    assert Entitlement.objects.filter(balance__lt=0).count() == 0
    renewal = Task.objects.filter(by_rule="entitlement_renewal")
    assert renewal.count() == 1
    assert renewal.get().assignee == renewal.get().customer.owner


def test_a_high_value_customer_gets_the_price_list(demo):
    customer = Customer.objects.order_by("pk").first()
    Customer.objects.filter(pk=customer.pk).update(
        value_segment="high", lifecycle_stage="stable", region="", grid_class=""
    )
    customer.refresh_from_db()
    quote = price_for(sku=Sku.objects.get(code="EDU-1V1-MATH-48"), customer=customer)
    assert (quote.price, quote.policy.name) == (Decimal("12800.00"), "高价值客户价目表")
