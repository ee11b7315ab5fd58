"""政策及效果统计 and 经营分析: what was sold, read from the order lines of paid orders in the
user's data scope (a rep: their customers' orders; a manager: their departments').

**Figures.** GMV is Σ unit price charged × quantity; cost is Σ the line's unit cost × quantity
(catalogue lines carry the SKU's cost); margin is GMV − cost over the lines whose cost is known
(the catalogue's), so a line outside the catalogue adds to GMV and to the order count only.
An order counts once per group, however many of its lines fall in it. Months are calendar
months in Asia/Shanghai.

**Policy effect** compares, per month, the catalogue lines sold under each sales policy against
those sold under none (at the list price); lines outside the catalogue are left out.

Each page costs one grouped query whatever the data size (plus one for labels): the groups and the
total (or, for the policy effect, the policies and the months) come from one pass over the lines
(``GROUPING SETS``), and a line's product and category are joined by its SKU code once rather than
looked up line by line."""

import datetime

from django.db import connections
from django.db.models import F, QuerySet
from django.db.models.functions import TruncMonth
from django.utils import timezone

from crm import permissions
from customers import regions
from customers.models import Order, OrderLine

from .models import Category, Product, Sku, SoldLine

DIMENSIONS = ("product", "category", "channel", "province", "city", "month")


def order_lines_for(user) -> QuerySet:
    """The lines of paid orders whose customer is in ``user``'s data scope (none without the role)."""
    if not permissions.can(user, "catalog.analysis"):
        return OrderLine.objects.none()
    scope = permissions.scope_q(
        user, owner_field="order__customer__owner", department_field="order__customer__department"
    )
    return OrderLine.objects.filter(scope, order__status=Order.Status.PAID)


def sold_lines_for(user) -> QuerySet:
    """The same lines as :func:`order_lines_for`, read from :class:`~catalog.models.SoldLine` (one
    row per line with its order's and customer's columns): what the figures are counted from."""
    if not permissions.can(user, "catalog.analysis"):
        return SoldLine.objects.none()
    scope = permissions.scope_q(user, owner_field="owner", department_field="department")
    return SoldLine.objects.filter(scope, status=Order.Status.PAID)


def _sold_in_year(lines: QuerySet, year: int) -> QuerySet:
    start, end = year_bounds(year)
    return lines.filter(placed_at__gte=start, placed_at__lt=end)


def year_bounds(year: int) -> tuple[datetime.datetime, datetime.datetime]:
    tz = timezone.get_current_timezone()
    return (
        datetime.datetime(year, 1, 1, tzinfo=tz),
        datetime.datetime(year + 1, 1, 1, tzinfo=tz),
    )


def in_year(lines: QuerySet, year: int) -> QuerySet:
    start, end = year_bounds(year)
    return lines.filter(order__placed_at__gte=start, order__placed_at__lt=end)


def _figures(row: dict) -> dict:
    gmv = row.get("gmv") or 0
    costed = row.get("costed_gmv") or 0
    cost = row.get("cost") or 0
    margin = costed - cost
    return {
        "orders": row.get("orders") or 0,
        "quantity": row.get("qty") or 0,
        "gmv": gmv,
        "margin": margin,
        "margin_rate": round(margin * 100 / costed, 1) if costed else None,
    }


#: the columns every grouped pass reads from the lines, named apart from the model's fields
_LINE_COLUMNS = {"a_order": F("order_id"), "a_qty": F("quantity"), "a_price": F("price"), "a_cost": F("cost")}
_SUMS_SQL = """COUNT(DISTINCT t.a_order) AS orders, SUM(t.a_qty) AS qty,
    COALESCE(SUM(t.a_price * t.a_qty), 0) AS gmv,
    COALESCE(SUM(t.a_price * t.a_qty) FILTER (WHERE t.a_cost IS NOT NULL), 0) AS costed_gmv,
    COALESCE(SUM(t.a_cost * t.a_qty), 0) AS cost"""


def _grouped(lines: QuerySet, *, keys: dict, sets: list[tuple[str, ...]], joins: str = "", extra: str = "") -> list:
    """One pass over ``lines``: the figures (orders, quantity, GMV, costed GMV, cost) per grouping set of ``keys`` (names →
    SQL over the derived table ``t`` and the ``joins``), each row a dict with the keys, the figures
    and ``grouping`` (the bit mask of SQL ``GROUPING()`` over the keys: which keys a row sums over)."""
    if lines.query.is_empty():
        return []
    inner = lines.annotate(**_LINE_COLUMNS).values(*lines.query.annotation_select, *_LINE_COLUMNS).order_by()
    sql, params = inner.query.sql_with_params()
    names = list(keys)
    select = ", ".join(f"{expr} AS {name}" for name, expr in keys.items())
    grouping = f"GROUPING({', '.join(keys.values())}) AS grouping"
    group_sets = ", ".join("(" + ", ".join(keys[name] for name in group) + ")" for group in sets)
    query = (
        f"SELECT {select}, {grouping}, {_SUMS_SQL}{extra} FROM ({sql}) t {joins} GROUP BY GROUPING SETS ({group_sets})"
    )
    with connections[lines.db].cursor() as cursor:
        cursor.execute(query, params)
        columns = [c[0] for c in cursor.description]
        rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    for row in rows:
        # bit i (from the left) of GROUPING() is set when the i-th key is summed over
        row["over"] = {name for i, name in enumerate(names) if row["grouping"] & (1 << (len(names) - 1 - i))}
    return rows


def _local(moment: datetime.datetime) -> datetime.datetime:
    """A month's start as read back from SQL: already local time when the database gives it naive."""
    return moment if timezone.is_naive(moment) else timezone.localtime(moment)


