from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from coupons.services import subsidy

ROWS = [
    {"id": "m1", "conversion": "0.10", "aov": "100"},
    {"id": "m2", "conversion": "0.20", "aov": "300"},
    {"id": "m3", "conversion": "0.30", "aov": "200"},
]


def test_formula_matches_hand_computation():
    result = subsidy.compute(ROWS, a=10, b=50, t=2, weights={"conversion": 0.5, "aov": 0.5})
    by_id = {row["id"]: row for row in result.rows}
    # m2: M_conv = 0.5, M_aov = 1.0 → Y = 0.75 → X = 10 + 0.75² × 40 = 32.50
    assert by_id["m2"]["y"] == pytest.approx(0.75)
    assert by_id["m2"]["x"] == Decimal("32.50")
    # m1: Y = 0 → X = a; m3: Y = 0.5 + 0.25 = 0.75 → 32.50
    assert by_id["m1"]["x"] == Decimal("10.00") and by_id["m3"]["x"] == Decimal("32.50")
    assert result.total == Decimal("75.00")


def test_rank_scoring_and_weight_normalization():
    result = subsidy.compute(ROWS, a=0, b=100, t=1, weights={"conversion": 2, "aov": 2}, rank=True)
    assert result.warnings and "normalized" in result.warnings[0]
    assert [row["x"] for row in result.rows] == [Decimal("0.00"), Decimal("75.00"), Decimal("75.00")]


def test_larger_t_lowers_the_total_and_fit_proposes_t_or_b():
    low = subsidy.compute(ROWS, a=10, b=50, t=1, weights={"conversion": 1}).total
    high = subsidy.compute(ROWS, a=10, b=50, t=3, weights={"conversion": 1}).total
    assert high < low
    fit = subsidy.fit_to_budget(ROWS, a=10, b=50, t=1, weights={"conversion": 1}, rank=False, budget=70)
    assert subsidy.compute(ROWS, a=10, b=50, t=fit["t"], weights={"conversion": 1}).total <= 70
    assert subsidy.compute(ROWS, a=10, b=fit["b"], t=1, weights={"conversion": 1}).total <= 70
    assert subsidy.compute(ROWS, a=10, b=fit["b"] + Decimal("0.02"), t=1, weights={"conversion": 1}).total > 70


def test_bad_rows_are_reported_not_skipped_silently(tmp_path, capsys):
    path = tmp_path / "plan.csv"
    path.write_text("id,conversion\nm1,0.1\nm2,abc\nm3,0.3\n", encoding="utf-8")
    with pytest.raises(CommandError):
        call_command("subsidy_plan", str(path), "--a", "1", "--b", "5", "--t", "1", "--weights", "conversion=1")
    captured = capsys.readouterr()
    assert "row 3, column conversion" in captured.err
    lines = captured.out.strip().splitlines()
    assert lines[0] == "id,score_conversion,y,x" and len(lines) == 3


def test_command_writes_the_output_file(tmp_path):
    path, out = tmp_path / "in.csv", tmp_path / "out.csv"
    path.write_text("id,conversion,aov\nm1,0.10,100\nm2,0.20,300\nm3,0.30,200\n", encoding="utf-8")
    call_command(
        "subsidy_plan",
        str(path),
        "--a",
        "10",
        "--b",
        "50",
        "--t",
        "2",
        "--weights",
        "conversion=0.5,aov=0.5",
        "--output",
        str(out),
    )
    text = out.read_text(encoding="utf-8").splitlines()
    assert text[2] == "m2,0.500000,1.000000,0.750000,32.50"


# ------------------------------------------------------------ fitting t to a budget
CENT_OVER = [{"id": "m0", "gmv": "73"}, {"id": "m1", "gmv": "98"}, {"id": "m2", "gmv": "9"}]


def test_the_suggested_t_is_rounded_towards_the_budget_never_a_cent_over():
    # the exact t lies between 5.14175 and 5.1418: rounded to 5.1418 the total was ¥136.52, a cent over
    fit = subsidy.fit_to_budget(CENT_OVER, a=10, b=100, t=1.0, weights={"gmv": 1.0}, rank=False, budget="136.51")
    assert fit["t"] == 5.1419
    assert subsidy.compute(CENT_OVER, a=10, b=100, t=fit["t"], weights={"gmv": 1.0}).total == Decimal("136.51")
    assert subsidy.compute(CENT_OVER, a=10, b=100, t=5.1418, weights={"gmv": 1.0}).total == Decimal("136.52")


def test_when_no_t_fits_it_says_so_and_b_may_still_fit():
    # the top row keeps b whatever t: ¥100 + 2 × ¥10 = ¥120 is the least any t gives
    fit = subsidy.fit_to_budget(CENT_OVER, a=10, b=100, t=1.0, weights={"gmv": 1.0}, rank=False, budget="119.99")
    assert fit["t"] is None
    assert fit["b"] == Decimal("62.35")  # with t = 1 kept
    nothing = subsidy.fit_to_budget(CENT_OVER, a=10, b=100, t=1.0, weights={"gmv": 1.0}, rank=False, budget="29.99")
    assert nothing == {"t": None, "b": None}


@hyp_settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.integers(0, 1000), min_size=1, max_size=12),
    a=st.integers(0, 50),
    spread=st.integers(1, 300),
    t=st.floats(min_value=0.2, max_value=4),
    share=st.floats(0, 1),
    rank=st.booleans(),
)
def test_a_suggested_t_always_keeps_the_total_within_the_budget(values, a, spread, t, share, rank):
    rows = [{"id": f"m{i}", "gmv": str(v)} for i, v in enumerate(values)]
    weights = {"gmv": 1.0}
    b = a + spread
    start = subsidy.compute(rows, a=a, b=b, t=t, weights=weights, rank=rank).total
    least = subsidy.compute(rows, a=a, b=b, t=subsidy.T_LIMIT, weights=weights, rank=rank).total
    budget = (least + (start - least) * Decimal(str(share))).quantize(Decimal("0.01")) - Decimal("0.01")
    fit = subsidy.fit_to_budget(rows, a=a, b=b, t=t, weights=weights, rank=rank, budget=budget)
    if start <= budget:
        assert fit == {"t": None, "b": None}
    elif least > budget:
        assert fit["t"] is None  # no t fits: it says so
    else:
        assert subsidy.compute(rows, a=a, b=b, t=fit["t"], weights=weights, rank=rank).total <= budget
        smaller = round(fit["t"] - 0.0002, 4)
        assert smaller < t or subsidy.compute(rows, a=a, b=b, t=smaller, weights=weights, rank=rank).total > budget
    if fit["b"] is not None:
        assert subsidy.compute(rows, a=a, b=fit["b"], t=t, weights=weights, rank=rank).total <= budget
