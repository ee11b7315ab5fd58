"""The table of sold lines (:class:`~catalog.models.SoldLine`): one row per order line with the
columns of its order and customer that the 经营分析 and the policy effect group and scope by.

**Kept in step by the database.** Triggers on the order lines (insert, update, delete), the orders
(status, time, channel, customer) and the customers (owner, department, region) rewrite the rows
they touch in the same statement, on PostgreSQL and on SQLite alike, so every code path that writes
those tables — placing, editing or cancelling an order, a refund that cancels it, the import, a
hand-over of customers, a department move, merging customers, a plain ``QuerySet.update()`` or raw
SQL — keeps the table equal to a fresh join. The application never writes it, except
:func:`rebuild`.

**Never drifting.** :func:`ensure` (run after every ``migrate``) reinstalls the triggers and rebuilds
the table when a trigger is missing — SQLite drops a table's triggers when a migration remakes the
table. :func:`drift` counts the rows that differ from a fresh join, and ``manage.py
rebuild_sold_lines`` checks (``--check``) or rebuilds.

**Concurrency (PostgreSQL).** :func:`rebuild` takes an ``EXCLUSIVE`` lock on the table first: it
waits for the transactions whose triggers already wrote to it, so its ``INSERT … SELECT`` sees their
lines, and the triggers of later writers wait for it to commit, then upsert over its rows."""

from django.db import connections, transaction

TABLE = "catalog_soldline"
COLUMNS = (
    "id, order_id, customer_id, owner_id, department_id, status, placed_at, channel, region_province, "
    "region_city, sku, category, quantity, price, cost, policy_id, policy_name, policy_price"
)
TRIGGERS = (
    ("customers_orderline", "catalog_soldline_line_insert"),
    ("customers_orderline", "catalog_soldline_line_update"),
    ("customers_orderline", "catalog_soldline_line_delete"),
    ("customers_order", "catalog_soldline_order"),
    ("customers_customer", "catalog_soldline_customer"),
)


def _select(line: str, where: str) -> str:
    """The sold-line columns of order line ``line`` (an alias, or ``NEW``), joined to its order
    and customer."""
    return (
        f"SELECT {line}.id, o.id, c.id, c.owner_id, c.department_id, o.status, o.placed_at, o.channel, "
        f"c.region_province, c.region_city, {line}.sku, {line}.category, {line}.quantity, {line}.price, "
        f"{line}.cost, {line}.policy_id, {line}.policy_name, {line}.policy_price "
        f"FROM customers_order o JOIN customers_customer c ON c.id = o.customer_id WHERE {where}"
    )


FRESH = _select("l", "TRUE").replace(
    "FROM customers_order o", "FROM customers_orderline l JOIN customers_order o ON o.id = l.order_id"
)

_CUSTOMER_CHANGED = (
    "OLD.owner_id IS DISTINCT FROM NEW.owner_id OR OLD.department_id IS DISTINCT FROM NEW.department_id "
    "OR OLD.region_province IS DISTINCT FROM NEW.region_province OR OLD.region_city IS DISTINCT FROM NEW.region_city"
)

