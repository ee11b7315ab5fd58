from celery import shared_task

from .services import partitions


@shared_task
def maintain_event_partitions():
    """Nightly: create the coming months' event partitions, drop those past the retention."""
    return partitions.maintain()
