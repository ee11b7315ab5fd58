from celery import shared_task

from .models import Segment
from .services import nurture, segments, sending, stats


@shared_task(ignore_result=True)
def deliver_touch(touch_id):
    sending.deliver_touch(touch_id)


@shared_task(ignore_result=True)
def send_due_touches():
    return sending.send_due_touches()


@shared_task(ignore_result=True)
def run_nurture_plans():
    return nurture.run()


@shared_task(ignore_result=True)
def refresh_campaign_stats():
    return stats.refresh_recent()


@shared_task(ignore_result=True)
def record_segment_sizes():
    for segment in Segment.objects.select_related("owner"):
        segments.record_size(segment)
