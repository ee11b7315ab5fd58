import datetime

from celery import shared_task
from django.utils import timezone

from .services import distribution, grades, registrations, statements


@shared_task
def generate_last_months_statements() -> int:
    """Beat, on the 1st: every partner's statement of the month before (safe to run twice)."""
    last_month = timezone.localdate().replace(day=1) - datetime.timedelta(days=1)
    return statements.generate_statements(period=last_month.replace(day=1))


@shared_task
def recompute_grades() -> int:
    """Beat, on the 1st: every partner's grade from this month on (safe to run twice)."""
    return grades.recompute_grades(period=timezone.localdate().replace(day=1))


@shared_task
def registration_expiry() -> int:
    """Beat, daily: close ended protections, then warn once of those ending within a week."""
    registrations.expire_registrations()
    return registrations.warn_expiring_registrations()


@shared_task
def distribute_lead_backlog() -> int:
    """Beat, hourly: hand the eligible leads nobody took to partners by the distribution rule."""
    return distribution.distribute_backlog()
