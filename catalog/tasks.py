"""Background jobs of the catalogue (Celery beat)."""

from celery import shared_task

from .services import catalogue


@shared_task(name="catalog.tasks.close_withdrawn_products", ignore_result=True)
def close_withdrawn_products():
    """Mark as withdrawn the launched products whose withdrawal day has come. Safe to run twice and
    in parallel (a conditional UPDATE per product); whether a product is on sale is decided by its
    dates anyway, this keeps the status column and the lists in step."""
    return catalogue.close_withdrawn()
