"""Faults the product survives.

* Redis stopped while people work (cache and broker on a port where nothing listens): pages render,
  API writes succeed, and what had to be queued waits in the database — notifications in the
  outbox, imports and code production as "queued" jobs — until the broker is back and the sweep
  sends and queues it, once.
* A real Celery worker killed (SIGKILL) in the middle of a batch of reminders: the batch leaves
  nothing behind, the next worker sends every notice, and every email, exactly once.
* Two real ``celery beat`` processes at once: each notice and email still goes out once.
* PostgreSQL unreachable: a page answers the product's error page and the API its JSON error (the
  500 answer needs no database); two producers of one coupon batch never make too many codes.

The real-process tests need PostgreSQL and Redis. The long versions, against gunicorn, a private
Redis and a private PostgreSQL that are stopped and restarted, are ``python -m bench.faults``.
"""

import datetime
import json
import os
import signal
import socket
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import pytest
import time_machine
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from catalog.tests.factories import SkuFactory
from config.celery import app as celery_app
from coupons.models import Batch, BudgetAccount, Coupon
from coupons.tests.factories import make_batch
from crm import services as crm_services
from crm.models import Delivery, DeliveryAttempt, Notification
from crm.notifications import notify_many
from crm.tasks import sweep_outbox
from customers.models import Order
from customers.tests.factories import CustomerFactory, make_order
from sales import services as sales_services
from sales.models import Lead, LeadImportJob, Reminder, ReminderNotice

PROJECT_DIR = Path(__file__).resolve().parents[2]
LATER = datetime.timedelta(minutes=3)  # past the sweep's re-queue delay


# --- Redis unreachable -------------------------------------------------------------------------


def closed_port():
    """A local port where nothing listens (connections are refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def use_broker(url, *, eager):
    """Point the Celery app at ``url``; the suite's eager mode stands for "the broker works"."""
    celery_app.conf.broker_url = url
    celery_app.conf.task_always_eager = eager
    celery_app._pool = None  # kombu keeps one pool per URL: the next publish takes the new URL's
    celery_app.amqp._producer_pool = None


@pytest.fixture
def redis_down(settings):
    """The cache and the broker on a Redis that is not there; ``back()`` brings the broker back."""
    url = f"redis://127.0.0.1:{closed_port()}/0"
    settings.CACHES = {"default": {"BACKEND": "crm.cache.ResilientRedisCache", "LOCATION": url}}
    before = celery_app.conf.broker_url, celery_app.conf.task_always_eager

    class Outage:
        def back(self):
            use_broker(before[0], eager=before[1])

    use_broker(url, eager=False)
    yield Outage()
    use_broker(before[0], eager=before[1])


def bearer(*scopes):
    api = crm_services.create_api_client(name="shop")
    _token, raw = crm_services.issue_token(client=api, scopes=list(scopes))
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def post_json(client, url, body, headers):
    return client.post(url, json.dumps(body), content_type="application/json", **headers)


