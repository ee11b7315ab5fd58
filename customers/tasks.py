from celery import shared_task

from . import services
from .imports import run_import  # noqa: F401
from .services.dashboard import refresh_dashboard


@shared_task(ignore_result=True)
def recompute_segments():
    """Nightly: lifecycle stages, value segments, satisfaction and 3×3 classes for every customer."""
    return services.recompute_all()


@shared_task(ignore_result=True)
def apply_tag_rules():
    """Nightly: re-apply every active tag rule."""
    services.apply_all_rules()


@shared_task(ignore_result=True)
def refresh_customer_dashboard():
    """Every 10 minutes: rebuild the rollups of the customer overview dashboard (客户大盘)."""
    run = refresh_dashboard()
    return {"rows": run.rows, "seconds": run.seconds}
