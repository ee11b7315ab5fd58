"""Reads from the replica, with read-your-writes.

With ``DATABASE_REPLICA_URL`` set, the settings add a ``replica`` database (a streaming standby of
the primary). Writes always go to the primary (``default``). Reads go to the replica only where a
view asked for it — dashboards and exports, which read much and tolerate a second of lag — with
``@reads_from_replica`` (or ``with replica_reads():``), and never for a user who wrote in the last
``READ_YOUR_WRITES_SECONDS``: the person who just saved something sees it. "Wrote" is marked by
``ReadYourWritesMiddleware`` after any request of the user that was not a GET/HEAD/OPTIONS/TRACE
(what a GET writes is bookkeeping — the access log of an export, a notification read — not
something the user waits to see), twice: a cookie (which survives a cache outage) and a cache key per user
(which follows the user to another browser or device). Without a replica everything reads the
primary and nothing is marked.
"""

import contextvars
import functools
import time
from contextlib import contextmanager

from django.conf import settings
from django.core.cache import cache

REPLICA = "replica"
WROTE_COOKIE = "crm_wrote"
_replica_reads = contextvars.ContextVar("crm_replica_reads", default=False)


def replica_configured():
    return REPLICA in settings.DATABASES


def _marker_key(user_id):
    return f"crm:wrote:{user_id}"


@contextmanager
def replica_reads(enabled=True):
    """Reads inside go to the replica (when one is configured)."""
    token = _replica_reads.set(enabled and replica_configured())
    try:
        yield
    finally:
        _replica_reads.reset(token)


def wrote_recently(request):
    """Whether the request's user wrote within READ_YOUR_WRITES_SECONDS (cookie or cache marker)."""
    window = settings.READ_YOUR_WRITES_SECONDS
    try:
        if time.time() - float(request.COOKIES.get(WROTE_COOKIE, 0)) < window:
            return True
    except ValueError:
        pass
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        marked = cache.get(_marker_key(user.pk))
        return marked is not None and time.time() - float(marked) < window
    return False


def reads_from_replica(view):
    """A view (function) whose reads may come from the replica, unless its user just wrote.
    A streamed response (an export) reads the same way while it streams."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        use = replica_configured() and not wrote_recently(request)
        with replica_reads(use):
            response = view(request, *args, **kwargs)
        if use and getattr(response, "streaming", False):
            response.streaming_content = _in_replica_reads(response.streaming_content)
        return response

    return wrapper


def _in_replica_reads(chunks):
    iterator = iter(chunks)
    while True:
        with replica_reads():
            try:
                chunk = next(iterator)
            except StopIteration:
                return
        yield chunk


class ReadYourWritesMiddleware:
    """Marks the user who wrote (after AuthenticationMiddleware). Does nothing without a replica."""

    SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.method in self.SAFE_METHODS or not replica_configured():
            return response
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = time.time()
            window = settings.READ_YOUR_WRITES_SECONDS
            cache.set(_marker_key(user.pk), now, timeout=window)
            response.set_cookie(
                WROTE_COOKIE,
                f"{now:.3f}",
                max_age=window,
                httponly=True,
                samesite="Lax",
                secure=settings.SESSION_COOKIE_SECURE,
            )
        return response


class ReplicaRouter:
    """``default`` for writes and ordinary reads; ``replica`` for reads inside ``replica_reads``."""

    def db_for_read(self, model, **hints):
        if _replica_reads.get() and replica_configured():
            return REPLICA
        return None

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the replica is a copy of the primary: the same rows on both

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return False if db == REPLICA else None
