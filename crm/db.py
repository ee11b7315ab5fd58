"""Database helpers shared by the apps."""

import contextlib
import functools
import zlib

from django.db import connection
from django.db.models.functions import Lower


def _lock_key(namespace, key):
    return [zlib.crc32(namespace.encode()) & 0x7FFFFFFF, zlib.crc32(str(key).encode()) & 0x7FFFFFFF]


@contextlib.contextmanager
def exclusive(namespace, key):
    """True while this session alone holds (namespace, key); False at once when another does.
    PostgreSQL: an advisory lock for the session — the end of a killed worker's session releases
    it — or for the caller's transaction when there is one. SQLite runs one writer at a time."""
    if connection.vendor != "postgresql":
        yield True
        return
    lock = _lock_key(namespace, key)
    session = not connection.in_atomic_block
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT pg_try_advisory{'' if session else '_xact'}_lock(%s, %s)", lock)
        held = cursor.fetchone()[0]
    try:
        yield held
    finally:
        if held and session:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", lock)


def one_runner(namespace):
    """Run the decorated job function (first argument: the job's id) in one process at a time;
    a second call while the first runs returns None at once. Together with ``takeable`` a job left
    "running" by a killed worker is taken over by the next call: its lock died with the worker."""

    def decorate(func):
        @functools.wraps(func)
        def run(job_id, *args, **kwargs):
            with exclusive(namespace, job_id) as alone:
                if alone:
                    return func(job_id, *args, **kwargs)
            return None

        return run

    return decorate


def takeable(queued, running):
    """The statuses a job runner holding the job's lock may take: waiting, or — on PostgreSQL,
    where the lock proves nobody else works on it — running with a dead worker."""
    return [queued, running] if connection.vendor == "postgresql" else [queued]


def advisory_lock(namespace, key):
    """Serialize transactions that would create the same thing (e.g. a customer for one mobile)
    until the current transaction ends. PostgreSQL: a transaction-level advisory lock; SQLite
    already runs one writing transaction at a time."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, %s)",
            [zlib.crc32(namespace.encode()) & 0x7FFFFFFF, zlib.crc32(str(key).encode()) & 0x7FFFFFFF],
        )


class Searchable(Lower):
    """``mobile__searchable__contains="8000"``: the column as a partial search compares it, the
    expression of its trigram index (``LOWER(mobile)``, which leaves digits as they are).

    The trigram index is on this expression, never on the bare column: PostgreSQL's ``gin_trgm_ops``
    also answers ``=``, and on a small table it planned ``mobile IN (…)`` on the trigram index, one
    trigram lookup per value (31 s for 10,000 mobiles against 2 ms on the B-tree). An equality on
    ``mobile`` does not match the expression, so only the B-tree can serve it; a partial search
    (contains, starts with, ends with) goes through this transform and so through the trigram index."""

    lookup_name = "searchable"


def among(values):
    """The right-hand side of ``field__in=`` for a long list of values (an import's mobiles, an event
    batch's ids). PostgreSQL: ``IN (SELECT unnest(%s))``, one array parameter however long the list
    and a plan that joins through the column's B-tree. (It once also kept a plain ``IN (…)`` on the
    customer's mobile off its trigram index; that index is now on an expression, :class:`Searchable`,
    which an equality cannot use.) Elsewhere the plain list."""
    values = list(values)
    if connection.vendor != "postgresql":
        return values
    from django.db.models.expressions import RawSQL

    return RawSQL("SELECT unnest(%s::text[])", (values,))
