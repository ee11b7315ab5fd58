import datetime

from celery import shared_task
from django.utils import timezone

from . import services
from .imports import run_lead_import  # noqa: F401  (registered for the worker)
from .services import performance, retention, scoring


@shared_task(ignore_result=True)
def dispatch_reminders():
    """Every minute: send the reminder notices that are due (each exactly once)."""
    return services.dispatch_due()


@shared_task(ignore_result=True)
def recycle_pool():
    """Every hour: return unattended leads and customers to the public pool; warn owners first."""
    return services.recycle()


@shared_task(ignore_result=True)
def generate_daily_reports():
    return performance.generate_reports(kind="daily")


@shared_task(ignore_result=True)
def generate_weekly_reports():
    return performance.generate_reports(kind="weekly")


@shared_task(ignore_result=True)
def generate_monthly_reports():
    """On the 1st: the month just ended (the report of the month containing yesterday)."""
    return performance.generate_reports(kind="monthly", day=timezone.localdate() - datetime.timedelta(days=1))


@shared_task(ignore_result=True)
def rescore_leads(token=None):
    """After a scoring rule or a grade threshold changed: rescore and regrade the open leads."""
    return scoring.run_rescore(token=token)


@shared_task(ignore_result=True)
def anonymize_stale_leads():
    """The retention rule for leads that never converted (PrivacySettings.lead_retention_days)."""
    return retention.anonymize_stale_leads()
