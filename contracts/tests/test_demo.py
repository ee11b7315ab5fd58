"""The demo's contracts and collections, and last month's reports: what a person opening the
demo sees."""

import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db.models import Sum
from django.utils import timezone

from contracts.models import Competitor, Contract, DunningLevel, Instalment, Payment
from sales.models import Report


@pytest.fixture
def demo(db):
    call_command("seed_demo", "--size", "small", stdout=io.StringIO())


def test_the_demo_has_contracts_with_overdue_instalments_a_credit_levels_and_competitors(demo):
    today = timezone.localdate()
    overdue = Instalment.objects.filter(settled_at__isnull=True, due_on__lt=today)
    assert Contract.objects.filter(status="active").count() == Contract.objects.count()
    assert overdue.values("contract").distinct().count() == 2  # the first two started long ago
    assert Competitor.objects.count() == 3
    own = DunningLevel.objects.filter(instalment__isnull=False)
    assert sorted(own.values_list("offset_days", flat=True)) == [-3, 0, 7]
    assert Payment.objects.aggregate(credit=Sum("unmatched"))["credit"] == Decimal("500.00")


def test_the_demo_has_last_months_reports_of_reps_and_teams_with_notes(demo):
    monthly = Report.objects.filter(kind="monthly")
    teams = sorted(monthly.filter(department__isnull=False).values_list("department__name", flat=True))
    assert teams == ["一部一组", "一部二组"]
    notes = sorted(monthly.exclude(note="").values_list("user__username", flat=True))
    assert notes == ["rep1", "rep2"]
    assert monthly.get(user__username="rep1").read_by.username == "manager1"
