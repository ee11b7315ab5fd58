"""Running the product: the floor view, /healthz, /metrics and its address restriction, request ids
and JSON logs, the replica router's read-your-writes rule, and the WSGI server `make run` starts."""

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse

from crm import db_router, operations
from crm.models import Role
from crm.tests.factories import UserFactory
from customers.models import Customer

BASE = Path(settings.BASE_DIR)
# the router tests add the replica alias to the settings only (it mirrors the test database)
pytestmark = pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")


# --- the floor ----------------------------------------------------------------------------------


def test_the_floor_view_answers_a_signed_in_user_and_sends_others_to_sign_in(db):
    client = Client()
    assert client.get(reverse("ping")).status_code == 302
    client.force_login(UserFactory(role=Role.REP))
    response = client.get(reverse("ping"))
    assert response.status_code == 200
    assert response.content == b"ok"


# --- /healthz -----------------------------------------------------------------------------------


@pytest.fixture
def services_up(monkeypatch):
    """Redis and the broker answer (their own checks are pinned below); beat beat just now."""
    monkeypatch.setattr(operations, "check_redis", lambda: None)
    monkeypatch.setattr(operations, "check_broker", lambda: None)
    operations.record_heartbeat()
    yield
    from django.core.cache import cache

    cache.delete(operations.HEARTBEAT_KEY)


def test_healthz_is_200_with_every_check_passing(db, services_up):
    response = Client().get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) >= {"database", "broker", "beat"}
    assert all(check["ok"] for check in body["checks"].values())
    assert "replica" not in body["checks"]  # none configured
    assert body["checks"]["beat"]["lag_seconds"] < 5


def test_healthz_is_503_when_beat_has_not_beaten_for_too_long(db, services_up, settings):
    operations.record_heartbeat(now=time.time() - settings.BEAT_MAX_AGE_SECONDS - 10)
    response = Client().get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "failing"
    assert body["checks"]["beat"]["ok"] is False
    assert body["checks"]["database"]["ok"] is True


def test_healthz_is_503_without_any_heartbeat_and_says_nothing_of_the_error_but_its_kind(db, services_up):
    from django.core.cache import cache

    cache.delete(operations.HEARTBEAT_KEY)
    body = Client().get("/healthz").json()
    assert body["checks"]["beat"] == {"ok": False, "error": "NoHeartbeat", "ms": body["checks"]["beat"]["ms"]}


def test_healthz_is_503_when_the_database_or_redis_fails(db, services_up, monkeypatch, settings):
    def down():
        raise ConnectionError("connection refused by 10.0.0.5")

    monkeypatch.setattr(operations, "check_database", down)
    response = Client().get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == {
        "ok": False,
        "error": "ConnectionError",
        "ms": response.json()["checks"]["database"]["ms"],
    }
    assert b"10.0.0.5" not in response.content
    monkeypatch.setattr(operations, "check_database", lambda alias="default": None)
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    monkeypatch.setattr(operations, "check_redis", down)
    response = Client().get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["redis"]["ok"] is False


def test_healthz_leaves_beat_out_when_told_to(db, services_up, settings):
    settings.HEALTH_CHECK_BEAT = False
    from django.core.cache import cache

    cache.delete(operations.HEARTBEAT_KEY)
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert "beat" not in response.json()["checks"]


def test_the_broker_check_of_the_filesystem_broker_and_the_heartbeat_task(settings, tmp_path):
    from crm.tasks import beat_heartbeat

    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": str(tmp_path)}
    assert operations._timed(operations.check_broker)["ok"] is True
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": str(tmp_path / "missing")}
    assert operations._timed(operations.check_broker)["ok"] is False
    beat_heartbeat.delay()
    assert operations.beat_lag_seconds() < 5


def test_the_redis_check_against_the_real_redis(redis_url, settings):
    settings.REDIS_URL = redis_url
    assert operations._timed(operations.check_redis)["ok"] is True
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    assert operations._timed(operations.check_redis) == {
        "ok": False,
        "error": "ConnectionError",
        "ms": pytest.approx(0, abs=2000),
    }


# --- /metrics -----------------------------------------------------------------------------------


