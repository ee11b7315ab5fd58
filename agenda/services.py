"""Calendar writes: moving an item (through its source's service) and the private feed."""

import datetime
import secrets

from django.db import transaction

from crm import calendar

from .models import CalendarFeed, hash_token


def reschedule(*, user, key: str, start: datetime.datetime) -> None:
    """Move a reminder or task: its source checks the user may and writes the audit log."""
    calendar.reschedule(user, key, start)


@transaction.atomic
def issue_feed(*, user) -> str:
    """A new secret for the user's feed (the old URL stops working); returns the raw token."""
    raw = secrets.token_urlsafe(32)
    CalendarFeed.objects.update_or_create(user=user, defaults={"token_hash": hash_token(raw)})
    return raw


def revoke_feed(*, user) -> None:
    CalendarFeed.objects.filter(user=user).delete()


def feed_user(raw: str):
    feed = CalendarFeed.objects.filter(token_hash=hash_token(raw or "")).select_related("user").first()
    return feed.user if feed is not None and feed.user.is_active else None
