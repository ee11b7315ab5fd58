"""政策及效果统计 and 经营分析: what was sold, read from the order lines of paid orders in the
user's data scope (a rep: their customers' orders; a manager: their departments').

**Figures.** GMV is Σ unit price charged × quantity; cost is Σ the line's unit cost × quantity
(catalogue lines carry the SKU's cost); margin is GMV − cost over the lines whose cost is known
(the catalogue's), so a line outside the catalogue adds to GMV and to the order count only.
An order counts once per group, however many of its lines fall in it. Months are calendar
months in Asia/Shanghai.

**Policy effect** compares, per month, the catalogue lines sold under each sales policy against
those sold under none (at the list price); lines outside the catalogue are left out.

The figures are counted from :class:`~catalog.models.SoldLine` (each order line with its order's
and customer's columns, kept in step by the database), scoped by the owner and department it
carries: plain ``GROUP BY`` queries over one table — the groups and the total of the business
analysis, the policies and the months of the policy effect — whatever the data size (plus one for
labels). The drill-down lists the order lines themselves (:func:`order_lines_for`)."""

import datetime

from django.db.models import (
    BooleanField,
    Case,
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    Max,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from crm import permissions
from customers import regions
from customers.models import Order, OrderLine

from .models import Category, Product, Sku, SoldLine

MONEY = DecimalField(max_digits=16, decimal_places=2)
GMV = ExpressionWrapper(F("price") * F("quantity"), output_field=MONEY)
COST = ExpressionWrapper(F("cost") * F("quantity"), output_field=MONEY)
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
    """The same lines as :func:`order_lines_for`, read from :class:`~catalog.models.SoldLine`: what
    the figures are counted from."""
    if not permissions.can(user, "catalog.analysis"):
        return SoldLine.objects.none()
    scope = permissions.scope_q(
        user, owner_field=SoldLine.scope_owner_field, department_field=SoldLine.scope_department_field
    )
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


def _sums() -> dict:
    return {
        "orders": Count("order_id", distinct=True),
        "qty": Sum("quantity"),
        "gmv": Coalesce(Sum(GMV), 0, output_field=MONEY),
        "costed_gmv": Coalesce(Sum(GMV, filter=Q(cost__isnull=False)), 0, output_field=MONEY),
        "cost": Coalesce(Sum(COST), 0, output_field=MONEY),
    }


def _aggregate(queryset: QuerySet, *group) -> QuerySet:
    return queryset.values(*group).annotate(**_sums()).order_by()


def policy_effect(user, *, year: int) -> dict:
    """Per policy and against none, for ``year``: ``policies`` (one row per policy: id, name and
    figures), ``none`` (the list-price lines), ``months`` (1–12: figures under any policy and under
    none)."""
    lines = _sold_in_year(sold_lines_for(user), year).filter(policy_price__isnull=False)
    policies = []
    none = _figures({})
    for row in _aggregate(lines, "policy_id").annotate(name=Max("policy_name")).order_by("policy_id"):
        if row["policy_id"] is None:
            none = _figures(row)
        else:
            policies.append({"id": row["policy_id"], "name": row["name"], **_figures(row)})
    policies.sort(key=lambda p: (-p["gmv"], p["id"]))
    months = {m: {"month": m, "policy": _figures({}), "none": _figures({})} for m in range(1, 13)}
    under = Case(When(policy_id__isnull=True, then=Value(False)), default=Value(True), output_field=BooleanField())
    for row in _aggregate(lines.annotate(month=TruncMonth("placed_at"), under=under), "month", "under"):
        months[timezone.localtime(row["month"]).month]["policy" if row["under"] else "none"] = _figures(row)
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
    # SKU codes are unique: a line joins at most one SKU (none outside the catalogue, a LEFT JOIN)
    key = {
        "product": F("sku__product_id"),
        "category": F("sku__product__category_id"),
        "channel": F("channel"),
        "province": F("region_province"),
        "city": F("region_city"),
        "month": TruncMonth("placed_at"),
    }[by]
    grouped = lines.annotate(key=key)
    rows = list(_aggregate(grouped, "key"))
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
            key = label = timezone.localtime(key).strftime("%Y-%m")
        else:
            label = names.get(key) or ""
            key = "" if key in (None, "") else str(key)
        result.append({"key": key, "label": label, **_figures(row)})
    if by == "month":
        result.sort(key=lambda r: r["key"])
    else:
        result.sort(key=lambda r: (-r["gmv"], r["label"]))
    return {"year": year, "by": by, "rows": result, "total": _figures(lines.aggregate(**_sums()))}


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