def test_metrics_answer_configured_addresses_only(db, settings):
    client = Client()
    client.get("/login/")  # a request to count
    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 200
    text = response.content.decode()
    assert 'crm_request_seconds_count{method="GET",status="2xx",view="login"}' in text
    assert "crm_queue_length" in text
    assert "crm_beat_lag_seconds" in text
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.7").status_code == 404
    settings.METRICS_ALLOWED_ADDRESSES = ["10.20.0.0/16"]
    assert client.get("/metrics", REMOTE_ADDR="10.20.3.4").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 404
    assert client.get("/metrics", REMOTE_ADDR="10.21.3.4").status_code == 404


def test_metrics_believe_x_forwarded_for_only_from_a_trusted_proxy(db, settings):
    settings.METRICS_ALLOWED_ADDRESSES = ["10.20.0.0/16"]
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    client = Client()
    # an outsider claiming to be an allowed address
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.7", HTTP_X_FORWARDED_FOR="10.20.3.4").status_code == 404
    # nginx on the same machine passing the scraper's address
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="10.20.3.4").status_code == 200
    # nginx passing an outsider's address
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="192.0.2.7").status_code == 404


def test_metrics_count_the_filesystem_brokers_waiting_messages(settings, tmp_path):
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": str(tmp_path)}
    for n in range(3):
        (tmp_path / f"{n}.msg").write_text("{}")
    assert operations.queue_lengths() == {"celery": 3}


# --- request ids and JSON logs ------------------------------------------------------------------


def test_every_response_carries_a_request_id_and_a_sane_one_from_the_proxy_is_kept(db):
    client = Client()
    first = client.get("/login/")["X-Request-ID"]
    second = client.get("/login/")["X-Request-ID"]
    assert first and second and first != second
    assert client.get("/login/", HTTP_X_REQUEST_ID="abc-123.x")["X-Request-ID"] == "abc-123.x"
    injected = client.get("/login/", HTTP_X_REQUEST_ID="bad id\nset-cookie: x")["X-Request-ID"]
    assert " " not in injected and "\n" not in injected and len(injected) == 32


def _json_line(record):
    operations.RequestIdFilter().filter(record)
    return json.loads(operations.JsonFormatter().format(record))


def test_json_logs_carry_the_request_id_and_the_records_extras(db, caplog):
    caplog.set_level(logging.INFO, logger="crm.request")
    Client().get("/login/", HTTP_X_REQUEST_ID="req-42")
    record = next(r for r in caplog.records if r.name == "crm.request")
    line = _json_line(record)
    assert line["request_id"] == "req-42"
    assert line["level"] == "INFO"
    assert line["logger"] == "crm.request"
    assert line["status"] == 200 and line["view"] == "login" and line["message"].startswith("GET /login/ 200")
    outside = logging.LogRecord("crm", logging.ERROR, __file__, 1, "boom %s", ("王",), None)
    assert _json_line(outside)["request_id"] == "-"
    assert _json_line(outside)["message"] == "boom 王"


