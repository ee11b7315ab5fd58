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
from crm.models import DataScope
from customers import regions
from customers.models import Order, OrderLine

from . import rollup
from .models import Category, Product, Sku, SoldLine, SoldRollup

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


_SUMMED = ("orders", "qty", "gmv", "costed_gmv", "cost")
#: the roll-up's sums (named apart from its columns, as Django asks)
ROLLED_SUMS = {f"sum_{name}": Sum(name) for name in _SUMMED}


def _add(into: dict, key, row: dict) -> None:
    """Add the sums of ``row`` (a roll-up's or the lines') to ``into[key]``."""
    slot = into.setdefault(key, dict.fromkeys(_SUMMED, 0) | {"name": ""})
    for name in _SUMMED:
        slot[name] += row.get(name, row.get(f"sum_{name}")) or 0
    if row.get("name") and row["name"] > slot["name"]:
        slot["name"] = row["name"]


class _Parts:
    """Where the figures of ``user``'s ``year`` come from: the roll-up of the closed months and days
    (:mod:`catalog.rollup`) for the departments in the user's scope, and sold lines for the rest —
    today and the periods not rolled up yet and, for a manager, their own customers outside their departments
    (disjoint sets of orders, so their figures add up). A user whose scope is their own customers
    reads their lines only."""

    def __init__(self, user, year: int):
        self.user, self.year = user, year
        start, end = year_bounds(year)
        self.departments, self.own, self.periods = None, False, None
        scope = _rollup_scope(user)
        if scope is not None:
            self.departments, self.own = scope
            self.periods = rollup.Periods(year)
            rollup.fresh_periods(self.periods)
        self.live_from = min(max(start, self.periods.live_from), end) if self.periods else start
        self.start, self.end = start, end

    def rolled(self, dim: str) -> QuerySet:
        if not self.periods:
            return SoldRollup.objects.none()
        return rollup.rollup_rows(dim=dim, periods=self.periods, departments=self.departments)

    def lines(self) -> list[QuerySet]:
        """The sold-line querysets to add: the live part in scope, and a manager's own customers
        outside their departments in the rolled periods."""
        parts = []
        if self.live_from < self.end:
            parts.append(sold_lines_for(self.user).filter(placed_at__gte=self.live_from, placed_at__lt=self.end))
        if self.own and self.periods:
            parts.append(
                SoldLine.objects.filter(
                    status=Order.Status.PAID,
                    owner=self.user,
                    placed_at__gte=self.start,
                    placed_at__lt=self.live_from,
                ).exclude(department_id__in=self.departments)
            )
        return parts


def _rollup_scope(user):
    """``(departments, own)`` when the roll-up can serve ``user`` (``departments`` ``None`` for
    every department; ``own``: add their own customers outside them), else ``None``."""
    if not permissions.can(user, "catalog.analysis") or not user.is_active or permissions.is_partner_user(user):
        return None
    scope = permissions.effective_scope(user)
    if scope == DataScope.ALL:
        return None, False
    if scope in (DataScope.DEPARTMENT, DataScope.DEPARTMENT_TREE):
        ids = permissions.scope_department_ids(user)
        if ids:
            return sorted(ids), True
    return None


def policy_effect(user, *, year: int) -> dict:
    """Per policy and against none, for ``year``: ``policies`` (one row per policy: id, name and
    figures), ``none`` (the list-price lines), ``months`` (1–12: figures under any policy and under
    none)."""
    parts = _Parts(user, year)
    policies, none = [], _figures({})
    by_policy = {}
    rolled = parts.rolled("policy").values("key").annotate(**ROLLED_SUMS, name=Max("name"))
    for row in rolled:
        _add(by_policy, row["key"], row)
    for lines in parts.lines():
        for row in _aggregate(lines.filter(policy_price__isnull=False), "policy_id").annotate(name=Max("policy_name")):
            _add(by_policy, "" if row["policy_id"] is None else str(row["policy_id"]), row)
    for key, sums in sorted(by_policy.items()):
        if key == "":
            none = _figures(sums)
        else:
            policies.append({"id": int(key), "name": sums["name"], **_figures(sums)})
    policies.sort(key=lambda p: (-p["gmv"], p["id"]))
    by_month = {}
    for row in parts.rolled("under").values("start", "key").annotate(**ROLLED_SUMS):
        _add(by_month, (row["start"].month, row["key"] == "1"), row)
    under = Case(When(policy_id__isnull=True, then=Value(False)), default=Value(True), output_field=BooleanField())
    for lines in parts.lines():
        priced = lines.filter(policy_price__isnull=False).annotate(month=TruncMonth("placed_at"), under=under)
        for row in _aggregate(priced, "month", "under"):
            _add(by_month, (timezone.localtime(row["month"]).month, row["under"]), row)
    months = [
        {
            "month": m,
            "policy": _figures(by_month.get((m, True), {})),
            "none": _figures(by_month.get((m, False), {})),
        }
        for m in range(1, 13)
    ]
    return {"year": year, "policies": policies, "none": none, "months": months}


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
    parts = _Parts(user, year)
    groups, total = {}, {}
    if by == "month":
        for row in parts.rolled("month").values("start").annotate(**ROLLED_SUMS):
            _add(groups, row["start"].strftime("%Y-%m"), row)
    else:
        for row in parts.rolled(by).values("key").annotate(**ROLLED_SUMS):
            _add(groups, row["key"], row)
    _add(total, None, parts.rolled("month").aggregate(**ROLLED_SUMS))
    # SKU codes are unique: a line joins at most one SKU (none outside the catalogue, a LEFT JOIN)
    key = {
        "product": F("sku__product_id"),
        "category": F("sku__product__category_id"),
        "channel": F("channel"),
        "province": F("region_province"),
        "city": F("region_city"),
        "month": TruncMonth("placed_at"),
    }[by]
    for lines in parts.lines():
        for row in _aggregate(lines.annotate(key=key), "key"):
            k = row["key"]
            if by == "month":
                k = timezone.localtime(k).strftime("%Y-%m")
            _add(groups, "" if k in (None, "") else str(k), row)
        _add(total, None, lines.aggregate(**_sums()))
    names = _labels(by, [k for k in groups if k])
    result = [{"key": k, "label": names.get(k) or "", **_figures(sums)} for k, sums in groups.items()]
    if by == "month":
        result.sort(key=lambda r: r["key"])
    else:
        result.sort(key=lambda r: (-r["gmv"], r["label"]))
    return {"year": year, "by": by, "rows": result, "total": _figures(total.get(None, {}))}


def _labels(by: str, keys: list[str]) -> dict[str, str]:
    """What the rows of :func:`business_analysis` with these (non-empty) keys are called on the page."""
    if by in ("product", "category"):
        label = _label_products if by == "product" else _label_categories
        found = label([int(k) for k in keys if k.isdigit()])
        return {str(pk): name for pk, name in found.items()}
    if by == "channel":
        return {k: str(Order.Channel(k).label) for k in keys if k in Order.Channel.values}
    if by in ("province", "city"):
        return {k: regions.name(k) or k for k in keys}
    return {k: k for k in keys}


def cell_label(by: str, key: str) -> str:
    """What one row of :func:`business_analysis` is called on the page ("" for a key not known)."""
    return _labels(by, [key]).get(key, "") if key else ""


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
