from celery import shared_task


@shared_task(ignore_result=True)
def deliver_touch(touch_id):
    from .services.sending import deliver_touch as deliver

    deliver(touch_id)


@shared_task(ignore_result=True)
def send_due_touches():
    from .services.sending import send_due_touches as send

    return send()


@shared_task(ignore_result=True)
def run_nurture_plans():
    from .services.nurture import run

    return run()


@shared_task(ignore_result=True)
def refresh_campaign_stats():
    from .services.stats import refresh_recent

    return refresh_recent()


@shared_task(ignore_result=True)
def record_segment_sizes():
    from .models import Segment
    from .services.segments import record_size

    for segment in Segment.objects.select_related("owner"):
        record_size(segment)
