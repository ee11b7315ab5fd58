from celery import shared_task

from . import notifications


@shared_task(ignore_result=True)
def send_delivery(delivery_id):
    notifications.deliver(delivery_id)


@shared_task(ignore_result=True)
def sweep_outbox():
    """Re-queue every due delivery (lost tasks, broker outages, retries)."""
    for delivery_id in notifications.due_delivery_ids():
        notifications.deliver(delivery_id)
