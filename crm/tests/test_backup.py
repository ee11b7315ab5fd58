"""Backups: a ``pg_dump -Fc`` of the demo data, restored into a new database, keeps every row count,
every money total and every sequence (docs/operations.md)."""

import io
from decimal import Decimal

import pytest
from django.core.management import call_command

from conftest import skip_or_fail
from coupons.models import BudgetAccount, Coupon, Redemption
from crm.backup_check import BackupError, Database, Snapshot, client_tools, colliding_sequences, compare, round_trip
from customers.models import Customer, Order
from marketing.models import Campaign as MarketingCampaign
from sales.models import FollowUp, Lead, Opportunity


@pytest.fixture
def pg_tools(postgres):
    try:
        return client_tools()
    except BackupError as exc:
        skip_or_fail(str(exc))


@pytest.mark.services
@pytest.mark.django_db(transaction=True)  # committed rows: pg_dump reads through its own connection
def test_dump_and_restore_of_the_demo_data_keeps_every_count_total_and_sequence(postgres, pg_tools, tmp_path):
    call_command("seed_demo", size="small", stdout=io.StringIO())
    source = Database.from_settings(postgres.settings_dict)
    scratch = source.with_name(f"{source.name}_restore")

    result = round_trip(source, scratch, tmp_path / "crm.dump")

    # the demo data reached the dump: every area of the product has rows and money in it
    for model in (Customer, Order, Lead, Opportunity, FollowUp, Coupon, Redemption, BudgetAccount, MarketingCampaign):
        assert result.before.counts[model._meta.db_table] > 0, model
    assert result.before.totals[f"{Order._meta.db_table}.amount"] > 0
    assert result.before.totals[f"{Redemption._meta.db_table}.subsidy"] > 0
    assert Coupon.objects.filter(claimed_at__isnull=False).exists()
    # and came back whole, every table of the schema, not just the ones named above
    assert result.problems == []
    assert result.after.counts == result.before.counts
    assert result.after.totals == result.before.totals
    assert result.after.sequences == result.before.sequences
    # inserts after the restore get fresh ids; only the singleton settings rows (explicit id 1) never
    # used their sequence
    assert all(result.after.counts[key.split(".")[0]] == 1 for key in colliding_sequences(result.after))
    # the scratch database is gone
    with postgres.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_database WHERE datname = %s", [scratch.name])
        assert cursor.fetchone()[0] == 0


def _snapshot():
    return Snapshot(
        counts={"customers_order": 3, "crm_user": 2},
        totals={"customers_order.amount": Decimal("300.00")},
        sequences={"customers_order.id": (4, 3), "crm_user.id": (3, 2)},
    )


def test_the_check_names_a_lost_row_a_changed_total_and_a_sequence_left_behind():
    before, after = _snapshot(), _snapshot()
    after.counts["customers_order"] = 2
    after.totals["customers_order.amount"] = Decimal("299.99")
    after.sequences["customers_order.id"] = (3, 3)

    problems = compare(before, after)

    assert "customers_order: 3 rows before, 2 after" in problems
    assert "customers_order.amount: total 300.00 before, 299.99 after" in problems
    assert "sequence of customers_order.id would hand out 3, but 3 is taken" in problems
    assert not any("crm_user" in problem for problem in problems)


def test_the_check_names_a_missing_table_and_accepts_new_ones_only_after_an_upgrade():
    before, after = _snapshot(), _snapshot()
    del after.counts["crm_user"]
    after.counts["marketing_campaign"] = 0

    assert "table crm_user is missing" in compare(before, after)
    assert "table marketing_campaign is new" in compare(before, after)
    assert compare(before, after, allow_new=True) == ["table crm_user is missing"]
