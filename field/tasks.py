"""Field work's background jobs: WeCom callbacks are processed here, after the answer to WeCom."""

from celery import shared_task

from .services import wecom


@shared_task(ignore_result=True)
def process_wecom_event(event_id):
    return wecom.process_event(event_id)
