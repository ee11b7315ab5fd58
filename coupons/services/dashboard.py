"""The coupons and campaigns dashboard (管理看板 · 券与活动): budget use against target GMV, claim and
redemption rates, subsidy per GMV, open alerts and the ROI ranking of marketing campaigns — for the
viewer's data scope, a period, a department (and the ones below it) and a claim channel.

Speed. The coupon figures come from two grouped queries over indexed columns (claims by
``claimed_at``, live redemptions by ``at``), grouped per day, batch and claim channel. The figures of
whole past months and of past days are kept in the cache (``FIGURES_CACHE_SECONDS``, shared by every
viewer; each viewer's scope, department and channel are applied after), today's are always read
live; the page shows when the cached part was computed. The budget accounts are read live (their
counters are kept by the writes), the campaign figures come from ``CampaignStats`` (refreshed by
beat; the page shows when).

Definitions (per batch, summed per department of the batch's campaign):

- *offered*: the batch's quantity; *claimed*: coupons claimed in the period;
  claim rate = claimed / offered;
- *redeemed*: of the coupons claimed in the period, those redeemed by now;
  redemption rate = redeemed / claimed;
- *redemptions*, *subsidy*, *GMV*: live (not reversed) redemptions made in the period, with their
  subsidy and order amount; subsidy per GMV = Σ subsidy / Σ order amount.
"""

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.core.cache import cache
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm import permissions
from crm.models import User

from ..models import Alert, Batch, BudgetAccount, Coupon, Redemption

ZERO = Decimal(0)
FIGURES_CACHE_SECONDS = 600
CACHE_PREFIX = "coupons:dash:v2"
MAX_DAYS = 366

PERIODS = (
    ("month", _("This month")),
    ("quarter", _("This quarter")),
    ("year", _("This year")),
    ("custom", _("Custom")),
)

#: claim channels (Coupon.channel) offered by the filter

#: batch states whose batches count as offered in a period (besides any batch with activity in it)
OFFERED_STATES = (Batch.Status.ACTIVE, Batch.Status.PAUSED, Batch.Status.ENDED)


def period_range(kind, today, start=None, end=None):
    """(first day, last day) of the period ``kind`` around ``today``; ``custom`` uses start/end."""
    if kind == "quarter":
        first_month = (today.month - 1) // 3 * 3 + 1
        first = datetime.date(today.year, first_month, 1)
        last = _add_months(first, 3) - datetime.timedelta(days=1)
        return first, last
    if kind == "year":
        return datetime.date(today.year, 1, 1), datetime.date(today.year, 12, 31)
    if kind == "custom":
        end = end or today
        return start or end - datetime.timedelta(days=29), end
    first = today.replace(day=1)
    return first, _add_months(first, 1) - datetime.timedelta(days=1)


def _add_months(day, months):
    month = day.month - 1 + months
    return datetime.date(day.year + month // 12, month % 12 + 1, 1)


@dataclass
class Filters:
    start: datetime.date
    end: datetime.date
    department: object = None  # crm.models.Department or None
    channel: str = ""


# --- coupon figures per (batch, channel), cached by month and day -----------------------------------


def _units(start, end):
    """Split the days start … end into cache units: ("m", first of month) for whole months,
    ("d", day) for the rest."""
    units, day = [], start
    while day <= end:
        if day.day == 1:
            month_end = _add_months(day, 1) - datetime.timedelta(days=1)
            if month_end <= end:
                units.append(("m", day, month_end))
                day = month_end + datetime.timedelta(days=1)
                continue
        units.append(("d", day, day))
        day += datetime.timedelta(days=1)
    return units


def _moment(day, tz):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min), tz)


def _cents(value):
    return int((value or ZERO) * 100)


