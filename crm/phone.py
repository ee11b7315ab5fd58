"""China mobile numbers: validated with ``phonenumbers``, stored as 11 national digits."""

import re

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")


def normalize_mobile(raw):
    """Return the 11-digit national form of a China mobile number, or raise ``ValidationError``.

    Accepts spaces, dashes and a +86 / 0086 / 86 prefix ("+86 138-0013-8000" → "13800138000").
    """
    text = (raw or "").strip()
    if not text:
        raise ValidationError(_("Enter a mobile number."), code="required")
    cleaned = re.sub(r"[\s\-().]", "", text)
    if cleaned.startswith("00"):
        cleaned = "+" + cleaned[2:]
    if not cleaned.startswith("+") and len(cleaned) == 13 and cleaned.startswith("86"):
        cleaned = "+" + cleaned
    try:
        number = phonenumbers.parse(cleaned, "CN")
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(
            _("Enter a valid China mobile number (11 digits starting with 1)."), code="invalid"
        ) from exc
    national = str(number.national_number)
    if number.country_code != 86 or not MOBILE_RE.match(national):
        raise ValidationError(_("Enter a valid China mobile number (11 digits starting with 1)."), code="invalid")
    return national


def mask_mobile(mobile):
    """138****8000"""
    if not mobile or len(mobile) < 7:
        return mobile or ""
    return f"{mobile[:3]}****{mobile[-4:]}"


def mask_email(email):
    """z***@example.com"""
    if not email or "@" not in email:
        return mask_text(email)
    local, domain = email.split("@", 1)
    return f"{local[:1]}***@{domain}"


def mask_text(value):
    """The first character and ***: enough to tell two people apart, not to reach them."""
    if not value:
        return value or ""
    return f"{value[:1]}***"