def test_the_log_format_is_a_setting():
    code = (
        "import django, json; django.setup(); from django.conf import settings; "
        "print(settings.LOGGING['handlers']['console']['formatter'])"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    for value, expected in (("json", "json"), ("text", "text")):
        result = subprocess.run(
            [sys.executable, "-c", code], cwd=BASE, env={**env, "LOG_FORMAT": value}, capture_output=True, text=True
        )
        assert result.stdout.strip().splitlines()[-1] == expected, result.stderr


# --- the replica router: read-your-writes -------------------------------------------------------

REPLICA_DATABASES = {
    **settings.DATABASES,
    "replica": {**settings.DATABASES["default"], "TEST": {"MIRROR": "default"}},
}


def _where_reads_go(request):
    """A view that says which database a read of customers would use."""
    from django.http import HttpResponse

    return HttpResponse(db_router.ReplicaRouter().db_for_read(Customer) or "default")


replica_view = db_router.reads_from_replica(_where_reads_go)


def _get(user, cookies=None):
    request = RequestFactory().get("/dashboard/")
    request.user = user
    request.COOKIES.update(cookies or {})
    return replica_view(request).content.decode()


def test_without_a_replica_everything_reads_the_primary(db):
    user = UserFactory(role=Role.DIRECTOR)
    assert "replica" not in settings.DATABASES
    assert _get(user) == "default"
    with db_router.replica_reads():
        assert db_router.ReplicaRouter().db_for_read(Customer) is None


@override_settings(DATABASES=REPLICA_DATABASES, READ_YOUR_WRITES_SECONDS=30)
def test_dashboards_read_the_replica_except_for_the_user_who_just_wrote(db):
    writer = UserFactory(role=Role.DIRECTOR)
    other = UserFactory(role=Role.DIRECTOR)
    router = db_router.ReplicaRouter()
    assert _get(writer) == "replica"
    assert _get(other) == "replica"
    assert router.db_for_read(Customer) is None  # outside an opted-in view: the primary
    assert router.db_for_write(Customer) == "default"
    with db_router.replica_reads():
        assert router.db_for_write(Customer) == "default"  # writes never go to the replica

    # the writer posts something (through the whole middleware): marked for READ_YOUR_WRITES_SECONDS
    client = Client()
    client.force_login(writer)
    response = client.post(reverse("preferences"), {"language": "zh-hans"})
    assert response.status_code in (200, 302)
    assert db_router.WROTE_COOKIE in response.cookies
    assert response.cookies[db_router.WROTE_COOKIE]["max-age"] == 30
    assert _get(writer) == "default"  # the cache marker follows the user to any browser
    assert _get(other) == "replica"  # nobody else is affected
    # a browser with only the cookie (the cache lost its marker) still reads the primary
    from django.core.cache import cache

    cache.delete(db_router._marker_key(writer.pk))
    cookie = response.cookies[db_router.WROTE_COOKIE].value
    assert _get(writer, {db_router.WROTE_COOKIE: cookie}) == "default"
    assert _get(writer) == "replica"
    # a GET is no write
    client.get(reverse("ping"))
    assert _get(writer) == "replica"


@override_settings(DATABASES=REPLICA_DATABASES, READ_YOUR_WRITES_SECONDS=30)
def test_the_marker_runs_out_after_the_window(db):
    writer = UserFactory(role=Role.DIRECTOR)
    from django.core.cache import cache

    cache.set(db_router._marker_key(writer.pk), time.time() - 31)
    assert _get(writer) == "replica"
    assert _get(writer, {db_router.WROTE_COOKIE: f"{time.time() - 31:.3f}"}) == "replica"
    assert _get(writer, {db_router.WROTE_COOKIE: f"{time.time() - 5:.3f}"}) == "default"
    assert _get(writer, {db_router.WROTE_COOKIE: "garbage"}) == "replica"


@override_settings(DATABASES=REPLICA_DATABASES)
def test_a_streamed_export_reads_the_replica_while_it_streams(db):
    from django.http import StreamingHttpResponse

    def export(request):
        return StreamingHttpResponse(
            (db_router.ReplicaRouter().db_for_read(Customer) or "default") + "\n" for _ in range(3)
        )

    request = RequestFactory().get("/customers/?export=csv")
    request.user = UserFactory(role=Role.DIRECTOR)
    response = db_router.reads_from_replica(export)(request)
    assert b"".join(response.streaming_content).decode().split() == ["replica"] * 3
    assert db_router.ReplicaRouter().db_for_read(Customer) is None


def test_the_replica_is_never_migrated():
    router = db_router.ReplicaRouter()
    assert router.allow_migrate("replica", "customers") is False
    assert router.allow_migrate("default", "customers") is None


# --- the WSGI server of `make run` --------------------------------------------------------------


def _gunicorn_settings(**env):
    code = (
        "import json, runpy; s = runpy.run_path('config/gunicorn.py'); "
        "print(json.dumps({k: s[k] for k in ('bind', 'workers', 'threads', 'worker_class', 'reload', 'backlog')}))"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith("WEB_") and k not in ("HOST", "PORT")}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=BASE, env={**clean, **env}, capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout)