def _figures_by_day(first, last, tz, batch_ids=None, channel=None):
    """{day: {(batch id, channel): [claimed, redeemed, redemptions, subsidy, gmv]}} for the local days
    first … last (two grouped queries); money in integer cents (compact and quick to (un)pickle).
    With ``channel``, only that claim channel (and the redemptions need not join the coupons: the
    channel key is then ``channel``)."""
    since, until = _moment(first, tz), _moment(last + datetime.timedelta(days=1), tz)
    claims = Coupon.objects.filter(claimed_at__gte=since, claimed_at__lt=until)
    used = Redemption.objects.filter(at__gte=since, at__lt=until, reversed_at__isnull=True)
    if batch_ids is not None:
        claims, used = claims.filter(batch_id__in=batch_ids), used.filter(batch_id__in=batch_ids)
    channel_of_redemption = "coupon__channel"
    if channel is not None:
        claims, used = claims.filter(channel=channel), used.filter(coupon__channel=channel)
        channel_of_redemption = "batch_id"  # any column: the key below uses ``channel``
    days = {}
    for row in (
        claims.annotate(day=TruncDate("claimed_at", tzinfo=tz))
        .values("day", "batch_id", "channel")
        .annotate(n=Count("id"), redeemed=Count("id", filter=Q(status=Coupon.Status.REDEEMED)))
        .order_by()
    ):
        cell = days.setdefault(row["day"], {}).setdefault((row["batch_id"], row["channel"]), [0, 0, 0, 0, 0])
        cell[0] += row["n"]
        cell[1] += row["redeemed"]
    values = ("day", "batch_id") if channel is not None else ("day", "batch_id", channel_of_redemption)
    for row in (
        used.annotate(day=TruncDate("at", tzinfo=tz))
        .values(*values)
        .annotate(n=Count("id"), subsidy=Sum("subsidy"), gmv=Sum("order_amount"))
        .order_by()
    ):
        key = (row["batch_id"], channel if channel is not None else row[channel_of_redemption])
        cell = days.setdefault(row["day"], {}).setdefault(key, [0, 0, 0, 0, 0])
        cell[2] += row["n"]
        cell[3] += _cents(row["subsidy"])
        cell[4] += _cents(row["gmv"])
    return days


def _add(into, rows):
    for key, (claimed, redeemed, redemptions, subsidy, gmv) in rows.items():
        cell = into.get(key)
        if cell is None:
            into[key] = [claimed, redeemed, redemptions, subsidy, gmv]
        else:
            cell[0] += claimed
            cell[1] += redeemed
            cell[2] += redemptions
            cell[3] += subsidy
            cell[4] += gmv


def warm(now=None):
    """Recompute the cached units of this year up to yesterday (for the beat task)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    units = _units(datetime.date(today.year, 1, 1), today - datetime.timedelta(days=1))
    cache.delete_many([f"{CACHE_PREFIX}:{kind}:{first.isoformat()}" for kind, first, _last in units])
    coupon_figures(datetime.date(today.year, 1, 1), today - datetime.timedelta(days=1), batch_ids=(), now=now)
    return len(units)


def coupon_figures(start, end, *, batch_ids, channel="", now=None):
    """{(batch id, channel): [claimed, redeemed, redemptions, subsidy cents, gmv cents]} over
    start … end for the given batches, and when the cached part (days before today) was computed
    (None: all live). Today's part is read live, for ``channel`` only when one is given."""
    tz = timezone.get_current_timezone()
    now = now or timezone.now()
    today = timezone.localdate(now)
    totals, computed_at = {}, None
    history_end = min(end, today - datetime.timedelta(days=1))
    if start <= history_end:
        units = _units(start, history_end)
        keys = {f"{CACHE_PREFIX}:{kind}:{first.isoformat()}": (kind, first, last) for kind, first, last in units}
        found = cache.get_many(list(keys))
        missing = [unit for key, unit in keys.items() if key not in found]
        if missing:
            by_day = _figures_by_day(min(u[1] for u in missing), max(u[2] for u in missing), tz)
            fresh = {}
            for key, (_kind, first, last) in keys.items():
                if key in found:
                    continue
                rows = {}
                day = first
                while day <= last:
                    _add(rows, by_day.get(day, {}))
                    day += datetime.timedelta(days=1)
                fresh[key] = (now, rows)
            cache.set_many(fresh, FIGURES_CACHE_SECONDS)
            found.update(fresh)
        wanted = set(batch_ids)
        for stamp, rows in found.values():
            computed_at = stamp if computed_at is None or stamp < computed_at else computed_at
            _add(totals, {key: cell for key, cell in rows.items() if key[0] in wanted})
    if end >= today and batch_ids:
        for rows in _figures_by_day(
            max(start, today), today, tz, batch_ids=list(batch_ids), channel=channel or None
        ).values():
            _add(totals, rows)
    return totals, computed_at


