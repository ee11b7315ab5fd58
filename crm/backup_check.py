"""Backups: dump a PostgreSQL database, restore it into a new one, and prove nothing was lost.

Shared by ``crm/tests/test_backup.py``, ``python -m bench.backup`` and ``python -m bench.upgrade``
(see docs/operations.md). Plain psycopg2 and the PostgreSQL client tools (``pg_dump``,
``pg_restore``); no Django models: the check introspects every table of the schema, so a table
added later is covered without touching this file.

What "nothing was lost" means here:

- **counts**: the number of rows of every table (and materialized view);
- **totals**: ``SUM`` of every ``numeric`` column (all money in the CRM is ``Decimal``), compared
  exactly;
- **sequences**: every sequence that feeds a column (``serial`` or identity) stands where it stood,
  above the column's largest value, so the first insert after a restore does not collide.
"""

import os
import shutil
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

SCHEMA = "public"

_RELATIONS_SQL = """
    SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'm') ORDER BY c.relname"""

_NUMERIC_COLUMNS_SQL = """
    SELECT c.relname, a.attname FROM pg_attribute a
    JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'm') AND a.attnum > 0 AND NOT a.attisdropped
      AND a.atttypid = 'numeric'::regtype
    ORDER BY c.relname, a.attnum"""

# a sequence owned by a column: serial (dependency type 'a') or identity ('i')
_SEQUENCES_SQL = """
    SELECT s.relname, t.relname, a.attname, q.seqincrement FROM pg_class s
    JOIN pg_namespace n ON n.oid = s.relnamespace
    JOIN pg_sequence q ON q.seqrelid = s.oid
    JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass
         AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
    JOIN pg_class t ON t.oid = d.refobjid
    JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
    WHERE s.relkind = 'S' AND n.nspname = %s
    ORDER BY t.relname, a.attname"""


class BackupError(Exception):
    """A client tool is missing or a dump/restore step failed; the message says which."""


@dataclass(frozen=True)
class Database:
    """Where to reach one PostgreSQL database (the parts of ``DATABASE_URL`` the tools need)."""

    name: str
    user: str = ""
    password: str = ""
    host: str = ""
    port: str = ""

    @classmethod
    def from_settings(cls, settings_dict):
        return cls(
            name=settings_dict["NAME"],
            user=settings_dict.get("USER") or "",
            password=settings_dict.get("PASSWORD") or "",
            host=settings_dict.get("HOST") or "",
            port=str(settings_dict.get("PORT") or ""),
        )

    @classmethod
    def from_url(cls, url):
        import dj_database_url

        if not url.startswith(("postgres://", "postgresql://", "pgsql://")):
            raise BackupError(f"needs a PostgreSQL DATABASE_URL, got {url or 'nothing'}")
        return cls.from_settings(dj_database_url.parse(url))

    def with_name(self, name):
        return replace(self, name=name)

    @property
    def url(self):
        auth = self.user + (f":{self.password}" if self.password else "")
        return f"postgres://{auth}{'@' if auth else ''}{self.host}{':' + self.port if self.port else ''}/{self.name}"

    def connect(self, *, name=None):
        import psycopg2

        params = {
            "dbname": name or self.name,
            "user": self.user,
            "password": self.password,
            "host": self.host,
            "port": self.port,
        }
        return psycopg2.connect(**{key: value for key, value in params.items() if value})

    def client_args(self):
        """Connection options for pg_dump / pg_restore (the password goes in the environment)."""
        args = []
        for flag, value in (("-h", self.host), ("-p", self.port), ("-U", self.user)):
            if value:
                args += [flag, value]
        return args

    def client_env(self):
        env = dict(os.environ)
        if self.password:
            env["PGPASSWORD"] = self.password
        return env


def client_tools():
    """Paths of ``pg_dump`` and ``pg_restore``; :class:`BackupError` if either is not installed."""
    tools = {name: shutil.which(name) for name in ("pg_dump", "pg_restore")}
    missing = [name for name, path in tools.items() if not path]
    if missing:
        raise BackupError(f"needs the PostgreSQL client tools: {', '.join(missing)} not found on PATH")
    return tools


@dataclass
class Snapshot:
    """Row counts, money totals and sequence positions of one database at one moment."""

    counts: dict = field(default_factory=dict)  # table -> rows
    totals: dict = field(default_factory=dict)  # "table.column" -> Decimal sum (None: no rows)
    sequences: dict = field(default_factory=dict)  # "table.column" -> (next value, largest value)

    @property
    def rows(self):
        return sum(self.counts.values())