def test_make_run_serves_through_gunicorn_sized_to_the_machine_and_reloads_only_in_make_dev():
    procfile = (BASE / "Procfile.dev").read_text()
    web = next(line for line in procfile.splitlines() if line.startswith("web:"))
    assert "gunicorn -c config/gunicorn.py" in web and "runserver" not in procfile
    default = _gunicorn_settings(CRM_WEB_PORT="8123", HOST="127.0.0.1")
    assert default["bind"] == ["127.0.0.1:8123"]
    assert default["worker_class"] == "gthread"
    assert default["workers"] == max(2, os.cpu_count()) and default["threads"] >= 2
    assert default["reload"] is False and default["backlog"] >= 1024
    assert _gunicorn_settings(WEB_RELOAD="1", WEB_WORKERS="1")["reload"] is True
    dev = subprocess.run(["make", "-n", "dev", "PORT=8123"], cwd=BASE, capture_output=True, text=True).stdout
    assert "WEB_RELOAD=1" in dev
    run = subprocess.run(["make", "-n", "run", "PORT=8123"], cwd=BASE, capture_output=True, text=True).stdout
    assert "WEB_RELOAD" not in run
    assert "collectstatic" in run  # WhiteNoise serves the collected files, as in production


# --- one beat at a time -------------------------------------------------------------------------

_HOLD = (
    "import django, sys, time; django.setup(); from crm import beat_lock; "
    "beat_lock.hold_or_exit(); print('held', flush=True); time.sleep(float(sys.argv[1]))"
)


def _beat_like(seconds, **env):
    clean = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "BEAT_LOCK")}
    return subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(seconds)],
        cwd=BASE,
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("broker", ["file", "redis"])
def test_a_second_beat_exits_while_the_first_holds_the_lock(broker, tmp_path, request):
    env = {"CRM_VAR_DIR": str(tmp_path)}
    if broker == "redis":
        redis_url = request.getfixturevalue("redis_url")
        import redis

        redis.Redis.from_url(redis_url).delete("crm:beat-lock")
        env["REDIS_URL"] = redis_url
    first = _beat_like(30, **env)
    try:
        assert first.stdout.readline().strip() == "held"
        second = _beat_like(0, **env)
        out, err = second.communicate(timeout=60)
        assert second.returncode == 3, (out, err)
        assert "held" not in out and "beat not started" in err
        # without the lock (the fault runs' two beats on purpose) both start
        unlocked = _beat_like(0, BEAT_LOCK="0", **env)
        assert unlocked.communicate(timeout=60)[0].strip() == "held"
    finally:
        first.kill()
        first.wait(10)
    if broker == "file":  # the kernel let go with the process: the next beat starts
        after = _beat_like(0, **env)
        assert after.communicate(timeout=60)[0].strip() == "held"
    else:
        import redis

        redis.Redis.from_url(env["REDIS_URL"]).delete("crm:beat-lock")


_HOLD_UNTIL_TERM = (
    "import django, signal, sys, time; django.setup(); from crm import beat_lock; "
    "signal.signal(signal.SIGTERM, lambda *a: sys.exit()); "  # as celery beat does: SystemExit
    "beat_lock.hold_or_exit(); print('held', flush=True); time.sleep(60)"
)


def test_a_beat_stopped_by_sigterm_lets_go_of_the_redis_lock_so_the_next_starts_at_once(tmp_path, redis_url):
    import redis

    client = redis.Redis.from_url(redis_url)
    client.delete("crm:beat-lock")
    clean = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "BEAT_LOCK")}
    env = {**clean, "DJANGO_SETTINGS_MODULE": "config.settings", "CRM_VAR_DIR": str(tmp_path), "REDIS_URL": redis_url}
    first = subprocess.Popen(
        [sys.executable, "-c", _HOLD_UNTIL_TERM], cwd=BASE, env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert first.stdout.readline().strip() == "held"
        assert client.get("crm:beat-lock") is not None
        first.terminate()
        first.wait(30)
        assert client.get("crm:beat-lock") is None
        after = _beat_like(0, CRM_VAR_DIR=str(tmp_path), REDIS_URL=redis_url)
        assert after.communicate(timeout=60)[0].strip() == "held"
    finally:
        if first.poll() is None:
            first.kill()
        client.delete("crm:beat-lock")
