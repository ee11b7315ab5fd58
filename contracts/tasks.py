"""Background jobs of contracts (Celery beat)."""

from celery import shared_task


@shared_task(name="contracts.tasks.dispatch_dunning", ignore_result=True)
def dispatch_dunning():
    """Remind the owners of overdue instalments (and escalate); safe to run twice and in parallel
    (see ``services.dunning``)."""
    from .services.dunning import dispatch_overdue

    return dispatch_overdue()