def policy_effect(user, *, year: int) -> dict:
    """Per policy and against none, for ``year``: ``policies`` (one row per policy: id, name and
    figures), ``none`` (the list-price lines), ``months`` (1–12: figures under any policy and under
    none)."""
    lines = _sold_in_year(sold_lines_for(user), year).filter(policy_price__isnull=False)
    lines = lines.annotate(a_policy=F("policy_id"), a_name=F("policy_name"), a_month=TruncMonth("placed_at"))
    rows = _grouped(
        lines,
        keys={"policy_id": "t.a_policy", "month": "t.a_month", "under": "(t.a_policy IS NOT NULL)"},
        sets=[("policy_id",), ("month", "under")],
        extra=", MAX(t.a_name) AS name",
    )
    policies = []
    none = _figures({})
    months = {m: {"month": m, "policy": _figures({}), "none": _figures({})} for m in range(1, 13)}
    for row in rows:
        if "policy_id" not in row["over"]:
            if row["policy_id"] is None:
                none = _figures(row)
            else:
                policies.append({"id": row["policy_id"], "name": row["name"], **_figures(row)})
        else:
            month = _local(row["month"]).month
            months[month]["policy" if row["under"] else "none"] = _figures(row)
    policies.sort(key=lambda p: (-p["gmv"], p["id"]))
    return {"year": year, "policies": policies, "none": none, "months": list(months.values())}


def _label_products(ids) -> dict:
    return {
        pk: f"{code} {name}" for pk, code, name in Product.objects.filter(pk__in=ids).values_list("pk", "code", "name")
    }


def _label_categories(ids) -> dict:
    return dict(Category.objects.filter(pk__in=ids).values_list("pk", "name"))


def business_analysis(user, *, year: int, by: str = "product") -> dict:
    """经营分析: GMV, margin and order count of ``year`` grouped ``by`` product, category, channel,
    province, city or month; ``rows`` (key, label, figures) largest GMV first (months in order) and
    ``total``."""
    if by not in DIMENSIONS:
        by = "product"
    lines = _sold_in_year(sold_lines_for(user), year)
    joins = ""
    if by in ("product", "category"):
        grouped = lines.annotate(a_key=F("sku"))
        # SKU codes are unique: a line joins at most one SKU (none outside the catalogue)
        joins = f"LEFT JOIN {Sku._meta.db_table} s ON s.code = t.a_key"
        if by == "product":
            key = "s.product_id"
        else:
            joins += f" LEFT JOIN {Product._meta.db_table} p ON p.id = s.product_id"
            key = "p.category_id"
    else:
        grouped = lines.annotate(
            a_key={
                "channel": F("channel"),
                "province": F("region_province"),
                "city": F("region_city"),
                "month": TruncMonth("placed_at"),
            }[by]
        )
        key = "t.a_key"
    rows, total = [], {}
    for row in _grouped(grouped, keys={"key": key}, sets=[("key",), ()], joins=joins):
        if "key" in row["over"]:
            total = row
        else:
            rows.append(row)
    keys = [row["key"] for row in rows if row["key"] is not None]
    if by == "product":
        names = _label_products(keys)
    elif by == "category":
        names = _label_categories(keys)
    elif by == "channel":
        names = {key: str(Order.Channel(key).label) for key in keys if key in Order.Channel.values}
    elif by in ("province", "city"):
        names = {key: regions.name(key) or key for key in keys if key}
    else:
        names = {}
    result = []
    for row in rows:
        key = row["key"]
        if by == "month" and key is not None:
            key = label = _local(key).strftime("%Y-%m")
        else:
            label = names.get(key) or ""
            key = "" if key in (None, "") else str(key)
        result.append({"key": key, "label": label, **_figures(row)})
    if by == "month":
        result.sort(key=lambda r: r["key"])
    else:
        result.sort(key=lambda r: (-r["gmv"], r["label"]))
    return {"year": year, "by": by, "rows": result, "total": _figures(total)}


def drill_down(lines: QuerySet, *, by: str, key: str) -> QuerySet:
    """The lines behind one row of :func:`business_analysis` (key "" = not known)."""
    if by == "product":
        codes = Sku.objects.filter(product_id=key).values("code") if key else None
        return lines.filter(sku__in=codes) if codes is not None else lines.exclude(sku__in=Sku.objects.values("code"))
    if by == "category":
        if not key:
            return lines.exclude(sku__in=Sku.objects.values("code"))
        return lines.filter(sku__in=Sku.objects.filter(product__category_id=key).values("code"))
    if by == "channel":
        return lines.filter(order__channel=key)
    if by == "province":
        return lines.filter(order__customer__region_province=key)
    if by == "city":
        return lines.filter(order__customer__region_city=key)
    if by == "month" and len(key) == 7 and key[:4].isdigit() and key[5:].isdigit():
        year, month = int(key[:4]), int(key[5:])
        tz = timezone.get_current_timezone()
        start = datetime.datetime(year, month, 1, tzinfo=tz)
        end = datetime.datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=tz)
        return lines.filter(order__placed_at__gte=start, order__placed_at__lt=end)
    return lines


def lines_of_policy(lines: QuerySet, *, policy: str, month: int | None = None, year: int) -> QuerySet:
    """The lines behind a figure of :func:`policy_effect`: ``policy`` an id, "none" or "any"."""
    lines = in_year(lines, year).filter(policy_price__isnull=False)
    if policy == "none":
        lines = lines.filter(policy_id__isnull=True)
    elif policy == "any":
        lines = lines.filter(policy_id__isnull=False)
    elif policy.isdigit():
        lines = lines.filter(policy_id=int(policy))
    if month:
        lines = drill_down(lines, by="month", key=f"{year:04d}-{month:02d}")
    return lines
