from collections import Counter

from coupons.services import codes


def test_bulk_codes_are_well_formed_unique_and_use_the_whole_alphabet():
    made = codes.new_codes(20_000)
    assert len(made) == len(set(made)) == 20_000
    assert all(codes.is_well_formed(code) for code in made)
    counts = Counter("".join(code[:-1] for code in made))
    assert set(counts) == set(codes.ALPHABET)
    expected = 20_000 * codes.BODY_LENGTH / len(codes.ALPHABET)
    assert all(abs(n - expected) < expected * 0.1 for n in counts.values())  # no symbol favoured
    typo = made[0][:3] + ("A" if made[0][3] != "A" else "B") + made[0][4:]
    assert not codes.is_well_formed(typo)
