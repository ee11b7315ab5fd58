"""The benchmark's data: create the database if needed, load the demo set once, or refuse.

The benchmark never adds 100,000 customers to a database that already holds other data (such as
the small demo set of ``make run``): it asks for a separate database instead.
"""

import importlib
import os
import time

LARGE_DATABASE_HINT = "postgres://postgres@127.0.0.1:5432/crm_bench"
#: a database with at least this many customers (and the demo users) holds the large demo set
LARGE_CUSTOMERS = 100_000


class DatasetError(Exception):
    """The database cannot be used for the benchmark; the message says what to do."""


def ensure_postgres_database():
    """Create the PostgreSQL database named in ``DATABASE_URL`` if it does not exist yet.

    Runs before Django is set up. Returns the name of a database it created, else ``None``.
    """
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://", "pgsql://")):
        return None
    import dj_database_url
    import psycopg2
    from psycopg2 import sql

    config = dj_database_url.parse(url)
    name = config["NAME"]
    params = {
        "dbname": "postgres",
        "user": config.get("USER") or None,
        "password": config.get("PASSWORD") or None,
        "host": config.get("HOST") or None,
        "port": config.get("PORT") or None,
    }
    try:
        connection = psycopg2.connect(**{key: value for key, value in params.items() if value})
    except psycopg2.OperationalError as exc:
        raise DatasetError(f"Cannot connect to PostgreSQL ({url}): {exc}".strip()) from exc
    try:
        connection.autocommit = True  # CREATE DATABASE cannot run in a transaction
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone():
                return None
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            return name
    finally:
        connection.close()


def describe_database():
    from django.db import connection

    settings_dict = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"SQLite {settings_dict['NAME']}"
    host = settings_dict.get("HOST") or "localhost"
    port = settings_dict.get("PORT") or ""
    return f"{connection.vendor} {host}{':' + str(port) if port else ''}/{settings_dict['NAME']}"


def detect_size():
    """``None`` for an empty database, else ``"large"``, ``"small"`` or ``"other"``."""
    from django.db import connection

    from crm.models import User
    from customers.models import Customer

    tables = set(connection.introspection.table_names())
    if Customer._meta.db_table not in tables or User._meta.db_table not in tables:
        return None
    customers = Customer.objects.count()
    users = User.objects.count()
    if customers == 0 and users == 0:
        return None
    if not User.objects.filter(username="admin").exists():
        return "other"
    if customers >= LARGE_CUSTOMERS:
        return "large"
    return "small"


def check_seed(seed):
    """Whether the loaded demo set was generated with ``seed`` (its first mobile number says so)."""
    from crm.demo import DemoContext
    from customers.models import Customer

    first = Customer.objects.order_by("id").values_list("mobile", flat=True).first()
    return first == DemoContext(size="small", seed=seed).mobile(0)


def prepare(*, size, seed, log=print):
    """Make sure the database holds the ``size`` demo set. Returns a description of what was done."""
    from django.core.management import call_command
    from django.db import connection

    where = describe_database()
    found = detect_size()
    if found is None:
        log(f"Empty database ({where}): migrating and loading the {size} demo set (seed {seed}) ...")
        started = time.monotonic()
        call_command("migrate", interactive=False, verbosity=0)
        migrate_seconds = time.monotonic() - started
        started = time.monotonic()
        call_command("seed_demo", size=size, seed=seed)
        if size == "large":  # the large set's 30,000 contracts (bench/contracts.py)
            importlib.import_module("bench.contracts").ensure(log=log)
        seed_seconds = time.monotonic() - started
        analyze_seconds = 0.0
        if connection.vendor == "postgresql":
            # What autovacuum would do soon after the load; without it the first plans use no statistics.
            started = time.monotonic()
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")
            analyze_seconds = time.monotonic() - started
        log(f"Loaded in {seed_seconds:.1f}s (migrate {migrate_seconds:.1f}s, VACUUM ANALYZE {analyze_seconds:.1f}s).")
        return {
            "action": "seeded",
            "migrate_seconds": round(migrate_seconds, 2),
            "seed_seconds": round(seed_seconds, 2),
            "analyze_seconds": round(analyze_seconds, 2),
        }
    if found != size:
        if found == "other":
            what = "data that is not the demo set"
        else:
            what = f"the {found} demo set"
        if size == "large":
            command = f"DATABASE_URL={LARGE_DATABASE_HINT} make bench"
        else:
            command = f"DATABASE_URL={LARGE_DATABASE_HINT}_{size} .venv/bin/python -m bench --size {size}"
        raise DatasetError(
            f"The database {where} already holds {what}; the benchmark needs the {size} demo set and "
            f"will not load it on top of existing data.\n"
            f"Point DATABASE_URL at a separate database (a PostgreSQL one is created if missing), e.g.:\n\n"
            f"    {command}\n"
        )
    # Same data set as asked: keep it, but apply migrations that other apps added since.
    call_command("migrate", interactive=False, verbosity=0)
    if size == "large":
        importlib.import_module("bench.contracts").ensure(log=log)
    if not check_seed(seed):
        log(f"Warning: the {size} demo set in {where} was not generated with seed {seed}.")
    log(f"Reusing the {size} demo set already in {where}.")
    return {"action": "reused"}


def row_counts():
    """Row counts of every model of the project's own apps (not third-party ones)."""
    from django.apps import apps
    from django.conf import settings

    base = str(settings.BASE_DIR)
    counts = {}
    for config in apps.get_app_configs():
        if not config.path.startswith(base) or os.sep + ".venv" + os.sep in config.path:
            continue
        for model in config.get_models():
            counts[model._meta.label] = model._default_manager.count()
    return counts
