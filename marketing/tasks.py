from celery import shared_task

from .models import Segment
from .services.nurture import run
from .services.segments import record_size
from .services.sending import deliver_touch as deliver
from .services.sending import send_due_touches as send
from .services.stats import refresh_recent


@shared_task(ignore_result=True)
def deliver_touch(touch_id):
    deliver(touch_id)


@shared_task(ignore_result=True)
def send_due_touches():
    return send()


@shared_task(ignore_result=True)
def run_nurture_plans():
    return run()


@shared_task(ignore_result=True)
def refresh_campaign_stats():
    return refresh_recent()


@shared_task(ignore_result=True)
def record_segment_sizes():
    for segment in Segment.objects.select_related("owner"):
        record_size(segment)
