"""Short tracking codes: derived from ids and signed, so nothing needs storing to resolve them and
nobody can guess another person's link."""

import hashlib
import hmac
import string

from django.conf import settings

ALPHABET = string.digits + string.ascii_letters
CHECK = 6


def _base62(number):
    out = ""
    while True:
        number, rest = divmod(number, 62)
        out = ALPHABET[rest] + out
        if number == 0:
            return out


def _unbase62(text):
    number = 0
    for char in text:
        number = number * 62 + ALPHABET.index(char)
    return number


def _check(kind, payload):
    digest = hmac.new(settings.SECRET_KEY.encode(), f"{kind}:{payload}".encode(), hashlib.sha256).digest()
    return _base62(int.from_bytes(digest[:8], "big"))[:CHECK].rjust(CHECK, "0")


def encode(kind, *numbers):
    """``encode("m", 42)`` → a short code such as ``"G7Hk2aQ"``; numbers are ids (0 for none)."""
    payload = ".".join(_base62(n or 0) for n in numbers)
    return payload + _check(kind, payload)


def decode(kind, code, parts=1):
    """The numbers inside a code made by ``encode(kind, …)``, or ``None`` if it is not genuine."""
    if not code or len(code) <= CHECK or any(c not in ALPHABET + "." for c in code):
        return None
    payload, check = code[:-CHECK], code[-CHECK:]
    if not hmac.compare_digest(check, _check(kind, payload)):
        return None
    pieces = payload.split(".")
    if len(pieces) != parts:
        return None
    try:
        return [_unbase62(p) for p in pieces]
    except ValueError:
        return None
