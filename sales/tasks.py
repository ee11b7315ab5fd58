from celery import shared_task

from . import services


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
