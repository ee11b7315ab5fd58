from celery import shared_task

from . import services
from .imports import run_lead_import  # noqa: F401  (registered for the worker)


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
    from .services.performance import generate_reports

    return generate_reports(kind="daily")


@shared_task(ignore_result=True)
def generate_weekly_reports():
    from .services.performance import generate_reports

    return generate_reports(kind="weekly")


@shared_task(ignore_result=True)
def generate_monthly_reports():
    """On the 1st: the month just ended (the report of the month containing yesterday)."""
    import datetime

    from django.utils import timezone

    from .services.performance import generate_reports

    return generate_reports(kind="monthly", day=timezone.localdate() - datetime.timedelta(days=1))


@shared_task(ignore_result=True)
def rescore_leads(token=None):
    """After a scoring rule or a grade threshold changed: rescore and regrade the open leads."""
    from .services.scoring import run_rescore

    return run_rescore(token=token)


@shared_task(ignore_result=True)
def anonymize_stale_leads():
    """The retention rule for leads that never converted (PrivacySettings.lead_retention_days)."""
    from .services.retention import anonymize_stale_leads as run

    return run()
