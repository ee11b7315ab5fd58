"""The roll-up of closed periods: the figures of the 经营分析 and the policy effect counted once per
closed month — and, within the current month, per closed day — per department and key
(:class:`~catalog.models.SoldRollup`), so a director's or a manager's year reads summed rows plus
today's lines instead of every line of the year.

**Exact, not approximate.** Every line of an order has the order's month and its customer's
department, so an order falls in exactly one (month, department) cell: adding up the cells' order
counts (distinct orders within a cell) gives the distinct orders of any set of months and
departments, for each key of a dimension (product, category, channel, province, city, policy, under
a policy or not) and for the total (the ``month`` dimension, one row per cell). The same holds for
days.

**Never stale.** The database bumps :class:`~catalog.models.SoldMonth` ``version`` of a closed month
and of a closed day whenever a sold line of it is written (a refund, a late edit, a hand-over moving
a customer's department), and of every period when a SKU or product moves (the product and category
keys come from the catalogue). :func:`fresh_periods` rolls the periods whose ``rolled`` version is
behind, in a bounded number of statements, before the figures are read. Today is never rolled up (it
changes all day): it is counted from the lines, as are periods that closed less than :data:`SETTLE`
ago (a transaction that began before midnight may still commit lines in them).

**Concurrency (PostgreSQL).** Writers bump a closed period's row inside their transaction (the
triggers run at the end of each statement, in month order). A roll takes ``FOR UPDATE`` on the
periods it rolls: it waits for the writers that bumped them to commit, then counts with a snapshot
that includes them, and records the version it saw. A writer that comes later waits for the roll
to commit and bumps the version again, so its change is rolled the next time."""

import datetime
import zoneinfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from .models import SoldMonth, SoldRollup

LINES = "catalog_soldline"
MONTHS = "catalog_soldmonth"
ROLLUP = "catalog_soldrollup"
#: a month is rolled up once it has been closed this long
SETTLE = datetime.timedelta(hours=1)
DIMS = ("product", "category", "channel", "province", "city", "month", "policy", "under")

TRIGGERS = (
    (LINES, "catalog_soldmonth_lines_insert"),
    (LINES, "catalog_soldmonth_lines_update"),
    (LINES, "catalog_soldmonth_lines_delete"),
    ("catalog_sku", "catalog_soldmonth_sku"),
    ("catalog_product", "catalog_soldmonth_product"),
)


def _pg_month(column: str) -> str:
    return f"(date_trunc('month', {column} AT TIME ZONE '{settings.TIME_ZONE}'))::date"


def _pg_day(column: str) -> str:
    return f"({column} AT TIME ZONE '{settings.TIME_ZONE}')::date"


