"""Running the product: request ids, JSON logs, ``GET /healthz`` and ``GET /metrics``.

* ``RequestIdMiddleware`` (first in the chain) gives every request an id — the ``X-Request-ID``
  the proxy sent when it is a sane token, else a new one — answers it in ``X-Request-ID``, puts it
  on every log record of the request (``RequestIdFilter``), times the request by view for the
  metrics and logs one line per request on ``crm.request`` (INFO).
* ``JsonFormatter``: one JSON object a line (``LOG_FORMAT=json``).
* ``healthz``: the database, the replica and its lag (when one is configured), Redis, the broker
  and beat's heartbeat; 200 when all pass, 503 otherwise, with a JSON body saying which failed.
  Open to every address (load balancers, nginx): it says ok/failing and timings, never an error text.
* ``metrics``: the Prometheus text format, for ``METRICS_ALLOWED_ADDRESSES`` only (404 to others):
  request latency by view, the broker's queue lengths, beat's lag, the replica's lag. With
  ``PROMETHEUS_MULTIPROC_DIR`` set (several gunicorn workers) the workers' figures are added up.
* ``beat_heartbeat`` (a beat task every ``HEARTBEAT_SECONDS``, run by a worker): proves beat,
  broker and a worker alive together.
"""

import contextvars
import datetime
import ipaddress
import json
import logging
import os
import re
import time
import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.http import Http404, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CollectorRegistry, Histogram, disable_created_metrics, generate_latest
from prometheus_client import multiprocess as prometheus_multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import REGISTRY

from .addresses import client_ip

log = logging.getLogger("crm.request")

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_request_id = contextvars.ContextVar("crm_request_id", default="-")
HEARTBEAT_KEY = "crm:operations:beat-heartbeat"
disable_created_metrics()  # no *_created series: a scraper has the process start time

REQUEST_SECONDS = Histogram(
    "crm_request_seconds",
    "Time from the first middleware to the response, by view",
    ["view", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


def current_request_id():
    return _request_id.get()


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        offered = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = offered if _SANE_ID.match(offered) else uuid.uuid4().hex
        request.request_id = request_id
        token = _request_id.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request_id
            elapsed = time.perf_counter() - started
            match = getattr(request, "resolver_match", None)
            view = (match.view_name or match._func_path) if match else "unmatched"
            REQUEST_SECONDS.labels(view, request.method, f"{response.status_code // 100}xx").observe(elapsed)
            if log.isEnabledFor(logging.INFO):
                user = getattr(request, "user", None)
                log.info(
                    "%s %s %s %.1f ms",
                    request.method,
                    request.path,
                    response.status_code,
                    elapsed * 1000,
                    extra={
                        "view": view,
                        "status": response.status_code,
                        "duration_ms": round(elapsed * 1000, 1),
                        "user_id": user.pk if user is not None and user.is_authenticated else None,
                        "client": request.META.get("REMOTE_ADDR"),
                    },
                )
            return response
        finally:
            _request_id.reset(token)


class RequestIdFilter(logging.Filter):
    """Puts ``request_id`` on every record (``-`` outside a request)."""

    def filter(self, record):
        if not hasattr(record, "request_id"):
            # django.request logs a 4xx/5xx after the middleware has returned: the id is on its request
            record.request_id = getattr(getattr(record, "request", None), "request_id", None) or _request_id.get()
        return True


_RECORD_FIELDS = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request id, the record's extras, and
    the exception's traceback when there is one."""

    def format(self, record):
        entry = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or _request_id.get(),
            "process": record.process,
        }
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS and key not in entry:
                entry[key] = value if isinstance(value, str | int | float | bool | type(None)) else str(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


# --- the beat heartbeat -----------------------------------------------------------------------


def record_heartbeat(now=None):
    cache.set(HEARTBEAT_KEY, (now or time.time()), timeout=None)


def beat_lag_seconds(now=None):
    """Seconds since beat's last heartbeat ran (``None``: never)."""
    beat = cache.get(HEARTBEAT_KEY)
    if beat is None:
        return None
    return max(0.0, (now or time.time()) - float(beat))


# --- checks -----------------------------------------------------------------------------------


def _timed(check):
    started = time.perf_counter()
    try:
        result = check() or {}
        result.setdefault("ok", True)
    except Exception as exc:  # a failed check is reported, never raised
        result = {"ok": False, "error": type(exc).__name__}
    result["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


def check_database(alias="default"):
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def replica_lag_seconds(alias="replica"):
    """How far the replica's replay is behind the primary (0 when it has replayed all it received)."""
    with connections[alias].cursor() as cursor:
        cursor.execute(
            "SELECT pg_is_in_recovery(), pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn(), "
            "EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())"
        )
        in_recovery, caught_up, since_replay = cursor.fetchone()
    if not in_recovery or caught_up or since_replay is None:
        return 0.0
    return float(since_replay)


def check_replica():
    if connections["replica"].vendor != "postgresql":
        check_database("replica")
        return {"lag_seconds": 0.0}
    lag = replica_lag_seconds()
    return {"ok": lag <= settings.REPLICA_MAX_LAG_SECONDS, "lag_seconds": round(lag, 3)}


def _redis_client():
    import redis

    return redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)


def check_redis():
    with _redis_client() as client:
        client.ping()


def check_broker():
    from celery import current_app as app

    if settings.CELERY_BROKER_URL.startswith("filesystem"):
        folder = settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]
        if not os.access(folder, os.W_OK):
            return {"ok": False, "error": "NotWritable"}
        return {}
    with app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, timeout=2)