def take_snapshot(cursor, *, schema=SCHEMA):
    """Read counts, totals and sequences through a DB-API cursor (one scan per table)."""
    from psycopg2 import sql

    cursor.execute(_RELATIONS_SQL, [schema])
    tables = [row[0] for row in cursor.fetchall()]
    cursor.execute(_NUMERIC_COLUMNS_SQL, [schema])
    numeric = {}
    for table, column in cursor.fetchall():
        numeric.setdefault(table, []).append(column)
    snapshot = Snapshot()
    for table in tables:
        columns = numeric.get(table, [])
        query = sql.SQL("SELECT {} FROM {}").format(
            sql.SQL(", ").join([sql.SQL("count(*)")] + [sql.SQL("sum({})").format(sql.Identifier(c)) for c in columns]),
            sql.Identifier(schema, table),
        )
        cursor.execute(query)
        count, *sums = cursor.fetchone()
        snapshot.counts[table] = count
        for column, total in zip(columns, sums):
            snapshot.totals[f"{table}.{column}"] = total
    cursor.execute(_SEQUENCES_SQL, [schema])
    for sequence, table, column, increment in cursor.fetchall():
        cursor.execute(sql.SQL("SELECT last_value, is_called FROM {}").format(sql.Identifier(schema, sequence)))
        last_value, is_called = cursor.fetchone()
        cursor.execute(sql.SQL("SELECT max({}) FROM {}").format(sql.Identifier(column), sql.Identifier(schema, table)))
        largest = cursor.fetchone()[0]
        snapshot.sequences[f"{table}.{column}"] = (last_value + increment if is_called else last_value, largest)
    return snapshot


def snapshot_of(db):
    """A consistent snapshot of ``db`` (one read-only repeatable-read transaction)."""
    connection = db.connect()
    try:
        connection.set_session(isolation_level="REPEATABLE READ", readonly=True)
        with connection.cursor() as cursor:
            return take_snapshot(cursor)
    finally:
        connection.rollback()
        connection.close()


@contextmanager
def exported_snapshot(db):
    """Yield ``(snapshot id, Snapshot)`` while the transaction that took it stays open.

    Pass the id to :func:`dump` (``pg_dump --snapshot``): the dump then holds exactly the rows the
    snapshot counted, even while the application keeps writing.
    """
    connection = db.connect()
    try:
        connection.set_session(isolation_level="REPEATABLE READ", readonly=True)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot_id = cursor.fetchone()[0]
            yield snapshot_id, take_snapshot(cursor)
    finally:
        connection.rollback()
        connection.close()


def compare(before, after, *, allow_new=False, may_grow=()):
    """What ``after`` lost or changed against ``before``: a list of sentences, empty when equal.

    Sequences may stand further on in ``after`` (sequence use is not transactional: a writer can
    move one between the snapshot and the dump), never behind, and never at or below the
    column's largest value. ``allow_new`` accepts tables and columns that only ``after`` has, and
    ``may_grow`` names tables that may gain rows (both: what a forward migration adds).
    """
    problems = []
    for table, count in before.counts.items():
        if table not in after.counts:
            problems.append(f"table {table} is missing")
        elif after.counts[table] != count and not (table in may_grow and after.counts[table] > count):
            problems.append(f"{table}: {count} rows before, {after.counts[table]} after")
    for key, total in before.totals.items():
        if key not in after.totals:
            if key.split(".")[0] in after.counts:
                problems.append(f"column {key} is missing")
        elif after.totals[key] != total:
            problems.append(f"{key}: total {total} before, {after.totals[key]} after")
    if not allow_new:
        problems += [f"table {table} is new" for table in after.counts if table not in before.counts]
        problems += [f"column {key} is new" for key in after.totals if key not in before.totals]
    for key, (next_value, _) in before.sequences.items():
        if key not in after.sequences:
            if key.split(".")[0] in after.counts:
                problems.append(f"sequence of {key} is missing")
        elif after.sequences[key][0] < next_value:
            problems.append(f"sequence of {key}: next value {next_value} before, {after.sequences[key][0]} after")
    already = set(colliding_sequences(before))
    problems += [
        f"sequence of {key} would hand out {after.sequences[key][0]}, but {after.sequences[key][1]} is taken"
        for key in colliding_sequences(after)
        if key not in already
    ]
    return problems


def colliding_sequences(snapshot):
    """Sequences whose next value is already taken in their column.

    In the CRM only the singleton settings rows (stored with the explicit id 1, their sequence
    never used) look like this; :func:`compare` only blames a restore for new ones.
    """
    return [
        key
        for key, (next_value, largest) in snapshot.sequences.items()
        if largest is not None and next_value <= largest
    ]


