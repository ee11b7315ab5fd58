"""Database helpers shared by the apps."""
import zlib

from django.db import connection


def advisory_lock(namespace, key):
    """Serialize transactions that would create the same thing (e.g. a customer for one mobile)
    until the current transaction ends. PostgreSQL: a transaction-level advisory lock; SQLite
    already runs one writing transaction at a time."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)",
                       [zlib.crc32(namespace.encode()) & 0x7FFFFFFF, zlib.crc32(str(key).encode()) & 0x7FFFFFFF])