def check_beat():
    lag = beat_lag_seconds()
    if lag is None:
        return {"ok": False, "error": "NoHeartbeat"}
    return {"ok": lag <= settings.BEAT_MAX_AGE_SECONDS, "lag_seconds": round(lag, 1)}


def health():
    """name -> result of every check that applies to this set-up."""
    checks = {"database": check_database}
    if "replica" in settings.DATABASES:
        checks["replica"] = check_replica
    if settings.REDIS_URL:
        checks["redis"] = check_redis
    checks["broker"] = check_broker
    if settings.HEALTH_CHECK_BEAT:
        checks["beat"] = check_beat
    return {name: _timed(check) for name, check in checks.items()}


@never_cache
@require_GET
def healthz(request):
    results = health()
    ok = all(result["ok"] for result in results.values())
    body = {"status": "ok" if ok else "failing", "time": timezone.now().isoformat(), "checks": results}
    return JsonResponse(body, status=200 if ok else 503)


# --- metrics ----------------------------------------------------------------------------------


def queue_lengths():
    """queue name -> waiting messages in the broker (Redis lists, or the filesystem broker's files)."""
    from celery import current_app as app

    names = {queue.name for queue in (app.conf.task_queues or [])} or {app.conf.task_default_queue or "celery"}
    if settings.CELERY_BROKER_URL.startswith("filesystem"):
        folder = settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]
        return {"celery": sum(1 for name in os.listdir(folder) if name.endswith(".msg"))}
    with _redis_client() as client:
        return {name: client.llen(name) for name in sorted(names)}


class OperationsCollector:
    """Figures read at scrape time: queue lengths, beat's lag, the replica's lag."""

    def collect(self):
        queues = GaugeMetricFamily("crm_queue_length", "Messages waiting in the broker", labels=["queue"])
        try:
            for name, length in queue_lengths().items():
                queues.add_metric([name], length)
        except Exception:  # the broker is down: no figure (healthz says so)
            pass
        yield queues
        lag = beat_lag_seconds()
        yield GaugeMetricFamily(
            "crm_beat_lag_seconds", "Seconds since beat's heartbeat task last ran", value=-1 if lag is None else lag
        )
        if "replica" in settings.DATABASES and connections["replica"].vendor == "postgresql":
            try:
                yield GaugeMetricFamily(
                    "crm_replica_lag_seconds", "Replay lag of the read replica", value=replica_lag_seconds()
                )
            except Exception:
                pass


def allowed_metrics_address(address):
    try:
        parsed = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    for entry in settings.METRICS_ALLOWED_ADDRESSES:
        try:
            if parsed in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


@never_cache
@require_GET
def metrics(request):
    if not allowed_metrics_address(client_ip(request)):
        raise Http404
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        prometheus_multiprocess.MultiProcessCollector(registry)
        output = generate_latest(registry)
    else:
        output = generate_latest(REGISTRY)
    registry = CollectorRegistry()
    registry.register(OperationsCollector())
    output += generate_latest(registry)
    return HttpResponse(output, content_type=CONTENT_TYPE_LATEST)
