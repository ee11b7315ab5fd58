"""Decay (lucky red packets, DOMAIN.md → Decay): earlier claims by the same customer of the same
coupon type (discount method + scope) in the same channel count across batches; the amount is
rounded to cents, never below the floor, never ¥0, never above the face value; the configuration
refuses a floor of ¥0, a floor above the face value or one that fails the margin check, and decay
on percentage coupons."""

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from coupons import services
from coupons.tests.factories import make_batch, make_budget
from customers.tests.factories import CustomerFactory

RED = dict(per_customer_limit=5, per_day_limit=5, decay_factor=Decimal("0.5"), decay_floor=Decimal("6"))


def amounts(batch, customer, channel, times):
    return [services.claim(batch_code=batch.code, customer=customer, channel=channel).amount for _ in range(times)]


def test_claims_of_the_same_type_in_the_same_channel_decay_across_batches(org):
    account = make_budget(org)
    first = make_batch(org, account=account, **RED)
    second = make_batch(org, account=account, **RED)  # another batch of the same type: ¥20 off ¥200, all goods
    customer = CustomerFactory()
    assert amounts(first, customer, "red-packet", 2) == [Decimal("20.00"), Decimal("10.00")]
    assert amounts(second, customer, "red-packet", 2) == [Decimal("6.00"), Decimal("6.00")]


def test_another_type_or_another_channel_or_another_customer_starts_again(org):
    account = make_budget(org)
    first = make_batch(org, account=account, **RED)
    fixed = make_batch(org, account=account, discount_type="fixed", **RED)  # another discount method
    category = make_batch(org, account=account, scope="categories", scope_values="math", **RED)  # another scope
    customer = CustomerFactory()
    assert amounts(first, customer, "red-packet", 2) == [Decimal("20.00"), Decimal("10.00")]
    assert amounts(fixed, customer, "red-packet", 1) == [Decimal("20.00")]
    assert amounts(category, customer, "red-packet", 1) == [Decimal("20.00")]
    assert amounts(first, customer, "app", 1) == [Decimal("20.00")]
    assert amounts(first, CustomerFactory(), "red-packet", 1) == [Decimal("20.00")]


def test_the_amount_is_rounded_to_cents_and_never_zero_even_with_a_stored_floor_of_zero(org):
    # stored before the configuration check refused a floor of ¥0
    batch = make_batch(
        org,
        amount=Decimal("0.05"),
        per_customer_limit=5,
        per_day_limit=5,
        decay_factor=Decimal("0.10"),
        decay_floor=Decimal("0"),
    )
    assert amounts(batch, CustomerFactory(), "red-packet", 4) == [
        Decimal("0.05"),
        Decimal("0.01"),
        Decimal("0.01"),
        Decimal("0.01"),
    ]


def test_a_stored_floor_above_the_face_value_never_lifts_the_amount_above_it(org):
    batch = make_batch(
        org, per_customer_limit=3, per_day_limit=3, decay_factor=Decimal("0.5"), decay_floor=Decimal("35")
    )
    assert amounts(batch, CustomerFactory(), "red-packet", 3) == [Decimal("20.00")] * 3


def test_rounding_half_up_to_the_cent(org):
    batch = make_batch(
        org,
        amount=Decimal("9.99"),
        threshold=Decimal("100"),
        per_customer_limit=3,
        per_day_limit=3,
        decay_factor=Decimal("0.55"),
        decay_floor=Decimal("1.00"),
    )
    # 9.99 × 0.55 = 5.4945 → 5.49; 9.99 × 0.3025 = 3.021975 → 3.02
    assert amounts(batch, CustomerFactory(), "red-packet", 3) == [Decimal("9.99"), Decimal("5.49"), Decimal("3.02")]


# ------------------------------------------------------------ the configuration check
def errors(batch):
    with pytest.raises(ValidationError) as exc:
        services.validate_batch(batch)
    return exc.value.message_dict


def test_decay_needs_a_floor_above_zero(org):
    batch = make_batch(org, status="draft", decay_factor=Decimal("0.8"), decay_floor=Decimal("0"))
    assert list(errors(batch)) == ["decay_floor"]
    batch.decay_floor = Decimal("0.01")
    services.validate_batch(batch)


def test_the_floor_may_not_exceed_the_face_value(org):
    batch = make_batch(org, status="draft", decay_factor=Decimal("0.8"), decay_floor=Decimal("20.01"))
    assert list(errors(batch)) == ["decay_floor"]
    batch.decay_floor = Decimal("20")
    services.validate_batch(batch)


def test_the_floor_passes_the_margin_check_like_the_face_value(org):
    # goods at 60% of the price, ¥200 minimum spend: at most ¥80 off; a ¥70 bonus leaves ¥10 for the floor
    batch = make_batch(
        org,
        status="draft",
        decay_factor=Decimal("0.8"),
        amount=Decimal("10"),
        new_customer_bonus=Decimal("70"),
        decay_floor=Decimal("10"),
    )
    services.validate_batch(batch)
    batch.amount, batch.decay_floor, batch.new_customer_bonus = Decimal("20"), Decimal("15"), Decimal("70")
    found = errors(batch)
    assert set(found) == {"threshold", "decay_floor"}
    assert "¥212.50" in found["decay_floor"][0]  # ¥15 floor + ¥70 bonus needs ¥85 ÷ 40%


def test_percentage_coupons_do_not_decay(org):
    batch = make_batch(
        org,
        status="draft",
        discount_type="percent",
        percent=Decimal("20"),
        amount=0,
        cap=Decimal("30"),
        decay_factor=Decimal("0.8"),
        decay_floor=Decimal("1"),
    )
    assert list(errors(batch)) == ["decay_factor"]
    batch.decay_factor = Decimal("1")
    services.validate_batch(batch)


def test_without_decay_the_floor_is_not_checked(org):
    services.validate_batch(make_batch(org, status="draft", decay_floor=Decimal("0")))


# ------------------------------------------------------------ the same claim path on SQLite
PROJECT_DIR = Path(__file__).resolve().parents[2]


@pytest.mark.services
def test_the_claim_rules_hold_on_sqlite_as_well(postgres, tmp_path):
    """The suite runs on PostgreSQL; the claim's statements (without row locks: SQLite runs one
    writing transaction at a time) run here on SQLite too, through the claim and decay tests."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "CRM_REQUIRE_SERVICES")}
    env["CRM_VAR_DIR"] = str(tmp_path)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "coupons/tests/test_decay.py",
            "coupons/tests/test_rules.py",
            "coupons/tests/test_compensation_and_split.py",
            "-k",
            "not sqlite",
        ],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr[-2000:]
    assert result.returncode == 0, result.stdout[-4000:]
    assert " failed" not in summary and " passed" in summary