POSTGRESQL = [
    f"""
CREATE OR REPLACE FUNCTION catalog_soldline_from_line() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND NEW.id <> OLD.id) THEN
        DELETE FROM {TABLE} WHERE id = OLD.id;
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
    END IF;
    INSERT INTO {TABLE} ({COLUMNS})
    {_select("NEW", "o.id = NEW.order_id")}
    ON CONFLICT (id) DO UPDATE SET
        order_id = EXCLUDED.order_id, customer_id = EXCLUDED.customer_id, owner_id = EXCLUDED.owner_id,
        department_id = EXCLUDED.department_id, status = EXCLUDED.status, placed_at = EXCLUDED.placed_at,
        channel = EXCLUDED.channel, region_province = EXCLUDED.region_province,
        region_city = EXCLUDED.region_city, sku = EXCLUDED.sku, category = EXCLUDED.category,
        quantity = EXCLUDED.quantity, price = EXCLUDED.price, cost = EXCLUDED.cost,
        policy_id = EXCLUDED.policy_id, policy_name = EXCLUDED.policy_name, policy_price = EXCLUDED.policy_price;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql""",
    f"""
CREATE OR REPLACE FUNCTION catalog_soldline_from_order() RETURNS trigger AS $$
BEGIN
    UPDATE {TABLE} s
    SET status = NEW.status, placed_at = NEW.placed_at, channel = NEW.channel, customer_id = c.id,
        owner_id = c.owner_id, department_id = c.department_id,
        region_province = c.region_province, region_city = c.region_city
    FROM customers_customer c
    WHERE s.order_id = NEW.id AND c.id = NEW.customer_id;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql""",
    f"""
CREATE OR REPLACE FUNCTION catalog_soldline_from_customer() RETURNS trigger AS $$
BEGIN
    UPDATE {TABLE}
    SET owner_id = NEW.owner_id, department_id = NEW.department_id,
        region_province = NEW.region_province, region_city = NEW.region_city
    WHERE customer_id = NEW.id;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql""",
    *(f"DROP TRIGGER IF EXISTS {name} ON {table}" for table, name in TRIGGERS),
    """CREATE TRIGGER catalog_soldline_line_insert AFTER INSERT ON customers_orderline
    FOR EACH ROW EXECUTE FUNCTION catalog_soldline_from_line()""",
    """CREATE TRIGGER catalog_soldline_line_update AFTER UPDATE ON customers_orderline
    FOR EACH ROW EXECUTE FUNCTION catalog_soldline_from_line()""",
    """CREATE TRIGGER catalog_soldline_line_delete AFTER DELETE ON customers_orderline
    FOR EACH ROW EXECUTE FUNCTION catalog_soldline_from_line()""",
    """CREATE TRIGGER catalog_soldline_order AFTER UPDATE OF status, placed_at, channel, customer_id
    ON customers_order FOR EACH ROW EXECUTE FUNCTION catalog_soldline_from_order()""",
    f"""CREATE TRIGGER catalog_soldline_customer
    AFTER UPDATE OF owner_id, department_id, region_province, region_city ON customers_customer
    FOR EACH ROW WHEN ({_CUSTOMER_CHANGED}) EXECUTE FUNCTION catalog_soldline_from_customer()""",
]

_SQLITE_WRITE_NEW = f"""
    DELETE FROM {TABLE} WHERE id = NEW.id;
    INSERT INTO {TABLE} ({COLUMNS}) {_select("NEW", "o.id = NEW.order_id")};"""

SQLITE = [
    *(f"DROP TRIGGER IF EXISTS {name}" for _table, name in TRIGGERS),
    f"""CREATE TRIGGER catalog_soldline_line_insert AFTER INSERT ON customers_orderline
    FOR EACH ROW BEGIN {_SQLITE_WRITE_NEW}
    END""",
    f"""CREATE TRIGGER catalog_soldline_line_update AFTER UPDATE ON customers_orderline
    FOR EACH ROW BEGIN
    DELETE FROM {TABLE} WHERE id = OLD.id; {_SQLITE_WRITE_NEW}
    END""",
    f"""CREATE TRIGGER catalog_soldline_line_delete AFTER DELETE ON customers_orderline
    FOR EACH ROW BEGIN
    DELETE FROM {TABLE} WHERE id = OLD.id;
    END""",
    f"""CREATE TRIGGER catalog_soldline_order AFTER UPDATE OF status, placed_at, channel, customer_id
    ON customers_order FOR EACH ROW BEGIN
    UPDATE {TABLE} SET status = NEW.status, placed_at = NEW.placed_at, channel = NEW.channel,
        customer_id = NEW.customer_id,
        owner_id = (SELECT owner_id FROM customers_customer WHERE id = NEW.customer_id),
        department_id = (SELECT department_id FROM customers_customer WHERE id = NEW.customer_id),
        region_province = (SELECT region_province FROM customers_customer WHERE id = NEW.customer_id),
        region_city = (SELECT region_city FROM customers_customer WHERE id = NEW.customer_id)
    WHERE order_id = NEW.id;
    END""",
    f"""CREATE TRIGGER catalog_soldline_customer
    AFTER UPDATE OF owner_id, department_id, region_province, region_city ON customers_customer
    FOR EACH ROW WHEN {_CUSTOMER_CHANGED.replace("IS DISTINCT FROM", "IS NOT")} BEGIN
    UPDATE {TABLE} SET owner_id = NEW.owner_id, department_id = NEW.department_id,
        region_province = NEW.region_province, region_city = NEW.region_city
    WHERE customer_id = NEW.id;
    END""",
]

