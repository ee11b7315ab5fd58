"""What the shell shows of customers: the customers panel of the home pages (recent customers, and
for managers every customer figure of the scope with a chart of the last 30 days) and the customers
the global search finds. Registered into crm.home and crm.search by customers/integration.py."""

import datetime

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from crm import permissions, privacy
from crm.home import month_start_of
from crm.models import User
from crm.names import person_name
from crm.phone import mask_mobile

from .selectors import customers_for, may_see_mobile


def _owner_name(user: User) -> str:
    return person_name(user)


def _customer_figures(
    customers: QuerySet, *, since: datetime.datetime, month_start: datetime.datetime | None = None
) -> dict:
    """Every customer figure of the manager's home in ONE grouped scan of the scope: per owner,
    the customers, the new ones in 30 days (and this month); the totals are their sums. (The
    page used to count the scope, count the new ones, then group it again per owner.)"""
    counts = {"total": Count("id"), "recent": Count("id", filter=Q(created_at__gte=since))}
    if month_start is not None:
        counts["month"] = Count("id", filter=Q(created_at__gte=month_start))
    rows = list(customers.order_by().values("owner_id").annotate(**counts))
    top = sorted(rows, key=lambda row: -row["total"])[:15]
    owners = User.objects.in_bulk([row["owner_id"] for row in top if row["owner_id"]])
    team_rows = []
    for row in top:
        owner = owners.get(row["owner_id"])
        team_rows.append(
            {"name": _owner_name(owner) if owner else _("Public pool"), "total": row["total"], "recent": row["recent"]}
        )
    return {
        "customer_total": sum(row["total"] for row in rows),
        "customer_new_30d": sum(row["recent"] for row in rows),
        "customer_new_month": sum(row.get("month", 0) for row in rows),
        "team_rows": team_rows,
    }


def manager_panel(user: User, *, now: datetime.datetime, context: dict) -> dict:
    customers = customers_for(user)
    since = now - datetime.timedelta(days=30)
    context = {
        "recent_customers": customers.order_by("-created_at")[:8],
        "show_mobile": may_see_mobile(user),
    }
    month_start = month_start_of(now) if permissions.can(user, "sales.view") else None
    figures = _customer_figures(customers, since=since, month_start=month_start)
    context.update(
        customer_total=figures["customer_total"],
        customer_new_30d=figures["customer_new_30d"],
        customer_new_month=figures["customer_new_month"],
        team_rows=figures["team_rows"],
    )
    daily = (
        customers.filter(created_at__gte=since)
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(n=Count("id"))
        .order_by("day")
    )
    by_day = {row["day"]: row["n"] for row in daily}
    days = [(timezone.localdate() - datetime.timedelta(days=offset)) for offset in range(29, -1, -1)]
    context["chart"] = {
        "title": _("New customers, last 30 days"),
        "labels": [d.strftime("%m-%d") for d in days],
        "values": [by_day.get(d, 0) for d in days],
    }
    context["chart_option"] = {
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 40, "right": 16, "top": 16, "bottom": 28},
        "xAxis": {"type": "category", "data": context["chart"]["labels"]},
        "yAxis": {"type": "value", "minInterval": 1},
        "series": [
            {
                "type": "bar",
                "name": str(context["chart"]["title"]),
                "data": context["chart"]["values"],
                "itemStyle": {"color": "#1f6feb"},
            }
        ],
    }
    return context


def rep_panel(user: User, *, now: datetime.datetime, context: dict) -> dict:
    customers = customers_for(user)
    since = now - datetime.timedelta(days=30)
    context = {
        "recent_customers": customers.order_by("-created_at")[:8],
        "show_mobile": may_see_mobile(user),
    }
    context.update(
        customers.aggregate(customer_total=Count("id"), customer_new_30d=Count("id", filter=Q(created_at__gte=since)))
    )
    return context


def search_results(user: User, query: str) -> list[dict]:
    """The customers the global search finds: name or mobile, in the user's scope (crm.search)."""
    results = []
    q = privacy.name_or_mobile_q(user, query, keys_field="name_keys")  # no partial match on hidden digits
    show = may_see_mobile(user)
    for customer in customers_for(user).filter(q).order_by("-created_at")[:50]:
        results.append(
            {
                "kind": _("Customer"),
                "title": customer.name,
                "subtitle": customer.mobile if show else mask_mobile(customer.mobile),
                "extra": customer.owner or _("Public pool"),
                "url": customer.get_absolute_url(),
            }
        )
    return results
