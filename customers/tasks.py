from celery import shared_task

from . import services
from .imports import run_import  # noqa: F401


@shared_task(ignore_result=True)
def recompute_segments():
    """Nightly: lifecycle stages, value segments, satisfaction and 3×3 classes for every customer."""
    return services.recompute_all()


@shared_task(ignore_result=True)
def apply_tag_rules():
    """Nightly: re-apply every active tag rule."""
    services.apply_all_rules()
