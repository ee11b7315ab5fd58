"""返点: tiers on period volume, retroactive or marginal, at the boundaries."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from customers.models import Order
from customers.tests.factories import CustomerFactory
from partners.models import Attribution, RebatePlan, RebateTier
from partners.services.rebates import period_bounds, rebate_for, volume_of

from .factories import PartnerFactory


def plan(mode):
    rebate_plan = RebatePlan.objects.create(name="季度返点", mode=mode, period="quarter")
    for threshold, rate in (("500000", "1"), ("1000000", "3"), ("2000000", "5")):
        RebateTier.objects.create(plan=rebate_plan, threshold=Decimal(threshold), rate=Decimal(rate))
    return rebate_plan


@pytest.mark.parametrize(
    "volume,expected",
    [
        ("499999.99", "0.00"),
        ("500000.00", "5000.00"),
        ("999999.99", "10000.00"),
        ("1000000.00", "30000.00"),
        ("2500000.00", "125000.00"),
    ],
)
def test_retroactive_tiers_pay_the_reached_rate_from_the_first_yuan(db, volume, expected):
    assert rebate_for(plan("retroactive"), Decimal(volume)) == Decimal(expected)


@pytest.mark.parametrize(
    "volume,expected",
    [
        ("499999.99", "0.00"),
        ("500000.00", "0.00"),
        ("1000000.00", "5000.00"),
        ("1000001.00", "5000.03"),
        ("2500000.00", "60000.00"),
    ],
)
def test_marginal_tiers_pay_each_rate_on_the_part_inside_its_tier(db, volume, expected):
    # 500k–1m at 1%, 1m–2m at 3%, above 2m at 5%: 2.5m gives 5,000 + 30,000 + 25,000
    assert rebate_for(plan("marginal"), Decimal(volume)) == Decimal(expected)


def test_a_quarter_runs_from_its_first_day_to_the_next_quarters(db):
    assert period_bounds(RebatePlan(period="quarter"), datetime.date(2026, 11, 30)) == (
        datetime.date(2026, 10, 1),
        datetime.date(2027, 1, 1),
    )
    assert period_bounds(RebatePlan(period="month"), datetime.date(2026, 12, 7)) == (
        datetime.date(2026, 12, 1),
        datetime.date(2027, 1, 1),
    )


def test_the_volume_counts_the_paid_attributed_orders_of_the_period(org):
    partner = PartnerFactory(owner=org.rep1, status="active")
    customer = CustomerFactory(owner=org.rep1)
    for amount, day, status in (("1000.00", 5, "paid"), ("250.50", 20, "paid"), ("999.00", 21, "cancelled")):
        order = Order.objects.create(
            customer=customer,
            amount=Decimal(amount),
            status=status,
            placed_at=timezone.make_aware(datetime.datetime(2026, 11, day, 12)),
        )
        Attribution.objects.create(order=order, partner=partner, reason="code")
    Order.objects.create(customer=customer, amount=Decimal("5000"))  # not attributed
    assert volume_of(partner, datetime.date(2026, 10, 1), datetime.date(2027, 1, 1)) == Decimal("1250.50")


def test_the_quarters_rebate_lands_once_on_the_statement_of_its_last_month(org):
    from partners.services.statements import generate_statement

    partner = PartnerFactory(owner=org.rep1, status="active")
    plan("retroactive")
    customer = CustomerFactory(owner=org.rep1)
    for month in (10, 11, 12):
        order = Order.objects.create(
            customer=customer,
            amount=Decimal("400000.00"),
            placed_at=timezone.make_aware(datetime.datetime(2026, month, 10, 12)),
        )
        Attribution.objects.create(order=order, partner=partner, reason="code")
    november = generate_statement(partner_id=partner.pk, period=datetime.date(2026, 11, 1))
    december = generate_statement(partner_id=partner.pk, period=datetime.date(2026, 12, 1))
    generate_statement(partner_id=partner.pk, period=datetime.date(2026, 12, 1))
    assert november.lines.filter(kind="rebate").count() == 0
    assert list(december.lines.filter(kind="rebate").values_list("base", "amount")) == [
        (Decimal("1200000.00"), Decimal("36000.00"))
    ]


def test_the_director_saves_a_plan_with_its_tiers(client, org):
    from django.urls import reverse

    client.force_login(org.director)
    response = client.post(
        reverse("partners:rebate_create"),
        {
            "name": "季度销量返点",
            "period": "quarter",
            "mode": "marginal",
            "partner_kind": "",
            "is_active": "on",
            "tiers-TOTAL_FORMS": "3",
            "tiers-INITIAL_FORMS": "0",
            "tiers-0-threshold": "100000",
            "tiers-0-rate": "1",
            "tiers-1-threshold": "1000000",
            "tiers-1-rate": "3",
            "tiers-2-threshold": "",
            "tiers-2-rate": "",
        },
    )
    assert response.status_code == 302
    saved = RebatePlan.objects.get()
    assert list(saved.tiers.values_list("threshold", "rate")) == [
        (Decimal("100000.00"), Decimal("1.00")),
        (Decimal("1000000.00"), Decimal("3.00")),
    ]
    assert "≥ ¥1,000,000.00 → 3.00%" in client.get(reverse("partners:rebates")).content.decode()