# --- the dashboard -------------------------------------------------------------------------------


def _rate(numerator, denominator, digits=1):
    if not denominator:
        return None
    return round(100 * float(numerator) / float(denominator), digits)


def _ratio(numerator, denominator):
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(Decimal("0.0001"))


def decimal_or_none(value):
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None


def _empty_figures(money=ZERO):
    return {"offered": 0, "claimed": 0, "redeemed": 0, "redemptions": 0, "subsidy": money, "gmv": money}


def _finish(f):
    f["claim_rate"] = _rate(f["claimed"], f["offered"])
    f["redemption_rate"] = _rate(f["redeemed"], f["claimed"])
    f["subsidy_per_gmv"] = _ratio(f["subsidy"], f["gmv"])
    return f


def scoped_batches(user, department=None):
    batches = permissions.visible(user, Batch.objects.all())
    if department is not None:
        batches = batches.filter(campaign__department__path__startswith=department.path)
    return batches


def scoped_accounts(user, department=None):
    accounts = permissions.visible(user, BudgetAccount.objects.all())
    if department is not None:
        accounts = accounts.filter(department__path__startswith=department.path)
    return accounts


def budget_rows(user, filters):
    """Budget accounts whose fiscal period overlaps the period: total, used, reserved, balance, GMV
    produced against target GMV (live counters)."""
    rows = []
    for a in (
        scoped_accounts(user, filters.department)
        .filter(period__start__lte=filters.end, period__end__gte=filters.start)
        .values(
            "id",
            "total",
            "used",
            "reserved",
            "gmv",
            "target_gmv",
            "department_id",
            "department__name",
            "department__path",
            "period__name",
        )
        .order_by("department__path", "period__start", "id")
    ):
        balance = a["total"] - a["reserved"] - a["used"]
        rows.append(
            {
                "id": a["id"],
                "department_id": a["department_id"],
                "department": a["department__name"],
                "period": a["period__name"],
                "total": a["total"],
                "used": a["used"],
                "reserved": a["reserved"],
                "balance": balance,
                "gmv": a["gmv"],
                "target_gmv": a["target_gmv"],
                "gmv_to_reach": max(a["target_gmv"] - a["gmv"], ZERO),
                "used_share": _rate(a["used"], a["total"]),
                "target_share": _rate(a["gmv"], a["target_gmv"]),
            }
        )
    return rows


def budget_totals(rows):
    totals = {
        key: sum((r[key] for r in rows), ZERO)
        for key in ("total", "used", "reserved", "balance", "gmv", "target_gmv", "gmv_to_reach")
    }
    totals["used_share"] = _rate(totals["used"], totals["total"])
    totals["target_share"] = _rate(totals["gmv"], totals["target_gmv"])
    return totals