def _sqlite_offset() -> str:
    """The time zone's offset as an SQLite date modifier (a zone without summer time, such as
    Asia/Shanghai, has one offset all year)."""
    offset = datetime.datetime.now(zoneinfo.ZoneInfo(settings.TIME_ZONE)).utcoffset()
    minutes = int(offset.total_seconds() // 60)
    return f"{'+' if minutes >= 0 else '-'}{abs(minutes)} minutes"


def _sqlite_day(column: str) -> str:
    return f"date({column}, '{_sqlite_offset()}')"


def _sqlite_month(column: str, *, escaped: bool = False) -> str:
    """The local month of ``column`` (``escaped``: in a statement with parameters)."""
    pattern = "%%Y-%%m-01" if escaped else "%Y-%m-01"
    return f"strftime('{pattern}', {column}, '{_sqlite_offset()}')"


def _bump_sql(rows: str) -> str:
    """Bump the closed months and days of the sold lines in transition table ``rows`` (PostgreSQL)."""
    tz = settings.TIME_ZONE
    month_closed = f"(date_trunc('month', now() AT TIME ZONE '{tz}') AT TIME ZONE '{tz}')"
    day_closed = f"(date_trunc('day', now() AT TIME ZONE '{tz}') AT TIME ZONE '{tz}')"
    return (
        f"INSERT INTO {MONTHS} (grain, start, version, rolled) "
        f"SELECT grain, start, 1, -1 FROM ("
        f"SELECT DISTINCT 'm' AS grain, {_pg_month('placed_at')} AS start FROM {rows} WHERE placed_at < {month_closed} "
        f"UNION SELECT DISTINCT 'd', {_pg_day('placed_at')} FROM {rows} WHERE placed_at < {day_closed}"
        f") periods ORDER BY 1, 2 ON CONFLICT (grain, start) DO UPDATE SET version = {MONTHS}.version + 1;"
    )


def postgresql_sql() -> list[str]:
    return [
        f"""
CREATE OR REPLACE FUNCTION catalog_soldmonth_from_lines() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        {_bump_sql("changed_old")}
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        {_bump_sql("changed_new")}
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql""",
        f"""
CREATE OR REPLACE FUNCTION catalog_soldmonth_from_catalogue() RETURNS trigger AS $$
BEGIN
    UPDATE {MONTHS} SET version = version + 1;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql""",
        *(f"DROP TRIGGER IF EXISTS {name} ON {table}" for table, name in TRIGGERS),
        f"""CREATE TRIGGER catalog_soldmonth_lines_insert AFTER INSERT ON {LINES}
        REFERENCING NEW TABLE AS changed_new FOR EACH STATEMENT EXECUTE FUNCTION catalog_soldmonth_from_lines()""",
        f"""CREATE TRIGGER catalog_soldmonth_lines_update AFTER UPDATE ON {LINES}
        REFERENCING OLD TABLE AS changed_old NEW TABLE AS changed_new
        FOR EACH STATEMENT EXECUTE FUNCTION catalog_soldmonth_from_lines()""",
        f"""CREATE TRIGGER catalog_soldmonth_lines_delete AFTER DELETE ON {LINES}
        REFERENCING OLD TABLE AS changed_old FOR EACH STATEMENT EXECUTE FUNCTION catalog_soldmonth_from_lines()""",
        """CREATE TRIGGER catalog_soldmonth_sku AFTER INSERT OR DELETE OR UPDATE OF code, product_id
        ON catalog_sku FOR EACH STATEMENT EXECUTE FUNCTION catalog_soldmonth_from_catalogue()""",
        """CREATE TRIGGER catalog_soldmonth_product AFTER DELETE OR UPDATE OF category_id
        ON catalog_product FOR EACH STATEMENT EXECUTE FUNCTION catalog_soldmonth_from_catalogue()""",
    ]


def postgresql_drop_sql() -> list[str]:
    return [
        *(f"DROP TRIGGER IF EXISTS {name} ON {table}" for table, name in TRIGGERS),
        "DROP FUNCTION IF EXISTS catalog_soldmonth_from_lines()",
        "DROP FUNCTION IF EXISTS catalog_soldmonth_from_catalogue()",
    ]


def _sqlite_bump(row: str) -> str:
    return "".join(
        f"INSERT INTO {MONTHS} (grain, start, version, rolled) VALUES ('{grain}', {start}, 1, -1) "
        f"ON CONFLICT (grain, start) DO UPDATE SET version = version + 1;"
        for grain, start in (("m", _sqlite_month(row + ".placed_at")), ("d", _sqlite_day(row + ".placed_at")))
    )


def sqlite_sql() -> list[str]:
    bump_all = f"UPDATE {MONTHS} SET version = version + 1;"
    return [
        *(f"DROP TRIGGER IF EXISTS {name}" for _table, name in SQLITE_TRIGGERS),
        f"CREATE TRIGGER catalog_soldmonth_lines_insert AFTER INSERT ON {LINES} FOR EACH ROW "
        f"BEGIN {_sqlite_bump('NEW')} END",
        f"CREATE TRIGGER catalog_soldmonth_lines_update AFTER UPDATE ON {LINES} FOR EACH ROW "
        f"BEGIN {_sqlite_bump('OLD')} {_sqlite_bump('NEW')} END",
        f"CREATE TRIGGER catalog_soldmonth_lines_delete AFTER DELETE ON {LINES} FOR EACH ROW "
        f"BEGIN {_sqlite_bump('OLD')} END",
        f"CREATE TRIGGER catalog_soldmonth_sku AFTER UPDATE OF code, product_id ON catalog_sku FOR EACH ROW "
        f"BEGIN {bump_all} END",
        f"CREATE TRIGGER catalog_soldmonth_sku_insert AFTER INSERT ON catalog_sku FOR EACH ROW BEGIN {bump_all} END",
        f"CREATE TRIGGER catalog_soldmonth_sku_delete AFTER DELETE ON catalog_sku FOR EACH ROW BEGIN {bump_all} END",
        f"CREATE TRIGGER catalog_soldmonth_product AFTER UPDATE OF category_id ON catalog_product FOR EACH ROW "
        f"BEGIN {bump_all} END",
        f"CREATE TRIGGER catalog_soldmonth_product_delete AFTER DELETE ON catalog_product FOR EACH ROW "
        f"BEGIN {bump_all} END",
    ]


SQLITE_TRIGGERS = (
    *TRIGGERS,
    ("catalog_sku", "catalog_soldmonth_sku_insert"),
    ("catalog_sku", "catalog_soldmonth_sku_delete"),
    ("catalog_product", "catalog_soldmonth_product_delete"),
)


def sqlite_drop_sql() -> list[str]:
    return [f"DROP TRIGGER IF EXISTS {name}" for _table, name in SQLITE_TRIGGERS]


def forget(cursor) -> None:
    """Empty the roll-up (after a rebuild of the sold lines): every month is rolled again when read."""
    cursor.execute(f"DELETE FROM {ROLLUP}")
    cursor.execute(f"DELETE FROM {MONTHS}")


# ---------------------------------------------------------------------------------------------
# Rolling


def _month_start(day: datetime.date) -> datetime.datetime:
    return datetime.datetime(day.year, day.month, 1, tzinfo=timezone.get_current_timezone())


def _next_month(day: datetime.date) -> datetime.date:
    return datetime.date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def month_end(month: datetime.date) -> datetime.datetime:
    """When ``month`` ends (the next month's first moment, local time)."""
    return _month_start(_next_month(month))


def _day_start(day: datetime.date) -> datetime.datetime:
    return datetime.datetime(day.year, day.month, day.day, tzinfo=timezone.get_current_timezone())


def closed_months(year: int, *, now: datetime.datetime | None = None) -> list[datetime.date]:
    """The months of ``year`` that closed at least :data:`SETTLE` ago (the roll-up holds them)."""
    now = now or timezone.now()
    months = []
    for number in range(1, 13):
        month = datetime.date(year, number, 1)
        if month_end(month) + SETTLE <= now:
            months.append(month)
    return months


class Periods:
    """The rolled-up periods of a year: its closed months, then the closed days after them (within
    the year); ``live_from`` is where the lines take over (today, or a period not settled yet)."""

    def __init__(self, year: int, *, now: datetime.datetime | None = None):
        now = now or timezone.now()
        self.months = closed_months(year, now=now)
        first_day = _next_month(self.months[-1]) if self.months else datetime.date(year, 1, 1)
        self.days = []
        day = first_day
        while day.year == year and _day_start(day + datetime.timedelta(days=1)) + SETTLE <= now:
            self.days.append(day)
            day += datetime.timedelta(days=1)
        self.live_from = _day_start(day) if day.year == year else _day_start(datetime.date(year + 1, 1, 1))

    def __bool__(self) -> bool:
        return bool(self.months or self.days)

    def q(self) -> Q:
        """The rows of these periods (in the state table or the roll-up)."""
        q = Q()
        for grain, dates in (("m", self.months), ("d", self.days)):
            if dates:
                q |= Q(grain=grain, start__in=dates)
        return q

    def keys(self) -> list[tuple[str, datetime.date]]:
        return [("m", m) for m in self.months] + [("d", d) for d in self.days]


def _roll_sql(vendor: str, grain: str, periods: list[datetime.date]) -> tuple[str, list]:
    """One ``INSERT … SELECT`` that counts every dimension of ``periods`` (months or days) from the
    sold lines."""
    if grain == "m":
        period = _pg_month("s.placed_at") if vendor == "postgresql" else _sqlite_month("s.placed_at", escaped=True)
        start, end = _month_start(periods[0]), _month_start(_next_month(periods[-1]))
    else:
        period = _pg_day("s.placed_at") if vendor == "postgresql" else _sqlite_day("s.placed_at")
        start, end = _day_start(periods[0]), _day_start(periods[-1] + datetime.timedelta(days=1))
    marks = ", ".join(["%s"] * len(periods))
    sums = (
        "COUNT(DISTINCT order_id), SUM(quantity), SUM(price * quantity), "
        "SUM(CASE WHEN cost IS NOT NULL THEN price * quantity ELSE 0 END), "
        "SUM(CASE WHEN cost IS NOT NULL THEN cost * quantity ELSE 0 END)"
    )

    def text(column):
        return f"COALESCE(CAST({column} AS TEXT), '')"

    under = "CASE WHEN policy_id IS NULL THEN '0' ELSE '1' END"
    groups = [
        ("product", text("product_id"), "''", "", "product_id"),
        ("category", text("category_id"), "''", "", "category_id"),
        ("channel", "channel", "''", "", "channel"),
        ("province", "region_province", "''", "", "region_province"),
        ("city", "region_city", "''", "", "region_city"),
        ("month", "''", "''", "", ""),
        ("policy", text("policy_id"), "MAX(policy_name)", "WHERE policy_price IS NOT NULL", "policy_id"),
        ("under", under, "''", "WHERE policy_price IS NOT NULL", under),
    ]
    selects = " UNION ALL ".join(
        f"SELECT '{dim}', '{grain}', start, department_id, {key}, {name}, {sums} FROM l {where} "
        f"GROUP BY start, department_id{', ' + group if group else ''}"
        for dim, key, name, where, group in groups
    )
    sql = (
        f"INSERT INTO {ROLLUP} (dim, grain, start, department_id, key, name, orders, qty, gmv, costed_gmv, cost) "
        f"WITH l AS ("
        f"SELECT {period} AS start, s.order_id, s.department_id, s.channel, s.region_province, s.region_city, "
        f"p.id AS product_id, p.category_id, s.quantity, s.price, s.cost, s.policy_id, s.policy_name, "
        f"s.policy_price FROM {LINES} s LEFT JOIN catalog_sku k ON k.code = s.sku "
        f"LEFT JOIN catalog_product p ON p.id = k.product_id "
        f"WHERE s.status = 'paid' AND s.placed_at >= %s AND s.placed_at < %s AND {period} IN ({marks})"
        f") {selects}"
    )
    if vendor == "sqlite":
        # SQLite compares text: the bounds as Django stores a time (UTC, "YYYY-MM-DD HH:MM:SS"), not
        # as a local time with its offset ("… 00:00:00+08:00" sorts after the first eight hours of
        # the day stored in UTC and left them out), and the periods as ISO dates
        bounds = [connection.ops.adapt_datetimefield_value(moment) for moment in (start, end)]
        return sql, [*bounds, *(m.isoformat() for m in periods)]
    return sql, [start, end, *periods]


def _as_date(value) -> datetime.date:
    return datetime.date.fromisoformat(value) if isinstance(value, str) else value


def fresh_periods(periods: Periods) -> None:
    """Make sure the roll-up holds ``periods`` as they are now: roll those that are missing or
    behind, all in one pass (six statements at most, whatever their number)."""
    wanted = periods.keys()
    if not wanted:
        return
    q = periods.q()
    known = {
        (g, d): (version, rolled)
        for g, d, version, rolled in SoldMonth.objects.filter(q).values_list("grain", "start", "version", "rolled")
    }
    stale = [key for key in wanted if key not in known or known[key][0] != known[key][1]]
    if not stale:
        return
    vendor = connection.vendor

    def param(day):
        return day.isoformat() if vendor == "sqlite" else day

    where = " OR ".join(["(grain = %s AND start = %s)"] * len(stale))
    params = [value for grain, day in stale for value in (grain, param(day))]
    with transaction.atomic(), connection.cursor() as cursor:
        values = ", ".join(["(%s, %s, 0, -1)"] * len(stale))
        cursor.execute(
            f"INSERT INTO {MONTHS} (grain, start, version, rolled) VALUES {values} "
            f"ON CONFLICT (grain, start) DO NOTHING",
            params,
        )
        lock = " FOR UPDATE" if vendor == "postgresql" else ""
        cursor.execute(
            f"SELECT grain, start, version, rolled FROM {MONTHS} WHERE {where} ORDER BY grain, start{lock}", params
        )
        todo = sorted((grain, _as_date(day)) for grain, day, version, rolled in cursor.fetchall() if version != rolled)
        if not todo:
            return
        where = " OR ".join(["(grain = %s AND start = %s)"] * len(todo))
        params = [value for grain, day in todo for value in (grain, param(day))]
        cursor.execute(f"DELETE FROM {ROLLUP} WHERE {where}", params)
        for grain in ("m", "d"):
            dates = [day for g, day in todo if g == grain]
            if dates:
                sql, sql_params = _roll_sql(vendor, grain, dates)
                cursor.execute(sql, sql_params)
        cursor.execute(f"UPDATE {MONTHS} SET rolled = version WHERE {where}", params)


def rollup_rows(*, dim: str, periods: Periods, departments: list[int] | None):
    """The roll-up's rows of ``dim`` for ``periods`` (fresh), of ``departments`` (``None``: all)."""
    rows = SoldRollup.objects.filter(periods.q(), dim=dim)
    if departments is not None:
        rows = rows.filter(department_id__in=departments)
    return rows
