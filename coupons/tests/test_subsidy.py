from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

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
    call_command("subsidy_plan", str(path), "--a", "10", "--b", "50", "--t", "2", "--weights",
                 "conversion=0.5,aov=0.5", "--output", str(out))
    text = out.read_text(encoding="utf-8").splitlines()
    assert text[2] == "m2,0.500000,1.000000,0.750000,32.50"
