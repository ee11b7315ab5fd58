"""Field work's background jobs: WeCom callbacks are processed here, after the answer to WeCom."""

from celery import shared_task

from . import wecom as wecom_client
from .services import wecom


@shared_task(ignore_result=True)
def process_wecom_event(event_id):
    return wecom.process_event(event_id)


@shared_task(ignore_result=True, autoretry_for=(wecom_client.RateLimited,), retry_backoff=60, max_retries=5)
def reconcile_wecom_contacts():
    """Nightly: catch the contacts added or removed on WeCom without a callback."""
    if not wecom_client.configured():
        return None
    return wecom.reconcile()