def test_pages_render_while_redis_is_down(client, org, redis_down, caplog):
    customer = CustomerFactory(owner=org.rep1, name="断线客户")
    make_order(customer, "199.00")
    make_batch(org)
    assert client.post("/login/", {"username": "admin", "password": "pw-123456"}).status_code == 302
    for url in [
        "/",
        "/customers/",
        f"/customers/{customer.pk}/",
        "/customers/dashboard/",
        "/customers/segments/",
        "/sales/leads/",
        "/sales/dashboard/",
        "/sales/dashboard/performance/",
        "/coupons/",
        "/coupons/dashboard/",
        "/notifications/",
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
    assert "断线客户" in client.get(f"/customers/{customer.pk}/").content.decode()
    assert "Redis cache unreachable" in caplog.text  # the pages did try the cache


def test_api_writes_succeed_while_redis_is_down(client, org, redis_down):
    headers = bearer("leads", "orders", "coupons")
    batch = make_batch(org, per_customer_limit=1)
    SkuFactory(code="MATH-01", list_price=Decimal("299.00"))  # an order line names a catalogue SKU
    lead = post_json(
        client, "/api/v1/leads", {"name": "陈女士", "mobile": "13912340000", "source": "referral"}, headers
    )
    assert lead.status_code == 201
    order = post_json(
        client,
        "/api/v1/orders",
        {
            "external_id": "OUTAGE-1",
            "customer": {"mobile": "13800138000", "name": "赵六"},
            "amount": "299.00",
            "items": [{"sku": "MATH-01", "category": "课程", "quantity": 1, "price": "299.00"}],
        },
        headers,
    )
    assert order.status_code == 201
    claim = post_json(
        client,
        "/api/v1/coupons/claim",
        {"batch": batch.code, "customer": {"mobile": "13800138000"}, "channel": "app"},
        headers,
    )
    assert claim.status_code == 201
    redeem = post_json(
        client,
        "/api/v1/coupons/redeem",
        {
            "code": claim.json()["code"],
            "order": {"external_id": "OUTAGE-2", "amount": "300.00", "cost": "150.00"},
            "customer": {"mobile": "13800138000"},
        },
        headers,
    )
    assert redeem.status_code == 200 and redeem.json()["subsidy"] == "20.00"
    assert Lead.objects.filter(mobile="13912340000").count() == 1
    stored = Order.objects.get(external_id="OUTAGE-1")
    assert stored.lines.count() == 1 and stored.customer.order_count == 2  # with the redeemed one
    batch.refresh_from_db()
    assert batch.issued == 1 == Coupon.objects.filter(batch=batch, status="redeemed").count()
    assert BudgetAccount.objects.get(pk=batch.campaign.budget_account_id).used == 20


def test_notifications_made_while_redis_is_down_go_out_once_it_is_back(
    client, org, redis_down, django_capture_on_commit_callbacks
):
    """A coupon batch submitted and approved during the outage: the approvers' and the creator's
    emails wait in the outbox, the codes wait for production; the sweep does both once."""
    batch = make_batch(
        org, status=Batch.Status.DRAFT, production=Batch.Production.ON_APPROVAL, quantity=30, created_by=org.marketing
    )
    client.force_login(org.marketing)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/coupons/batches/{batch.pk}/submit/").status_code == 302
    client.force_login(org.director)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/coupons/batches/{batch.pk}/approve/").status_code == 302
    batch.refresh_from_db()
    assert batch.status == Batch.Status.APPROVED and batch.produced == 0
    waiting = Delivery.objects.filter(status=Delivery.Status.PENDING).count()
    assert waiting >= 2 and mail.outbox == []  # at least one approver and the creator

    redis_down.back()
    sweep_outbox()  # right after the outage: the mail goes out; production is not yet overdue
    assert len(mail.outbox) == waiting
    with time_machine.travel(timezone.now() + LATER):
        sweep_outbox()
        sweep_outbox()  # a second sweep sends nothing twice
    assert Delivery.objects.filter(status=Delivery.Status.SENT).count() == waiting == len(mail.outbox)
    assert DeliveryAttempt.objects.filter(ok=True).count() == waiting
    batch.refresh_from_db()
    assert batch.produced == 30 == Coupon.objects.filter(batch=batch).count()


def test_a_notification_batch_during_the_outage_tries_the_broker_once(
    org, redis_down, monkeypatch, django_capture_on_commit_callbacks
):
    """Twenty emails at once do not wait twenty times for the broker: the rest wait in the outbox."""
    from crm.tasks import send_delivery

    real, tries = send_delivery.apply_async, []
    monkeypatch.setattr(send_delivery, "apply_async", lambda *a, **k: (tries.append(1), real(*a, **k))[1])
    with django_capture_on_commit_callbacks(execute=True):
        notify_many([{"recipient": org.rep1, "title": f"提醒 {n}"} for n in range(20)])
    assert len(tries) == 1
    assert Delivery.objects.filter(status=Delivery.Status.PENDING).count() == 20
    redis_down.back()
    sweep_outbox()
    assert len(mail.outbox) == 20


def test_a_lead_import_committed_while_redis_is_down_runs_once_it_is_back(
    client, org, redis_down, django_capture_on_commit_callbacks
):
    client.force_login(org.manager1)
    csv = "姓名,手机号,来源\n王小明家长,13900001111,转介绍\n陈女士,13900002222,官网\n".encode()
    response = client.post("/sales/leads/import/", {"file": SimpleUploadedFile("leads.csv", csv)})
    assert response.status_code == 302
    job = LeadImportJob.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/sales/leads/import/{job.pk}/commit/").status_code == 302
    job.refresh_from_db()
    assert job.status == LeadImportJob.Status.QUEUED and not Lead.objects.exists()
    assert client.get(f"/sales/leads/import/{job.pk}/").status_code == 200

    redis_down.back()
    with time_machine.travel(timezone.now() + LATER):
        sweep_outbox()
        sweep_outbox()
    job.refresh_from_db()
    assert job.status == LeadImportJob.Status.DONE
    assert sorted(Lead.objects.values_list("mobile", flat=True)) == ["13900001111", "13900002222"]


def test_a_customer_import_committed_while_redis_is_down_runs_once_it_is_back(
    client, org, redis_down, django_capture_on_commit_callbacks
):
    from customers.models import Customer, ImportJob

    client.force_login(org.rep1)
    csv = "name,mobile\n张伟,13800138001\n李娜,13912345678\n".encode()
    response = client.post("/customers/import/", {"kind": "customers", "file": SimpleUploadedFile("c.csv", csv)})
    assert response.status_code == 302
    job = ImportJob.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/customers/import/{job.pk}/commit/").status_code == 302
    job.refresh_from_db()
    assert job.status == ImportJob.Status.QUEUED and not Customer.objects.exists()

    redis_down.back()
    with time_machine.travel(timezone.now() + LATER):
        sweep_outbox()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE
    assert sorted(Customer.objects.values_list("mobile", flat=True)) == ["13800138001", "13912345678"]


def test_producing_codes_by_hand_while_redis_is_down_says_so(client, org, redis_down, settings):
    batch = make_batch(org, status=Batch.Status.APPROVED, production=Batch.Production.MANUAL, quantity=10)
    client.force_login(org.marketing)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.post(f"/coupons/batches/{batch.pk}/produce/", follow=True)
    assert response.status_code == 200
    assert "The background queue is unavailable" in response.content.decode()


# --- database unreachable ----------------------------------------------------------------------


def test_while_the_database_is_unreachable_pages_and_api_answer_their_error_page(client, org, monkeypatch):
    """The 500 answer needs no database (the session and the menus do): a person gets the
    product's error page, an API client its JSON error, not the server's bare fallback."""
    from django.db.utils import OperationalError

    client.force_login(org.rep1)
    client.raise_request_exception = False

    def unreachable(*args, **kwargs):
        raise OperationalError('connection to server at "127.0.0.1" failed: Connection refused')

    monkeypatch.setattr(connection, "cursor", unreachable)
    try:
        page = client.get("/customers/")
        api = client.get("/api/v1/ping", HTTP_AUTHORIZATION="Bearer crm_anything")
    finally:
        monkeypatch.undo()
    assert page.status_code == 500 and "<title>500</title>" in page.content.decode()
    assert api.status_code == 500 and api.json()["error"]["code"] == "server_error"


# --- real processes ----------------------------------------------------------------------------


def service_env(redis_url):
    """The environment of a worker or beat process on the test database and the test Redis."""
    db = connection.settings_dict
    auth = quote(db["USER"] or "postgres") + (f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else "")
    url = f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": redis_url,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "PYTHONPATH": str(PROJECT_DIR),
    }


