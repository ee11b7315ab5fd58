"""Background jobs of membership (Celery beat): expiry at period ends, notices before it, and the
nightly tier review. Each is safe to run twice and in parallel (see the services)."""

from celery import shared_task

from .services import points


@shared_task(name="members.tasks.expire_points", ignore_result=True)
def expire_points():
    return points.expire_points()


@shared_task(name="members.tasks.notice_expiring_points", ignore_result=True)
def notice_expiring_points():
    return points.notice_expiring_points()


@shared_task(name="members.tasks.recompute_tiers", ignore_result=True)
def recompute_tiers():
    return points.recompute_tiers()
