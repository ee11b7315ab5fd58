from celery import shared_task

from .models import Batch
from .services import production
from .services.dashboard import warm
from .services.monitoring import check_alerts


@shared_task(ignore_result=True)
def produce_batch(batch_id, count=None):
    """Produce a batch's codes in the background (progress in the cache)."""
    batch = Batch.objects.get(pk=batch_id)
    return production.produce(batch, count)


@shared_task(ignore_result=True)
def check_coupon_alerts():
    """Every 15 minutes: coupon stock, budget balance and low-efficiency alerts."""
    return check_alerts()


@shared_task(ignore_result=True)
def warm_dashboard_figures():
    """Every 5 minutes (proposed beat entry): recompute the cached coupon figures of this year for
    the coupons dashboard, so that no viewer pays for the cold computation (about 2 s on a million
    coupons)."""
    return warm()