@pytest.fixture
def processes(tmp_path, redis_url):
    """Start Celery processes; every one still running at the end is killed. The test Redis's
    queue starts and ends empty (no tick of another run reaches these workers)."""
    celery_app.control.purge()
    started = []

    def start(name, *args, env):
        log = open(tmp_path / f"{name}.log", "wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", *args],
            cwd=PROJECT_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        process.log_path = tmp_path / f"{name}.log"
        started.append((process, log))
        return process

    yield start
    for process, log in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        log.close()
    celery_app.control.purge()


def worker_args(name):
    return [
        "-A",
        "config",
        "worker",
        "-P",
        "solo",
        "-n",
        f"{name}-{os.getpid()}@%h",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "-l",
        "WARNING",
    ]


def send(task_name):
    """Publish a task by name to the real broker (what a beat tick does)."""
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False  # send_task never runs eagerly; this only silences the warning
    try:
        celery_app.send_task(task_name)
    finally:
        celery_app.conf.task_always_eager = eager


def wait_for(condition, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out after {seconds} s waiting for {what}")


def due_reminders(owner, count, *, due_from, spread=datetime.timedelta(0)):
    """``count`` reminders created two days ago, due from ``due_from`` on (spread over ``spread``):
    each has its 1-day and 1-hour notices due at once and its due notice at its due time."""
    with time_machine.travel(timezone.now() - datetime.timedelta(days=2), tick=False):
        return [
            sales_services.create_reminder(owner=owner, title=f"回访 {n}", due_at=due_from + spread * n / count)
            for n in range(count)
        ]


def assert_each_notice_and_email_once(reminders, owner):
    expected = 3 * len(reminders)
    assert ReminderNotice.objects.count() == expected
    per_reminder = dict(ReminderNotice.objects.values_list("reminder").annotate(n=Count("id")))
    assert set(per_reminder.values()) == {3}
    titles = list(Notification.objects.filter(recipient=owner, kind="reminder").values_list("title", flat=True))
    assert len(titles) == expected == len(set(titles))
    assert Delivery.objects.filter(status=Delivery.Status.SENT).count() == expected
    assert DeliveryAttempt.objects.filter(ok=True).count() == expected  # one successful send each


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_batch_sends_every_reminder_once(postgres, redis_url, processes):
    from crm.tests.factories import OrgFixture

    owner = OrgFixture().rep1
    reminders = due_reminders(owner, 40, due_from=timezone.now() - datetime.timedelta(minutes=1))
    env = service_env(redis_url)
    with transaction.atomic():
        # Hold the notifications table: the worker's batch stops inside its transaction, after
        # writing the notices, while inserting the notifications — and is killed there.
        with connection.cursor() as cursor:
            cursor.execute("LOCK TABLE crm_notification IN EXCLUSIVE MODE")
        first = processes("worker-1", *worker_args("faults-kill-1"), env=env)
        send("sales.tasks.dispatch_reminders")

        def blocked_backend():
            with connection.cursor() as cursor:
                cursor.execute("""SELECT l.pid FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
                                  WHERE c.relname = 'crm_notification' AND NOT l.granted""")
                row = cursor.fetchone()
            return row and row[0]

        backend = wait_for(blocked_backend, 60, "the worker's batch to reach the notifications")
        processes("worker-2", *worker_args("faults-kill-2"), env=env)  # boots meanwhile; the task is taken
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)

    def gone():
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [backend])
            return cursor.fetchone()[0] == 0

    wait_for(gone, 30, "the killed worker's database session to end")
    assert not ReminderNotice.objects.exists() and not Notification.objects.exists()  # rolled back

    send("sales.tasks.dispatch_reminders")  # the next beat tick, for the second worker
    wait_for(
        lambda: Delivery.objects.filter(status=Delivery.Status.SENT).count() == 120,
        60,
        "the second worker to send the notices and their emails",
    )
    send("sales.tasks.dispatch_reminders")
    send("crm.tasks.sweep_outbox")
    assert sales_services.dispatch_due() == 0 and sweep_outbox() is None
    time.sleep(1)  # the extra ticks reach the worker and find nothing to do
    assert_each_notice_and_email_once(reminders, owner)
    assert Reminder.objects.filter(next_notice_at__lte=timezone.now()).count() == 0


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_two_beat_processes_at_once_send_each_reminder_once(postgres, redis_url, processes, tmp_path):
    from crm.tests.factories import OrgFixture

    owner = OrgFixture().rep1
    env = {**service_env(redis_url), "FAULTS_BEAT_SECONDS": "0.5"}
    for name in ("worker-a", "worker-b"):
        processes(name, *worker_args(f"faults-beat-{name}"), env=env)
    beats = [
        processes(
            name,
            "-A",
            "bench.faults.fast_beat",
            "beat",
            "-S",
            "celery.beat:PersistentScheduler",
            "-s",
            str(tmp_path / f"{name}-schedule"),
            "--max-interval",
            "1",
            "-l",
            "INFO",
            env=env,
        )
        for name in ("beat-a", "beat-b")
    ]

    def ticks():
        return [beat.log_path.read_text(errors="replace").count("sales.tasks.dispatch_reminders") for beat in beats]

    wait_for(lambda: min(ticks()) >= 1, 60, "both beats to tick")
    # due while both beats tick: the 1-day and 1-hour notices at once, the due ones over 3 s
    reminders = due_reminders(owner, 80, due_from=timezone.now(), spread=datetime.timedelta(seconds=3))
    before = ticks()
    wait_for(
        lambda: Delivery.objects.filter(status=Delivery.Status.SENT).count() == 240,
        90,
        "every notice and email of 80 reminders",
    )
    time.sleep(1.5)  # a few more ticks of both beats: still nothing twice
    for beat in beats:
        os.killpg(beat.pid, signal.SIGKILL)
        beat.wait(10)
    during = [after - start for after, start in zip(ticks(), before)]
    assert min(during) >= 3, during  # both beats were sending the dispatcher all along
    assert_each_notice_and_email_once(reminders, owner)


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_two_producers_of_one_batch_never_make_more_codes_than_its_quantity(postgres):
    """The sweep may queue a production that is still running (a late task): the second producer
    of a batch stands aside."""
    from coupons.services import production
    from crm.tests.factories import OrgFixture
    from crm.tests.parallel import run_parallel

    batch = make_batch(
        OrgFixture(), status=Batch.Status.APPROVED, production=Batch.Production.ON_APPROVAL, quantity=3000
    )
    produced = run_parallel([lambda: production.produce(batch)[0]] * 3)
    batch.refresh_from_db()
    assert sum(produced) == batch.produced == 3000 == Coupon.objects.filter(batch=batch).count()


@pytest.mark.services
def test_the_resilient_cache_works_against_a_real_redis(redis_url):
    from crm.cache import ResilientRedisCache

    cache = ResilientRedisCache(redis_url, {"KEY_PREFIX": f"faults-{os.getpid()}"})
    cache.set("figures", {"gmv": 1}, 30)
    assert cache.get("figures") == {"gmv": 1}
    assert cache.get_many(["figures", "missing"]) == {"figures": {"gmv": 1}}
    cache.set("n", 1, 30)
    assert cache.incr("n") == 2
    cache.delete_many(["figures", "n"])
    assert cache.get("figures") is None


def test_the_resilient_cache_answers_like_an_empty_cache_without_redis():
    from crm.cache import ResilientRedisCache

    cache = ResilientRedisCache(f"redis://127.0.0.1:{closed_port()}/0", {})
    cache.set("figures", 1)
    assert cache.get("figures") is None and cache.get("figures", "default") == "default"
    assert cache.add("lock", 1) is False and cache.get_many(["a", "b"]) == {}
    assert cache.set_many({"a": 1}) == ["a"] and cache.has_key("a") is False
    with pytest.raises(ValueError, match="not found"):
        cache.incr("counter")
    cache.delete("figures")
    cache.delete_many(["a"])
