import datetime

from celery import shared_task
from django.utils import timezone

from .services import statements


@shared_task
def generate_last_months_statements() -> int:
    """Beat, on the 1st: every partner's statement of the month before (safe to run twice)."""
    last_month = timezone.localdate().replace(day=1) - datetime.timedelta(days=1)
    return statements.generate_statements(period=last_month.replace(day=1))
