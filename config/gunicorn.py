"""gunicorn's settings for ``make run`` / ``make dev`` and for production (``gunicorn -c config/gunicorn.py``).

Threads and workers are sized to the machine unless set: ``WEB_WORKERS`` (default: the number of
cores, at least 2) processes of ``WEB_THREADS`` (default 4) threads each, gthread workers that keep
connections alive. A request mostly waits on the database, so threads cover the waits while a
process per core covers the Python. ``WEB_RELOAD=1`` (``make dev``) restarts the workers when code
changes; nothing else reloads. ``WEB_BIND`` (default ``HOST:PORT``, then 127.0.0.1:8000).
"""

import os


def _int(name, default):
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def _bind():
    if os.environ.get("WEB_BIND"):
        return [part.strip() for part in os.environ["WEB_BIND"].split(",") if part.strip()]
    host = os.environ.get("HOST") or "127.0.0.1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return [f"{host}:{os.environ.get('CRM_WEB_PORT') or os.environ.get('PORT') or '8000'}"]


wsgi_app = "config.wsgi:application"
bind = _bind()
workers = _int("WEB_WORKERS", max(2, os.cpu_count() or 1))
worker_class = "gthread"
threads = _int("WEB_THREADS", 4)
# a queue of waiting connections long enough for bursts (the kernel caps it at net.core.somaxconn)
backlog = _int("WEB_BACKLOG", 2048)
keepalive = _int("WEB_KEEPALIVE", 5)
timeout = _int("WEB_TIMEOUT", 60)
graceful_timeout = _int("WEB_GRACEFUL_TIMEOUT", 30)
# a worker is replaced after this many requests (spread by the jitter), so that slow growth is shed
max_requests = _int("WEB_MAX_REQUESTS", 5000)
max_requests_jitter = _int("WEB_MAX_REQUESTS_JITTER", 500)
reload = os.environ.get("WEB_RELOAD", "").strip().lower() in {"1", "true", "yes", "on"}
accesslog = os.environ.get("WEB_ACCESS_LOG") or None  # "-" for stdout; the request log has the ids
errorlog = "-"
loglevel = os.environ.get("WEB_LOG_LEVEL", "info")
# behind nginx on the same machine (or the Makefile's two-command start): the proxy's headers are believed
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
proc_name = os.environ.get("WEB_NAME", "crm-web")
