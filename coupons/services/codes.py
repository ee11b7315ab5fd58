"""Coupon codes: random, from an alphabet without look-alikes (no 0/O, 1/I/L), with a check
character so that a mistyped code is caught before any lookup."""

import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # 31 symbols: a prime, so the check catches any single typo
BODY_LENGTH = 11


def check_character(body):
    total = 0
    for position, char in enumerate(body):
        total += (position + 1) * ALPHABET.index(char)
    return ALPHABET[total % len(ALPHABET)]


def new_code():
    body = "".join(secrets.choice(ALPHABET) for _ in range(BODY_LENGTH))
    return body + check_character(body)


def normalize(code):
    return (code or "").strip().upper().replace("-", "").replace(" ", "")


def is_well_formed(code):
    code = normalize(code)
    if len(code) != BODY_LENGTH + 1 or any(c not in ALPHABET for c in code):
        return False
    return check_character(code[:-1]) == code[-1]


_REJECT_FROM = 256 - 256 % len(ALPHABET)  # 248: bytes below it map uniformly onto the alphabet
_TO_ALPHABET = bytes(ord(ALPHABET[b % len(ALPHABET)]) if b < _REJECT_FROM else 0 for b in range(256))
_DROP = bytes(range(_REJECT_FROM, 256))
_INDEX = {char: index for index, char in enumerate(ALPHABET)}
_WEIGHTED = [{char: (position + 1) * index for char, index in _INDEX.items()} for position in range(BODY_LENGTH)]


def new_codes(count):
    """``count`` random codes at once (the same distribution as ``new_code``, ~10× faster): random
    bytes from the OS, rejection-sampled onto the alphabet, then the check character."""
    need = count * BODY_LENGTH
    text = ""
    while len(text) < need:
        raw = secrets.token_bytes(need - len(text) + (need - len(text)) // 16 + 64)
        text += raw.translate(_TO_ALPHABET, _DROP).decode("ascii")
    weighted = _WEIGHTED
    out = []
    for start in range(0, need, BODY_LENGTH):
        body = text[start : start + BODY_LENGTH]
        total = 0
        for position, char in enumerate(body):
            total += weighted[position][char]
        out.append(body + ALPHABET[total % 31])
    return out