def _run(command, db, what):
    started = time.monotonic()
    result = subprocess.run(command, env=db.client_env(), capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"{what} failed ({result.returncode}): {result.stderr.strip()[-2000:]}")
    return time.monotonic() - started


def dump(db, path, *, snapshot_id=None):
    """``pg_dump -Fc`` of ``db`` into ``path``; returns the seconds it took."""
    command = [client_tools()["pg_dump"], "-Fc", "-f", str(path), *db.client_args()]
    if snapshot_id:
        command += ["--snapshot", snapshot_id]
    return _run(command + ["-d", db.name], db, f"pg_dump of {db.name}")


def restore(path, db, *, jobs=1):
    """``pg_restore`` of ``path`` into the (empty) database ``db``; returns the seconds it took.

    One job restores in a single transaction (all or nothing, and faster for small dumps: one
    commit instead of one per object); more jobs restore tables and indexes in parallel.
    """
    parallel = ["-j", str(jobs)] if jobs > 1 else ["--single-transaction"]
    command = [client_tools()["pg_restore"], "--exit-on-error", *parallel, *db.client_args(), "-d", db.name, str(path)]
    return _run(command, db, f"pg_restore into {db.name}")


@contextmanager
def _maintenance_cursor(db):
    """An autocommit cursor on the server's ``postgres`` database (CREATE/DROP DATABASE cannot
    run in a transaction, nor in the database they act on)."""
    connection = db.connect(name="postgres")
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            yield cursor
    finally:
        connection.close()


def _drop(cursor, name):
    from psycopg2 import sql

    force = " WITH (FORCE)" if cursor.connection.server_version >= 130000 else ""
    cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {}" + force).format(sql.Identifier(name)))


def create_database(db, *, like):
    """Create the empty database ``db`` with the encoding and locale of ``like``, from template0
    (never a copy of a live database: others may be connected to it). A leftover of the same
    name from an interrupted run is dropped first."""
    from psycopg2 import sql

    if db.name == like.name:
        raise BackupError(f"refusing to recreate the source database {like.name}")
    with _maintenance_cursor(db) as cursor:
        cursor.execute(
            "SELECT pg_encoding_to_char(encoding), datcollate, datctype FROM pg_database WHERE datname = %s",
            [like.name],
        )
        encoding, collate, ctype = cursor.fetchone()
        _drop(cursor, db.name)
        cursor.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING %s LC_COLLATE %s LC_CTYPE %s").format(
                sql.Identifier(db.name)
            ),
            [encoding, collate, ctype],
        )


def drop_database(db, *, keep=()):
    """Drop a scratch database (never one named in ``keep``, such as the source)."""
    if db.name in keep:
        raise BackupError(f"refusing to drop {db.name}")
    with _maintenance_cursor(db) as cursor:
        _drop(cursor, db.name)


@dataclass
class RoundTrip:
    before: Snapshot  # the source, as dumped
    after: Snapshot = None  # the restored copy
    dump_bytes: int = 0
    dump_seconds: float = 0.0
    restore_seconds: float = 0.0
    check_seconds: float = 0.0  # reading the snapshots

    @property
    def problems(self):
        return compare(self.before, self.after)


def copy_database(source, target, path, *, jobs=1):
    """Dump ``source`` to ``path`` and restore it into the new database ``target``, which stays.

    Only reads ``source``. Returns a :class:`RoundTrip` without ``after``; the caller drops
    ``target`` (also when this fails half-way).
    """
    if target.name == source.name:
        raise BackupError("the copy must not be the source database")
    started = time.monotonic()
    with exported_snapshot(source) as (snapshot_id, before):
        result = RoundTrip(before=before, check_seconds=time.monotonic() - started)
        result.dump_seconds = dump(source, path, snapshot_id=snapshot_id)
    result.dump_bytes = os.path.getsize(path)
    create_database(target, like=source)
    result.restore_seconds = restore(path, target, jobs=jobs)
    return result


def round_trip(source, scratch, path, *, jobs=1):
    """Dump ``source`` to ``path``, restore it into the new database ``scratch``, snapshot both.

    The scratch database is dropped afterwards (also when a step fails).
    """
    try:
        result = copy_database(source, scratch, path, jobs=jobs)
        started = time.monotonic()
        result.after = snapshot_of(scratch)
        result.check_seconds += time.monotonic() - started
    finally:
        if scratch.name != source.name:
            drop_database(scratch, keep={source.name})
    return result
