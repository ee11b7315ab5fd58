"""Reads of contracts and collections, each through the permission layer (``crm.permissions``)."""

import datetime
from decimal import Decimal

from django.db.models import (
    Case,
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    When,
)
from django.db.models.functions import Coalesce, ExtractMonth, TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from crm import permissions
from crm.models import Department, User
from crm.names import person_name
from sales.models import Opportunity

from .models import Competitor, CompetitorQuote, Contract, Instalment, Payment

ZERO = Decimal("0")
#: overdue ageing (账龄) buckets: (code, first day late, last day late or None)
AGEING = (("d30", 1, 30), ("d60", 31, 60), ("d90", 61, 90), ("d90plus", 91, None))


def contracts_for(user):
    return permissions.visible(user, Contract.objects.select_related("customer", "owner", "department"))


def instalments_for(user):
    return permissions.visible(user, Instalment.objects.select_related("contract__customer", "contract__owner"))


def payments_for(user):
    return permissions.visible(user, Payment.objects.select_related("contract"))


def with_overdue(contracts, *, today: datetime.date | None = None):
    """``contracts`` with ``overdue``: what is outstanding on their instalments due before today (a
    subquery, so the contract rows stay one each)."""
    today = today or timezone.localdate()
    overdue = (
        Instalment.objects.filter(contract=OuterRef("pk"), settled_at__isnull=True, due_on__lt=today)
        .values("contract")
        .annotate(total=Sum(_outstanding()))
        .values("total")
    )
    return contracts.annotate(
        overdue=Coalesce(Subquery(overdue, output_field=DecimalField(max_digits=14, decimal_places=2)), ZERO)
    )


