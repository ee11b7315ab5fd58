"""Background jobs of contracts (Celery beat)."""

from celery import shared_task

from .services import dunning


@shared_task(name="contracts.tasks.dispatch_dunning", ignore_result=True)
def dispatch_dunning():
    """Remind the owners of overdue instalments (and escalate); safe to run twice and in parallel
    (see ``services.dunning``)."""
    return dunning.dispatch_overdue()
