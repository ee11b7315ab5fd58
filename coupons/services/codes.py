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
