"""Check-in evidence: one signed bundle per clock-in and visit.

The server writes the bundle when it stores the record: the position and its accuracy, the
browser's signals (a position the platform marks as mocked, a coarse or a stale fix), the device
(user agent), the server's time, the photo's SHA-256, and for an offline draft the time the phone
says it was made. It is signed with HMAC-SHA256 under ``FIELD_EVIDENCE_KEY`` (derived from
``SECRET_KEY`` when empty), so a bundle changed afterwards — or a record whose columns no longer
match it — shows as altered. A record is *verified* only when the bundle checks out, the entry was
made online, a position was given and no signal is raised; an offline draft is never verified.

The forms also carry a signed token of when the page was served (``issue_token``): an offline
draft must bring one of its own user, and its client time may not be before the page was served
nor after the server received it.
"""

import datetime
import hashlib
import hmac
import json

from django.conf import settings
from django.utils import timezone

LOW_ACCURACY_M = 100  # a fix coarser than this cannot place someone at a door
STALE_SECONDS = 120  # a fix older than this was taken somewhere else, maybe
DRAFT_MAX_AGE = datetime.timedelta(days=3)  # an offline draft older than this is refused

VERIFIED, UNVERIFIED, ALTERED = "verified", "unverified", "altered"


def _key():
    key = getattr(settings, "FIELD_EVIDENCE_KEY", "") or ""
    if key:
        return key.encode()
    return hmac.new(settings.SECRET_KEY.encode(), b"field-evidence", hashlib.sha256).digest()


def canonical(bundle):
    return json.dumps(bundle, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign(bundle):
    return hmac.new(_key(), canonical(bundle), hashlib.sha256).hexdigest()


def _number(value):
    return None if value is None else str(value)


def parse_signals(raw):
    """The browser's signals as the page sent them (a small JSON object); unknown keys dropped."""
    try:
        data = json.loads(raw or "{}")
    except (TypeError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    signals = {}
    if data.get("mocked") is True:
        signals["mocked"] = True
    age = data.get("position_age_s")
    if isinstance(age, int | float) and 0 <= age < 10**7:
        signals["position_age_s"] = int(age)
    return signals


def bundle_for(*, latitude, longitude, accuracy, signals, device, server_at, photo_sha256="", client_at=None):
    """The evidence bundle of one entry, with the flags the server derives itself."""
    signals = dict(signals or {})
    if accuracy is not None and accuracy > LOW_ACCURACY_M:
        signals["low_accuracy"] = True
    if signals.get("position_age_s", 0) > STALE_SECONDS:
        signals["stale"] = True
    return {
        "latitude": _number(latitude),
        "longitude": _number(longitude),
        "accuracy_m": accuracy,
        "signals": signals,
        "device": (device or "")[:200],
        "server_at": server_at.isoformat(),
        "client_at": client_at.isoformat() if client_at else None,
        "offline": client_at is not None,
        "photo_sha256": photo_sha256 or "",
    }


def seal(record, bundle):
    """Put the bundle and its signature on ``record`` (saved by the caller)."""
    record.evidence = bundle
    record.evidence_signature = sign(bundle)


def check(record):
    """(status, reasons) of a record's evidence: ``altered`` when the signature or the columns do
    not match the bundle, ``unverified`` with the reasons, or ``verified``."""
    bundle = record.evidence or {}
    if not record.evidence_signature or not hmac.compare_digest(sign(bundle), record.evidence_signature):
        return ALTERED, ["signature"]
    columns = {
        "latitude": _number(record.latitude),
        "longitude": _number(record.longitude),
        "accuracy_m": record.accuracy_m,
        "photo_sha256": getattr(record, "photo_sha256", "") or "",
    }
    changed = [name for name, value in columns.items() if bundle.get(name) != value]
    if changed:
        return ALTERED, changed
    reasons = []
    if bundle.get("offline"):
        reasons.append("offline")
    if bundle.get("latitude") is None:
        reasons.append("no_position")
    reasons += sorted(name for name in ("mocked", "low_accuracy", "stale") if (bundle.get("signals") or {}).get(name))
    return (UNVERIFIED, reasons) if reasons else (VERIFIED, [])


# -- the page token of an offline draft -------------------------------------------------------------


def issue_token(user, now=None):
    """``user.issued.signature``: proves the form was served to ``user`` at ``issued``."""
    issued = int((now or timezone.now()).timestamp())
    text = f"{user.pk}.{issued}"
    return f"{text}.{hmac.new(_key(), text.encode(), hashlib.sha256).hexdigest()[:32]}"


def token_issued_at(token, user):
    """When the token was issued to ``user``; None when it is not one of ours for this user."""
    try:
        user_id, issued, mac = (token or "").split(".")
        expected = hmac.new(_key(), f"{user_id}.{issued}".encode(), hashlib.sha256).hexdigest()[:32]
        if not hmac.compare_digest(mac, expected) or int(user_id) != user.pk:
            return None
        return datetime.datetime.fromtimestamp(int(issued), tz=datetime.UTC)
    except (TypeError, ValueError):
        return None


def draft_time(*, client_time, token, user, now=None):
    """The client time of an offline draft, checked against its page token; raises ValueError
    naming what is wrong."""
    now = now or timezone.now()
    issued = token_issued_at(token, user)
    if issued is None:
        raise ValueError("token")
    try:
        at = datetime.datetime.fromisoformat((client_time or "").replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError("client_time") from exc
    if timezone.is_naive(at):
        raise ValueError("client_time")
    if at < issued - datetime.timedelta(seconds=5) or at > now + datetime.timedelta(seconds=5):
        raise ValueError("client_time")
    if now - at > DRAFT_MAX_AGE:
        raise ValueError("too_old")
    return min(at, now)