POSTGRESQL_DROP = [
    *(f"DROP TRIGGER IF EXISTS {name} ON {table}" for table, name in TRIGGERS),
    "DROP FUNCTION IF EXISTS catalog_soldline_from_line()",
    "DROP FUNCTION IF EXISTS catalog_soldline_from_order()",
    "DROP FUNCTION IF EXISTS catalog_soldline_from_customer()",
]
SQLITE_DROP = [f"DROP TRIGGER IF EXISTS {name}" for _table, name in TRIGGERS]


def _vendor_sql(connection, *, drop: bool = False, rollup_too: bool = True) -> list[str]:
    from . import rollup  # the closed months' roll-up is kept in step by triggers of its own

    if not rollup_too:  # (the migration that made the table, before the roll-up's tables existed)
        return {"postgresql": POSTGRESQL, "sqlite": SQLITE}[connection.vendor]
    if connection.vendor == "postgresql":
        return POSTGRESQL_DROP + rollup.postgresql_drop_sql() if drop else POSTGRESQL + rollup.postgresql_sql()
    if connection.vendor == "sqlite":
        return SQLITE_DROP + rollup.sqlite_drop_sql() if drop else SQLITE + rollup.sqlite_sql()
    raise NotImplementedError(f"no sold-line triggers for {connection.vendor}")


def _trigger_names(connection) -> list[str]:
    from . import rollup

    extra = rollup.TRIGGERS if connection.vendor == "postgresql" else rollup.SQLITE_TRIGGERS
    return [name for _table, name in (*TRIGGERS, *extra)]


def install(using: str = "default", *, rollup_too: bool = True) -> None:
    """Create (or replace) the triggers and fill the table from the order lines."""
    connection = connections[using]
    with transaction.atomic(using=using), connection.cursor() as cursor:
        for statement in _vendor_sql(connection, rollup_too=rollup_too):
            cursor.execute(statement)
    rebuild(using, rollup_too=rollup_too)


def uninstall(using: str = "default") -> None:
    connection = connections[using]
    with connection.cursor() as cursor:
        for statement in _vendor_sql(connection, drop=True):
            cursor.execute(statement)


def missing_triggers(using: str = "default") -> set[str]:
    connection = connections[using]
    names = _trigger_names(connection)
    marks = ", ".join(["%s"] * len(names))
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgname IN ({marks})", names)
        else:
            cursor.execute(f"SELECT name FROM sqlite_master WHERE type = 'trigger' AND name IN ({marks})", names)
        return set(names) - {row[0] for row in cursor.fetchall()}


def ensure(using: str = "default") -> bool:
    """Reinstall the triggers and rebuild the table if a trigger is missing; True when it did."""
    if not missing_triggers(using):
        return False
    install(using)
    return True


def rebuild(using: str = "default", *, rollup_too: bool = True) -> int:
    """Refill the table from a fresh join of the order lines, orders and customers; the row count."""
    connection = connections[using]
    with transaction.atomic(using=using), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"LOCK TABLE {TABLE} IN EXCLUSIVE MODE")
        cursor.execute(f"DELETE FROM {TABLE}")
        cursor.execute(f"INSERT INTO {TABLE} ({COLUMNS}) {FRESH}")
        written = cursor.rowcount
        if rollup_too:
            from . import rollup

            rollup.forget(cursor)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {TABLE}")
    return written


def drift(using: str = "default") -> int:
    """How many rows differ between the table and a fresh join (missing, stale or extra); 0 when in step."""
    with connections[using].cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT COUNT(*) FROM ({FRESH} EXCEPT SELECT {COLUMNS} FROM {TABLE}) a)"
            f" + (SELECT COUNT(*) FROM (SELECT {COLUMNS} FROM {TABLE} EXCEPT {FRESH}) b)"
        )
        return cursor.fetchone()[0]
