import datetime
import logging
from collections.abc import Callable

from celery import shared_task
from kombu.exceptions import OperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from . import notifications
from .operations import record_heartbeat

log = logging.getLogger(__name__)

#: what publishing raises while the broker is unreachable
BROKER_ERRORS = (OperationalError, RedisConnectionError, RedisTimeoutError, OSError)
#: a background job still waiting this long after it was queued is queued again by the sweep
REQUEUE_AFTER = datetime.timedelta(minutes=2)


def enqueue_or_log(task, *args, **kwargs):
    """Queue ``task(*args, **kwargs)``; when the broker is unreachable, log it and return False
    instead of raising. For jobs whose database row says they are waiting: ``sweep_outbox`` queues
    them again."""
    try:
        task.apply_async(args, kwargs)
    except BROKER_ERRORS:  # the caller's row is the truth
        log.warning("Could not queue %s%s; the sweep queues it again", task.name, args, exc_info=True)
        return False
    return True


@shared_task(ignore_result=True)
def send_delivery(delivery_id):
    notifications.deliver(delivery_id)


@shared_task(ignore_result=True, expires=120)
def beat_heartbeat():
    """Every HEARTBEAT_SECONDS (beat): the time /healthz and /metrics read beat's lag from."""
    record_heartbeat()


@shared_task(ignore_result=True)
def sweep_outbox():
    """Every minute: send every due delivery (lost tasks, broker outages, retries), and queue again
    the background jobs whose task a broker outage lost (imports still waiting, codes of an
    approved batch not produced)."""
    for delivery_id in notifications.due_delivery_ids():
        notifications.deliver(delivery_id)
    requeue_lost_jobs()


#: name -> requeue(older_than) -> how many jobs it queued again; each app with background jobs
#: registers its own in ``AppConfig.ready()`` (crm imports no app)
REQUEUERS: dict[str, Callable[[datetime.timedelta], int]] = {}


def register_requeue(name: str, requeue: Callable[[datetime.timedelta], int]) -> None:
    REQUEUERS[name] = requeue


def requeue_lost_jobs(older_than: datetime.timedelta = REQUEUE_AFTER) -> int:
    """Queue again the jobs waiting longer than ``older_than``; each task takes its job only once,
    so a job whose first task is merely late runs once all the same. Returns how many."""
    return sum(requeue(older_than) for requeue in REQUEUERS.values())
