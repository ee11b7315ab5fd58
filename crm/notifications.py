"""Notifications: the in-app inbox plus deliveries on outside channels (email, WeChat Work).

``notify`` writes the notification and one ``Delivery`` row per outside channel in the caller's
transaction; sending happens in Celery after commit. The rows are the outbox: if the broker is
down the task is not lost, because ``sweep_outbox`` (Celery beat) re-queues every due delivery.
A failing channel is retried with backoff and never touches the in-app notification.
"""

import datetime
import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from . import outbound, tasks
from .models import Delivery, DeliveryAttempt, Notification

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
BACKOFF_SECONDS = 30


def notify(*, recipient, title, body="", url="", kind=""):
    """Send ``recipient`` a notification in-app and on each channel they have switched on."""
    notification = Notification.objects.create(recipient=recipient, title=title[:200], body=body, url=url, kind=kind)
    deliveries = []
    if recipient.notify_by_email and recipient.email:
        deliveries.append(Delivery(notification=notification, channel=Delivery.Channel.EMAIL, target=recipient.email))
    webhook = recipient.wecom_webhook or (recipient.department.wecom_webhook if recipient.department_id else "")
    if recipient.notify_by_wecom and webhook:
        deliveries.append(Delivery(notification=notification, channel=Delivery.Channel.WECOM, target=webhook))
    if deliveries:
        Delivery.objects.bulk_create(deliveries)
        ids = [d.pk for d in Delivery.objects.filter(notification=notification)]
        transaction.on_commit(lambda: enqueue(ids))
    return notification


def notify_many(items):
    """Bulk form of ``notify`` for jobs that send thousands at once. ``items``: dicts with
    recipient (a User with its department loaded), title, body, url, kind, and optionally
    channel: "in_app" (the inbox only), "email" or "wecom" (the inbox and that channel, when the
    person has an address), or "preference" (the default: the channels the person switched on).
    Same outbox; the caller's transaction covers all of them."""
    notifications = [
        Notification(
            recipient=item["recipient"],
            title=item["title"][:200],
            body=item.get("body", ""),
            url=item.get("url", ""),
            kind=item.get("kind", ""),
        )
        for item in items
    ]
    Notification.objects.bulk_create(notifications, batch_size=1000)
    deliveries = []
    for notification, item in zip(notifications, items):
        recipient = item["recipient"]
        channel = item.get("channel") or "preference"
        by_email = recipient.notify_by_email if channel == "preference" else channel == "email"
        by_wecom = recipient.notify_by_wecom if channel == "preference" else channel == "wecom"
        if by_email and recipient.email:
            deliveries.append(
                Delivery(notification=notification, channel=Delivery.Channel.EMAIL, target=recipient.email)
            )
        webhook = recipient.wecom_webhook or (recipient.department.wecom_webhook if recipient.department_id else "")
        if by_wecom and webhook:
            deliveries.append(Delivery(notification=notification, channel=Delivery.Channel.WECOM, target=webhook))
    if deliveries:
        Delivery.objects.bulk_create(deliveries, batch_size=1000)
        if all(d.pk for d in deliveries):
            ids = [d.pk for d in deliveries]
        else:  # backends that do not return ids from bulk inserts
            ids = list(Delivery.objects.filter(notification__in=notifications).values_list("pk", flat=True))
        transaction.on_commit(lambda: enqueue(ids))
    return notifications


def enqueue(delivery_ids, countdown=None):
    """Queue deliveries; if the broker is unreachable they wait in the outbox for the sweeper."""
    delivery_ids = list(delivery_ids)
    for index, delivery_id in enumerate(delivery_ids):
        try:
            tasks.send_delivery.apply_async((delivery_id,), countdown=countdown)
        except Exception:  # broker down: the pending rows are the truth, the sweeper retries
            # stop at the first failure: each further try would wait for the broker again
            log.warning(
                "Could not queue deliveries (%d of them); they stay in the outbox",
                len(delivery_ids) - index,
                exc_info=True,
            )
            return


def _send_email(delivery):
    notification = delivery.notification
    text = notification.body or notification.title
    if notification.url:
        text += f"\n\n{settings.SITE_URL}{notification.url}"
    send_mail(notification.title, text, settings.DEFAULT_FROM_EMAIL, [delivery.target], fail_silently=False)


def _send_wecom(delivery):
    """企业微信 group bot: POST a markdown message; errcode 0 means accepted."""
    notification = delivery.notification
    content = f"**{notification.title}**"
    if notification.body:
        content += f"\n{notification.body}"
    if notification.url:
        content += f"\n[{settings.SITE_URL}{notification.url}]({settings.SITE_URL}{notification.url})"
    # through the guarded helper: allowed hosts, https, public addresses only, no redirects
    answer = outbound.post_json(delivery.target, {"msgtype": "markdown", "markdown": {"content": content}})
    if answer.get("errcode", 0) != 0:
        raise RuntimeError(f"WeChat Work answered {answer.get('errcode')}: {answer.get('errmsg', '')}")


SENDERS = {Delivery.Channel.EMAIL: _send_email, Delivery.Channel.WECOM: _send_wecom}


def deliver(delivery_id):
    """Send one pending, due delivery and record the attempt. Safe to call twice: the row is
    locked while sending and a sent row is never sent again."""
    retry_in = None
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update(skip_locked=True)
            .select_related("notification")
            .filter(pk=delivery_id, status=Delivery.Status.PENDING, next_attempt_at__lte=timezone.now())
            .first()
        )
        if delivery is None:
            return None
        delivery.attempts += 1
        try:
            SENDERS[delivery.channel](delivery)
        except Exception as exc:  # any failure of the channel is recorded, never raised
            error = f"{type(exc).__name__}: {exc}"[:2000]
            DeliveryAttempt.objects.create(delivery=delivery, ok=False, error=error)
            delivery.last_error = error
            # a target the guard refuses (host, scheme, private address) is refused again on retry
            if delivery.attempts >= MAX_ATTEMPTS or isinstance(exc, outbound.OutboundRefused):
                delivery.status = Delivery.Status.FAILED
            else:
                retry_in = BACKOFF_SECONDS * 2 ** (delivery.attempts - 1)
                delivery.next_attempt_at = timezone.now() + datetime.timedelta(seconds=retry_in)
        else:
            DeliveryAttempt.objects.create(delivery=delivery, ok=True)
            delivery.status = Delivery.Status.SENT
            delivery.sent_at = timezone.now()
            delivery.last_error = ""
        delivery.save()
    if retry_in is not None:
        enqueue([delivery_id], countdown=retry_in)
    return delivery


def due_delivery_ids(limit=1000):
    return list(
        Delivery.objects.filter(status=Delivery.Status.PENDING, next_attempt_at__lte=timezone.now())
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


def mark_read(*, user, ids=None):
    qs = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return qs.update(read_at=timezone.now())
