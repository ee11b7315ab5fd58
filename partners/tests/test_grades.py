"""合作级别: monthly recompute from 12-month GMV, lead conversion and satisfaction, with history; a
change notifies the channel manager and moves the commission rules from the next period."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from crm.models import Notification
from customers.models import Order, Satisfaction
from customers.tests.factories import CustomerFactory
from partners.models import Attribution, CommissionRule, GradeChange, LeadRegistration
from partners.services import grades, statements
from partners.tasks import recompute_grades

from .factories import PartnerFactory

DECEMBER = datetime.date(2026, 12, 1)


def at(day):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(10)))


def sell(partner, amount, day, mobile=None):
    customer = CustomerFactory(owner=partner.owner, **({"mobile": mobile} if mobile else {}))
    order = Order.objects.create(customer=customer, amount=Decimal(amount), placed_at=at(day))
    Attribution.objects.create(order=order, partner=partner, reason="code")
    return order


@pytest.mark.parametrize(
    "gmv,rate,registrations,satisfaction,expected",
    [
        ("1000000", "0", 0, None, "A"),
        ("999999.99", "0", 0, None, "B"),
        ("300000", "0", 0, None, "B"),
        ("50000", "0", 0, None, "C"),
        ("49999.99", "0", 0, None, "D"),
        ("50000", "30", 5, None, "B"),  # conversion lifts one grade
        ("50000", "30", 4, None, "C"),  # ... with at least five registrations
        ("1000000", "30", 5, None, "A"),  # never above A
        ("300000", "0", 0, "2.99", "C"),  # poor satisfaction lowers one
        ("0", "0", 0, "1", "D"),
    ],
)
def test_the_grade_the_figures_give(gmv, rate, registrations, satisfaction, expected):
    sat = Decimal(satisfaction) if satisfaction else None
    assert grades.grade_for(Decimal(gmv), Decimal(rate), registrations, sat) == expected


def test_the_monthly_recompute_keeps_history_notifies_a_change_once(org):
    partner = PartnerFactory(owner=org.rep1, status="active", grade="D")
    sell(partner, "350000.00", datetime.date(2026, 6, 1))
    sell(partner, "999999.00", datetime.date(2025, 11, 30))  # more than twelve months before
    assert grades.recompute_grades(period=DECEMBER) == 1
    assert grades.recompute_grades(period=DECEMBER) == 0
    change = GradeChange.objects.get(partner=partner)
    assert (change.from_grade, change.to_grade, change.gmv) == ("D", "B", Decimal("350000.00"))
    partner.refresh_from_db()
    assert partner.grade == "B"
    assert Notification.objects.filter(recipient=org.rep1, kind="partner_grade").count() == 1


def test_conversion_counts_registrations_that_became_customers_of_the_partner(org):
    partner = PartnerFactory(owner=org.rep1, status="active", grade="D")
    for n in range(10):
        LeadRegistration.objects.create(
            partner=partner,
            name="x",
            mobile=f"1380000{n:04d}",
            status="expired",
            created_at=at(datetime.date(2026, 5, 1)),
        )
    for n in range(3):
        sell(partner, "100.00", datetime.date(2026, 6, 1), mobile=f"1380000{n:04d}")
    data = grades.figures(DECEMBER)[partner.pk]
    assert (data["registrations"], data["converted"]) == (10, 3)


def test_satisfaction_is_the_mean_csat_of_the_partners_customers_and_empty_without_data(org):
    partner = PartnerFactory(owner=org.rep1, status="active")
    order = sell(partner, "100.00", datetime.date(2026, 6, 1))
    assert grades.figures(DECEMBER)[partner.pk]["satisfaction"] is None
    for score in (2, 3):
        Satisfaction.objects.create(customer=order.customer, score=score, recorded_at=at(datetime.date(2026, 7, 1)))
    assert grades.figures(DECEMBER)[partner.pk]["satisfaction"] == Decimal("2.50")


def test_a_new_grade_changes_the_commission_from_the_next_period_only(org):
    partner = PartnerFactory(owner=org.rep1, status="active", grade="C")
    CommissionRule.objects.create(name="C级 1%", grade="C", mode="percent", rate=Decimal("1"))
    CommissionRule.objects.create(name="B级 5%", grade="B", mode="percent", rate=Decimal("5"))
    sell(partner, "350000.00", datetime.date(2026, 11, 10))
    grades.recompute_grades(period=DECEMBER)  # C → B from December
    november = statements.generate_statement(partner_id=partner.pk, period=datetime.date(2026, 11, 1))
    assert november.total == Decimal("3500.00")
    sell(partner, "1000.00", datetime.date(2026, 12, 10))
    december = statements.generate_statement(partner_id=partner.pk, period=DECEMBER)
    assert december.total == Decimal("50.00")


def test_the_beat_task_computes_this_month(org, time_machine):
    time_machine.move_to(at(datetime.date(2026, 12, 1)), tick=False)
    partner = PartnerFactory(owner=org.rep1, status="active", grade="D")
    sell(partner, "60000.00", datetime.date(2026, 10, 1))
    assert recompute_grades() == 1
    assert GradeChange.objects.get().effective_from == DECEMBER