def coupon_rows(user, filters, *, now=None):
    """(batch rows, department rows, totals, computed_at) of claims, redemptions, subsidy and GMV."""
    batches = {
        b["id"]: b
        for b in scoped_batches(user, filters.department).values(
            "id",
            "code",
            "name",
            "quantity",
            "status",
            "claim_start",
            "claim_end",
            "campaign_id",
            "campaign__name",
            "campaign__department_id",
            "campaign__department__name",
            "campaign__department__path",
        )
    }
    cells, computed_at = coupon_figures(filters.start, filters.end, batch_ids=batches, channel=filters.channel, now=now)
    tz = timezone.get_current_timezone()
    since = _moment(filters.start, tz)
    until = _moment(filters.end + datetime.timedelta(days=1), tz)
    per_batch = {}
    for (batch_id, channel), (claimed, redeemed, redemptions, subsidy, gmv) in cells.items():
        if filters.channel and channel != filters.channel:
            continue
        f = per_batch.setdefault(batch_id, _empty_figures(0))
        f["claimed"] += claimed
        f["redeemed"] += redeemed
        f["redemptions"] += redemptions
        f["subsidy"] += subsidy
        f["gmv"] += gmv
    for f in per_batch.values():
        f["subsidy"], f["gmv"] = Decimal(f["subsidy"]) / 100, Decimal(f["gmv"]) / 100
    for batch_id, b in batches.items():
        if (
            batch_id not in per_batch
            and b["status"] in OFFERED_STATES
            and b["claim_start"] < until
            and b["claim_end"] >= since
        ):
            per_batch[batch_id] = _empty_figures()
    batch_rows, departments = [], {}
    for batch_id, f in per_batch.items():
        b = batches[batch_id]
        f["offered"] = b["quantity"]
        batch_rows.append(
            _finish(
                {
                    **f,
                    "id": batch_id,
                    "code": b["code"],
                    "name": b["name"],
                    "status": b["status"],
                    "campaign_id": b["campaign_id"],
                    "campaign": b["campaign__name"],
                    "department_id": b["campaign__department_id"],
                    "department": b["campaign__department__name"],
                }
            )
        )
        d = departments.setdefault(
            b["campaign__department_id"],
            {
                **_empty_figures(),
                "id": b["campaign__department_id"],
                "department": b["campaign__department__name"],
                "path": b["campaign__department__path"],
                "batches": 0,
            },
        )
        d["batches"] += 1
        for key in ("offered", "claimed", "redeemed", "redemptions", "subsidy", "gmv"):
            d[key] += f[key]
    batch_rows.sort(key=lambda r: (-r["gmv"], -r["claimed"], r["code"]))
    department_rows = sorted((_finish(d) for d in departments.values()), key=lambda r: r["path"])
    totals = _empty_figures()
    for d in department_rows:
        for key in ("offered", "claimed", "redeemed", "redemptions", "subsidy", "gmv"):
            totals[key] += d[key]
    return batch_rows, department_rows, _finish(totals), computed_at


def alert_rows(user, filters, limit=50):
    """Open coupon alerts (low efficiency first) of the batches and budget accounts in scope."""
    batches = scoped_batches(user, filters.department).values("id")
    accounts = scoped_accounts(user, filters.department).values("id")
    kinds = dict(Alert.Kind.choices)
    rows = []
    for a in (
        Alert.objects.filter(resolved_at__isnull=True, day__gte=timezone.localdate() - datetime.timedelta(days=1))
        .filter(Q(batch_id__in=batches) | Q(account_id__in=accounts))
        .values("id", "kind", "message", "day", "created_at", "batch_id", "account_id")
        .order_by("-created_at", "-id")[:limit]
    ):
        rows.append({**a, "kind_label": kinds.get(a["kind"], a["kind"])})
    rows.sort(key=lambda r: r["kind"] != Alert.Kind.LOW_EFFICIENCY)  # stable: newest first within each group
    return rows


#: the marketing campaigns of the dashboard, ranked by ROI: ``rows(user, filters) -> [dict]``; the
#: marketing app (above this one) registers it in its ``AppConfig.ready()``
_campaign_rows: list[Callable[..., list[dict]]] = []


def register_campaign_rows(rows: Callable[..., list[dict]]) -> None:
    _campaign_rows[:] = [rows]


def campaign_rows(user: User, filters: Filters, limit: int = 200) -> list[dict]:
    """Marketing campaigns in scope that overlap the period, ranked by ROI; none without marketing."""
    return _campaign_rows[0](user, filters, limit) if _campaign_rows else []


def dashboard(user, filters, *, now=None):
    """Everything the page shows, as plain rows (the view turns them into charts and tables)."""
    batch_rows, department_rows, coupon_totals, computed_at = coupon_rows(user, filters, now=now)
    budgets = budget_rows(user, filters)
    campaigns = campaign_rows(user, filters)
    stamps = [r["refreshed_at"] for r in campaigns if r["refreshed_at"]]
    return {
        "budgets": budgets,
        "budget_totals": budget_totals(budgets),
        "batches": batch_rows,
        "departments": department_rows,
        "coupon_totals": coupon_totals,
        "coupons_computed_at": computed_at,
        "alerts": alert_rows(user, filters),
        "campaigns": campaigns,
        "campaigns_oldest": min(stamps) if stamps else None,
        "campaigns_newest": max(stamps) if stamps else None,
        "campaigns_without_stats": sum(1 for r in campaigns if r["refreshed_at"] is None),
    }
