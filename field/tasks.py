"""Field work's background jobs: WeCom callbacks are processed here, after the answer to WeCom."""

from celery import shared_task


@shared_task(ignore_result=True)
def process_wecom_event(event_id):
    from .services.wecom import process_event

    return process_event(event_id)
