"""Property-based tests (hypothesis) of the coupon rules and the subsidy formula: for any input the
rules keep their promises, not only for the examples the other tests pick."""

import itertools
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from coupons.models import Batch, Coupon
from coupons.services import codes
from coupons.services.claims import decayed_amount, discount_for
from coupons.services.subsidy import compute

MONEY = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100000"), places=2)
CHAR = st.sampled_from(codes.ALPHABET)
BODY = st.text(alphabet=codes.ALPHABET, min_size=codes.BODY_LENGTH, max_size=codes.BODY_LENGTH)


@given(body=BODY, position=st.integers(0, codes.BODY_LENGTH), replacement=CHAR)
def test_any_single_typo_in_a_code_is_caught(body, position, replacement):
    code = body + codes.check_character(body)
    assert codes.is_well_formed(code)
    if code[position] != replacement:
        typo = code[:position] + replacement + code[position + 1 :]
        assert not codes.is_well_formed(typo)


@given(body=BODY, position=st.integers(0, codes.BODY_LENGTH - 2))
def test_any_swap_of_neighbouring_characters_is_caught(body, position):
    code = body + codes.check_character(body)
    if code[position] != code[position + 1]:
        swapped = code[:position] + code[position + 1] + code[position] + code[position + 2 :]
        assert not codes.is_well_formed(swapped)


@settings(max_examples=20)
@given(count=st.integers(1, 500))
def test_bulk_codes_are_all_well_formed(count):
    made = codes.new_codes(count)
    assert len(made) == count and all(codes.is_well_formed(code) for code in made)


@given(
    amount=MONEY,
    factor=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1.00"), places=2),
    floor_share=st.decimals(min_value=Decimal("0"), max_value=Decimal("1.5"), places=2),
    bonus=st.decimals(min_value=Decimal("0"), max_value=Decimal("100"), places=2),
    claims=st.integers(0, 200),
    is_new=st.booleans(),
)
def test_decay_never_rises_never_passes_the_floor_nor_the_face_value_and_is_never_zero(
    amount, factor, floor_share, bonus, claims, is_new
):
    # the floor may be stored at ¥0 or above the face value (older rows): the amount still keeps its promises
    floor = (amount * floor_share).quantize(Decimal("0.01"))
    batch = Batch(
        discount_type=Batch.DiscountType.THRESHOLD,
        amount=amount,
        decay_factor=factor,
        decay_floor=floor,
        new_customer_bonus=bonus,
    )
    now = decayed_amount(batch, previous_claims=claims, is_new=is_new)
    after = decayed_amount(batch, previous_claims=claims + 1, is_new=is_new)
    extra = bonus if is_new else Decimal(0)
    assert now == now.quantize(Decimal("0.01"))  # in cents
    assert after <= now  # a further claim is never worth more
    assert now - extra <= amount  # never above the face value
    assert now - extra >= min(max(floor, Decimal("0.01")), amount)  # never below the floor, never ¥0
    if factor == 1:
        assert now == amount + extra


@given(face=MONEY, base=MONEY)
def test_a_fixed_discount_never_exceeds_the_order_or_the_face_value(face, base):
    batch = Batch(discount_type=Batch.DiscountType.THRESHOLD, amount=face)
    discount = discount_for(Coupon(batch=batch, amount=face), base)
    assert Decimal(0) <= discount <= min(face, base)


@given(
    percent=st.decimals(min_value=Decimal("1"), max_value=Decimal("99"), places=2),
    base=MONEY,
    cap=st.one_of(st.none(), MONEY),
)
def test_a_percentage_discount_respects_the_rate_and_the_cap(percent, base, cap):
    batch = Batch(discount_type=Batch.DiscountType.PERCENT, percent=percent, cap=cap)
    discount = discount_for(Coupon(batch=batch, amount=Decimal(0)), base)
    assert Decimal(0) <= discount <= base * percent / 100 + Decimal("0.005")  # rounded half up to the cent
    if cap is not None:
        assert discount <= cap


ROWS = st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False), min_size=1, max_size=40)


@given(
    values=ROWS,
    a=st.integers(0, 50),
    spread=st.integers(0, 200),
    t=st.floats(min_value=0.1, max_value=5, allow_nan=False),
    rank=st.booleans(),
)
def test_the_subsidy_stays_between_a_and_b_and_follows_the_score(values, a, spread, t, rank):
    """X = a + Y^t (b − a): every subsidy is within [a, b], and a higher metric never gets less."""
    b = a + spread
    rows = [{"id": f"m{i}", "gmv": str(v)} for i, v in enumerate(values)]
    result = compute(rows, a=a, b=b, t=t, weights={"gmv": 1.0}, rank=rank)
    assert not result.errors and len(result.rows) == len(values)
    for row in result.rows:
        assert Decimal(a) <= row["x"] <= Decimal(b)
        assert 0.0 <= row["y"] <= 1.0
    by_value = sorted(zip(values, (row["x"] for row in result.rows)))
    for (v1, x1), (v2, x2) in itertools.pairwise(by_value):
        if v2 > v1:
            assert x2 >= x1
