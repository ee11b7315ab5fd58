import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from unittest import mock

import pytest
from django.core import mail

from crm import notifications
from crm.models import Delivery, Notification
from crm.tasks import sweep_outbox


class _Bot(BaseHTTPRequestHandler):
    answers = []
    received = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(json.loads(body))
        answer = type(self).answers.pop(0) if type(self).answers else {"errcode": 0, "errmsg": "ok"}
        payload = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def wecom_bot(settings):
    settings.OUTBOUND_INSECURE_HOSTS = ["127.0.0.1"]  # the local stand-in for the WeCom host
    _Bot.answers, _Bot.received = [], []
    server = HTTPServer(("127.0.0.1", 0), _Bot)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield _Bot, f"http://127.0.0.1:{server.server_port}/cgi-bin/webhook/send?key=test"
    server.shutdown()


def test_notification_is_in_app_and_emailed(org, django_capture_on_commit_callbacks):
    org.rep1.notify_by_email = True
    with django_capture_on_commit_callbacks(execute=True):
        note = notifications.notify(recipient=org.rep1, title="跟进提醒", body="明天 10:00 回访", url="/customers/")
    assert Notification.objects.filter(recipient=org.rep1, read_at__isnull=True).count() == 1
    delivery = note.deliveries.get()
    assert delivery.status == Delivery.Status.SENT
    assert delivery.attempt_log.get().ok
    assert mail.outbox[0].subject == "跟进提醒" and mail.outbox[0].to == [org.rep1.email]


def test_wecom_webhook_receives_markdown(org, wecom_bot, django_capture_on_commit_callbacks):
    bot, url = wecom_bot
    org.rep1.notify_by_email = False
    org.rep1.notify_by_wecom = True
    org.rep1.wecom_webhook = url
    with django_capture_on_commit_callbacks(execute=True):
        note = notifications.notify(recipient=org.rep1, title="新线索", body="A 级线索已分配给你")
    assert note.deliveries.get().status == Delivery.Status.SENT
    assert bot.received[0]["msgtype"] == "markdown"
    assert "新线索" in bot.received[0]["markdown"]["content"]


def test_team_webhook_is_used_when_user_has_none(org, wecom_bot, django_capture_on_commit_callbacks):
    bot, url = wecom_bot
    org.team1.wecom_webhook = url
    org.team1.save()
    org.rep1.refresh_from_db()
    org.rep1.notify_by_email = False
    org.rep1.notify_by_wecom = True
    with django_capture_on_commit_callbacks(execute=True):
        notifications.notify(recipient=org.rep1, title="团队通知")
    assert len(bot.received) == 1


def test_failed_channel_is_recorded_retried_and_keeps_in_app(org, wecom_bot, django_capture_on_commit_callbacks):
    bot, url = wecom_bot
    bot.answers = [{"errcode": 93000, "errmsg": "invalid webhook url"}] * 10
    org.rep1.notify_by_email = False
    org.rep1.notify_by_wecom = True
    org.rep1.wecom_webhook = url
    with mock.patch("crm.notifications.enqueue") as queued:
        with django_capture_on_commit_callbacks(execute=True):
            note = notifications.notify(recipient=org.rep1, title="提醒")
        notifications.deliver(note.deliveries.get().pk)
    delivery = note.deliveries.get()
    assert delivery.status == Delivery.Status.PENDING and delivery.attempts == 1
    assert "93000" in delivery.last_error
    assert queued.call_args.kwargs["countdown"] == notifications.BACKOFF_SECONDS  # retried later, with backoff
    assert Notification.objects.filter(pk=note.pk).exists()
    for _ in range(notifications.MAX_ATTEMPTS):
        Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=delivery.next_attempt_at.replace(year=2000))
        with mock.patch("crm.notifications.enqueue"):
            notifications.deliver(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED
    assert delivery.attempt_log.count() == notifications.MAX_ATTEMPTS
    assert not delivery.attempt_log.filter(ok=True).exists()


def test_broker_down_keeps_delivery_in_outbox_until_the_sweep(org, django_capture_on_commit_callbacks):
    org.rep1.notify_by_email = True
    with mock.patch("crm.tasks.send_delivery.apply_async", side_effect=ConnectionError("broker down")):
        with django_capture_on_commit_callbacks(execute=True):
            note = notifications.notify(recipient=org.rep1, title="断线期间的通知")
    assert note.deliveries.get().status == Delivery.Status.PENDING
    assert mail.outbox == []
    sweep_outbox()
    sweep_outbox()  # running twice sends nothing twice
    assert note.deliveries.get().status == Delivery.Status.SENT
    assert len(mail.outbox) == 1


def test_inbox_bell_and_mark_read(client, org):
    notifications.notify(recipient=org.rep1, title="甲通知", url="/customers/")
    notifications.notify(recipient=org.rep2, title="别人的通知")
    client.force_login(org.rep1)
    page = client.get("/notifications/").content.decode()
    assert "甲通知" in page and "别人的通知" not in page
    assert 'data-count="1"' in client.get("/").content.decode()
    note = Notification.objects.get(title="甲通知")
    response = client.get(f"/notifications/{note.pk}/")
    assert response.status_code == 302 and response["Location"] == "/customers/"
    assert 'data-count="0"' in client.get("/notifications/badge/").content.decode()


def test_cannot_open_another_users_notification(client, org):
    note = notifications.notify(recipient=org.rep2, title="别人的通知")
    client.force_login(org.rep1)
    assert client.get(f"/notifications/{note.pk}/").status_code == 404


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_real_worker_sends_queued_notification(redis_url, org):
    """A real Celery worker (threads) consumes the task from Redis and sends the email."""
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    app.conf.task_always_eager = False
    try:
        with start_worker(app, pool="threads", concurrency=1, perform_ping_check=False, loglevel="WARNING"):
            org.rep1.notify_by_email = True
            note = notifications.notify(recipient=org.rep1, title="来自真实 worker")
            delivery = note.deliveries.get()
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                delivery.refresh_from_db()
                if delivery.status == Delivery.Status.SENT:
                    break
                time.sleep(0.2)
    finally:
        app.conf.task_always_eager = True
    assert delivery.status == Delivery.Status.SENT
    assert any(m.subject == "来自真实 worker" for m in mail.outbox)