def _aware(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _by_owner(rows, owner: str, by_month: bool) -> dict:
    if not by_month:
        return {row[owner]: row["total"] for row in rows}
    result = {}
    for row in rows:
        month = row["month"]
        if isinstance(month, datetime.datetime):
            month = timezone.localtime(month).date()
        result[(row[owner], month)] = row["total"]
    return result


def signed_amounts(
    user_ids, start: datetime.date, end: datetime.date, *, by_month: bool = False, channel: str = ""
) -> dict:
    """Per owner id (or per owner id and month): the amount of the contracts that became active
    (signed) in [start, end). One grouped query; a metric source of targets (``sales.metrics``).

    A contract's channel is its customer's source channel (``Customer.source``): the channel the
    dashboards narrow won opportunities by, so a won deal, its contract and its payments count
    under one channel; a contract signed without an opportunity has one too. ``channel`` (empty:
    every channel) keeps the contracts of that channel."""
    rows = Contract.objects.filter(
        owner_id__in=user_ids,
        status=Contract.Status.ACTIVE,
        signed_at__gte=_aware(start),
        signed_at__lt=_aware(end),
    )
    if channel:
        rows = rows.filter(customer__source=channel)
    keys = ["owner_id"]
    if by_month:
        rows = rows.annotate(month=TruncMonth("signed_at"))
        keys.append("month")
    return _by_owner(rows.values(*keys).annotate(total=Sum("amount")).order_by(), "owner_id", by_month)


def collected_amounts(
    user_ids, start: datetime.date, end: datetime.date, *, by_month: bool = False, channel: str = ""
) -> dict:
    """Per contract owner id (or per owner id and month): the payments received in [start, end)
    on active contracts. One grouped query; a metric source of targets (``sales.metrics``).
    ``channel`` (empty: every channel) keeps the payments of contracts of that channel (their
    customer's source channel, as ``signed_amounts``)."""
    rows = Payment.objects.filter(
        contract__owner_id__in=user_ids,
        contract__status=Contract.Status.ACTIVE,
        received_on__gte=start,
        received_on__lt=end,
    )
    if channel:
        rows = rows.filter(contract__customer__source=channel)
    keys = ["contract__owner_id"]
    if by_month:
        rows = rows.annotate(month=TruncMonth("received_on"))
        keys.append("month")
    return _by_owner(rows.values(*keys).annotate(total=Sum("amount")).order_by(), "contract__owner_id", by_month)


def won_opportunities_without_contract(user):

    return permissions.visible(
        user,
        Opportunity.objects.filter(stage__is_won=True, contract__isnull=True).select_related("customer"),
    )


def bucket_q(code: str, today: datetime.date) -> Q:
    """The unsettled instalments of one ageing bucket."""
    for name, first, last in AGEING:
        if name == code:
            q = Q(settled_at__isnull=True, due_on__lte=today - datetime.timedelta(days=first))
            if last is not None:
                q &= Q(due_on__gte=today - datetime.timedelta(days=last))
            return q
    raise KeyError(code)


def _outstanding():
    return ExpressionWrapper(F("amount") - F("received"), output_field=DecimalField(max_digits=14, decimal_places=2))


def collections(user, *, year: int, today: datetime.date | None = None, group: str = "owner", source: str = "") -> dict:
    """回款看板: planned (instalments due) against received (payments) per month of ``year``,
    overdue ageing, and the same per rep, team or department (``group``: owner or department),
    of the active contracts of one channel (``source``: the customer's source channel, as the
    signed and collected amounts of targets; empty: every channel).
    Planned is by the day an instalment falls due, received by the day a payment came in (matched
    to an instalment or not), for the months and the groups alike, so the groups add up to the
    totals. Two grouped queries whatever the data size and one for the groups' names: the
    instalments once, grouped by rep or department and by the month of ``year`` they fall due in
    (none for other years), which gives the months' plan, the groups and the ageing totals; the
    payments by group and month."""
    today = today or timezone.localdate()
    instalments = instalments_for(user).filter(contract__status=Contract.Status.ACTIVE)
    payments = payments_for(user).filter(contract__status=Contract.Status.ACTIVE)
    if source:
        instalments = instalments.filter(contract__customer__source=source)
        payments = payments.filter(contract__customer__source=source)
    key = "contract__department" if group == "department" else "contract__owner"
    # received: the payments of the year by the day they came in, per month and per group (a
    # payment not yet matched to an instalment counts too), so the groups add up to the total
    received = {}
    received_by_group = {}
    for row in (
        payments.filter(received_on__year=year)
        .annotate(month=ExtractMonth("received_on"))
        .values(key, "month")
        .annotate(total=Sum("amount"))
        .order_by()
    ):
        received[row["month"]] = received.get(row["month"], ZERO) + row["total"]
        received_by_group[row[key]] = received_by_group.get(row[key], ZERO) + row["total"]
    buckets = [code for code, _a, _b in AGEING]
    rows = (
        instalments.annotate(
            month=Case(When(due_on__year=year, then=ExtractMonth("due_on")), default=None, output_field=IntegerField())
        )
        .values(key, "month")
        .annotate(
            planned=Sum("amount", default=ZERO),
            overdue=Sum(_outstanding(), filter=Q(settled_at__isnull=True, due_on__lt=today), default=ZERO),
            **{code: Sum(_outstanding(), filter=bucket_q(code, today), default=ZERO) for code in buckets},
        )
        .order_by()  # hashed, not sorted: the groups are put in order below
    )
    planned = {}
    merged = {}

    def group_of(pk):
        return merged.setdefault(
            pk, {"planned": ZERO, "received": ZERO, "overdue": ZERO, "ageing": [ZERO] * len(buckets)}
        )

    for row in rows:
        month = row["month"]
        found = group_of(row[key])
        if month is not None:
            planned[month] = planned.get(month, ZERO) + row["planned"]
            found["planned"] += row["planned"]
        found["overdue"] += row["overdue"]
        found["ageing"] = [total + row[code] for total, code in zip(found["ageing"], buckets)]
    for pk, total in received_by_group.items():
        group_of(pk)["received"] = total
    months = [
        {
            "month": m,
            "planned": planned.get(m, ZERO),
            "received": received.get(m, ZERO),
        }
        for m in range(1, 13)
    ]
    ageing = [ZERO] * len(buckets)
    for found in merged.values():
        ageing = [total + value for total, value in zip(ageing, found["ageing"])]
    # the groups by their rep's user name or their department's name (one query), none last
    ids = [pk for pk in merged if pk is not None]
    if group == "owner":  # reps by their names, family name first
        names = {
            user.pk: person_name(user) or user.username for user in User.objects.filter(pk__in=ids).order_by("username")
        }
    else:
        names = dict(Department.objects.filter(pk__in=ids).order_by("name").values_list("pk", "name"))
    order = [pk for pk in names if pk in merged] + [pk for pk in merged if pk not in names]
    groups = [
        {
            "id": pk,
            "name": names.get(pk) or (_("No department") if pk is None and group == "department" else "-"),
            "planned": merged[pk]["planned"],
            "received": merged[pk]["received"],
            "overdue": merged[pk]["overdue"],
            "ageing": merged[pk]["ageing"],
        }
        for pk in order
    ]
    return {
        "year": year,
        "months": months,
        "planned_total": sum((m["planned"] for m in months), ZERO),
        "received_total": sum((m["received"] for m in months), ZERO),
        "ageing": list(zip(buckets, ageing)),
        "overdue_total": sum(ageing, ZERO),
        "groups": groups,
        "group": group,
        "source": source,
    }


def competitors_for(user):
    return Competitor.objects.all()


def competitor_stats(user) -> list[dict]:
    """竞品分析: per competitor, the opportunities it was in (in the user's scope), how many of the
    closed ones we won and lost, the win rate, and the average gap between its quoted price and our
    amount (our amount minus its price: positive when we were dearer)."""
    quotes = permissions.visible(user, CompetitorQuote.objects.all())
    gap = ExpressionWrapper(
        F("opportunity__amount") - F("price"), output_field=DecimalField(max_digits=14, decimal_places=2)
    )
    rows = (
        quotes.values("competitor_id", "competitor__name")
        .annotate(
            involved=Count("id"),
            won=Count("id", filter=Q(opportunity__stage__is_won=True)),
            lost=Count("id", filter=Q(opportunity__stage__is_lost=True)),
            lost_to=Count("id", filter=Q(lost_to=True)),
            quoted=Count("id", filter=Q(price__isnull=False)),
            gap_sum=Sum(gap, filter=Q(price__isnull=False), default=ZERO),
        )
        .order_by("competitor__name")
    )
    result = []
    for row in rows:
        closed = row["won"] + row["lost"]
        result.append(
            {
                "id": row["competitor_id"],
                "name": row["competitor__name"],
                "involved": row["involved"],
                "won": row["won"],
                "lost": row["lost"],
                "lost_to": row["lost_to"],
                "win_rate": round(100 * row["won"] / closed) if closed else None,
                "price_gap": (row["gap_sum"] / row["quoted"]).quantize(Decimal("0.01")) if row["quoted"] else None,
            }
        )
    return result
