"""监控、预警: figures per budget, campaign and batch, and the alerts checked by Celery beat.

Low efficiency: over the batch's claim window so far, the GMV growth of the goods the batch
subsidizes (its categories or SKUs; for all-goods batches, the customers who redeemed) is compared
with the growth of comparable goods without the subsidy (everything else), each against the same
length of time just before. A batch whose subsidized growth does not beat the rest is flagged.
"""

import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from crm import permissions
from crm.models import Department
from crm.notifications import notify
from customers.models import Order, OrderLine

from ..models import Alert, Batch, BudgetAccount, Coupon, Redemption


def batch_figures(batch_ids):
    """issued, redeemed, discount, subsidy and GMV per batch id (two grouped queries)."""
    figures = {
        bid: {"redeemed": 0, "discount": Decimal(0), "subsidy": Decimal(0), "gmv": Decimal(0)} for bid in batch_ids
    }
    for row in (
        Redemption.objects.filter(batch_id__in=batch_ids, reversed_at__isnull=True)
        .values("batch_id")
        .annotate(n=Count("batch_id"), discount=Sum("discount"), subsidy=Sum("subsidy"), gmv=Sum("order_amount"))
        .order_by()
    ):
        figures[row["batch_id"]].update(
            redeemed=row["n"], discount=row["discount"], subsidy=row["subsidy"], gmv=row["gmv"]
        )
    for batch in Batch.objects.filter(pk__in=batch_ids).only("id", "issued", "quantity"):
        f = figures[batch.pk]
        f["issued"], f["quantity"] = batch.issued, batch.quantity
        f["redemption_rate"] = round(100 * f["redeemed"] / batch.issued, 1) if batch.issued else 0
        f["subsidy_per_gmv"] = round(float(f["subsidy"] / f["gmv"]), 4) if f["gmv"] else None
    return figures


def _gmv(q, start, end):
    return OrderLine.objects.filter(
        q, order__status=Order.Status.PAID, order__placed_at__gte=start, order__placed_at__lt=end
    ).aggregate(s=Sum("price"))["s"] or Decimal(0)


def efficiency(batch, now=None):
    """(subsidized growth, unsubsidized growth) as ratios, or None when there is too little data."""
    now = now or timezone.now()
    start = batch.claim_start
    end = min(now, batch.claim_end)
    if end - start < datetime.timedelta(days=1):
        return None
    before = start - (end - start)
    if batch.scope == Batch.Scope.CATEGORIES:
        inside = Q(category__in=batch.scope_list())
    elif batch.scope == Batch.Scope.SKUS:
        inside = Q(sku__in=batch.scope_list())
    else:
        customers = Coupon.objects.filter(batch=batch, status=Coupon.Status.REDEEMED).values("customer_id")
        inside = Q(order__customer_id__in=customers)
    now_in, before_in = _gmv(inside, start, end), _gmv(inside, before, start)
    now_out, before_out = _gmv(~inside, start, end), _gmv(~inside, before, start)
    if not before_in or not before_out:
        return None
    return float(now_in / before_in - 1), float(now_out / before_out - 1)


def _raise(kind, message, recipients, *, batch=None, account=None, url=""):
    try:
        with transaction.atomic():
            Alert.objects.create(
                kind=kind, batch=batch, account=account, message=message[:300], day=timezone.localdate()
            )
    except IntegrityError:
        return False  # already raised today
    for user in {r for r in recipients if r is not None}:
        notify(recipient=user, kind="coupon_alert", title=message[:200], url=url)
    return True


def check_alerts(now=None):
    """The beat job: low stock, low balance and low efficiency, each raised at most once a day."""
    raised = 0
    live = Batch.objects.filter(status__in=[Batch.Status.ACTIVE, Batch.Status.PAUSED]).select_related(
        "campaign__owner", "campaign__budget_account__owner", "created_by"
    )
    for batch in live:
        owners = [batch.campaign.owner, batch.created_by, batch.campaign.budget_account.owner]
        if batch.low_stock_alert and batch.remaining < batch.low_stock_alert:
            raised += _raise(
                Alert.Kind.LOW_STOCK,
                _("%(batch)s: only %(n)d coupons left") % {"batch": batch.name, "n": batch.remaining},
                owners,
                batch=batch,
                url=batch.get_absolute_url(),
            )
        result = efficiency(batch, now)
        if result is not None and result[0] <= result[1]:
            raised += _raise(
                Alert.Kind.LOW_EFFICIENCY,
                _("%(batch)s: subsidized GMV grew %(inside).0f%%, unsubsidized %(outside).0f%% — low efficiency")
                % {"batch": batch.name, "inside": result[0] * 100, "outside": result[1] * 100},
                owners,
                batch=batch,
                url=batch.get_absolute_url(),
            )
    for account in BudgetAccount.objects.filter(low_balance_alert__gt=0).select_related(
        "owner", "department", "period"
    ):
        if account.balance < account.low_balance_alert:
            raised += _raise(
                Alert.Kind.LOW_BALANCE,
                _("Budget %(account)s: only ¥%(balance)s left")
                % {"account": account, "balance": f"{account.balance:,.2f}"},
                [account.owner],
                account=account,
                url=account.get_absolute_url(),
            )
    return raised


def open_alerts():
    return Alert.objects.filter(resolved_at__isnull=True, day__gte=timezone.localdate() - datetime.timedelta(days=1))


HISTORY_CACHE_SECONDS = 600


def _day_figures(since, until, tz, batch_ids=None):
    """{(day, batch id): [claims, redemptions, subsidy, gmv]} between two moments (two grouped
    queries, read from covering indexes: claims by claimed_at, live redemptions by day)."""
    from django.db.models.functions import TruncDate

    figures = {}
    claims = Coupon.objects.filter(claimed_at__gte=since, claimed_at__lt=until)
    used = Redemption.objects.filter(at__gte=since, at__lt=until, reversed_at__isnull=True)
    if batch_ids is not None:
        claims, used = claims.filter(batch_id__in=batch_ids), used.filter(batch_id__in=batch_ids)
    for row in (
        claims.annotate(day=TruncDate("claimed_at", tzinfo=tz))
        .values("day", "batch_id")
        .annotate(n=Count("batch_id"))
        .order_by()
    ):
        figures.setdefault((row["day"], row["batch_id"]), [0, 0, Decimal(0), Decimal(0)])[0] = row["n"]
    for row in (
        used.annotate(day=TruncDate("at", tzinfo=tz))
        .values("day", "batch_id")
        .annotate(n=Count("batch_id"), subsidy=Sum("subsidy"), gmv=Sum("order_amount"))
        .order_by()
    ):
        entry = figures.setdefault((row["day"], row["batch_id"]), [0, 0, Decimal(0), Decimal(0)])
        entry[1:] = [row["n"], row["subsidy"] or Decimal(0), row["gmv"] or Decimal(0)]
    return figures


def daily_series(user, *, start, end, department=None):
    """Claims, redemptions, subsidy spent and GMV per day (``start`` … ``end``, local dates) and per
    department of the batches' campaigns, for the batches ``user`` may see; ``department`` narrows
    to that department and the ones below it.

    The figures of the days before today (of every batch) are kept in the cache for ten minutes —
    so a redemption reversed on an earlier day shows there within ten minutes; today's are always
    read live.

    Returns (days, departments, {(day, department_id): {"claims", "redemptions", "subsidy", "gmv"}}).
    """
    from django.core.cache import cache

    tz = timezone.get_current_timezone()
    today = timezone.localdate()

    def moment(day):
        return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min), tz)

    batches = permissions.visible(user, Batch.objects.all())
    if department is not None:
        batches = batches.filter(campaign__department__path__startswith=department.path)
    department_of = dict(batches.values_list("id", "campaign__department_id"))
    figures = {}
    history_end = min(end, today - datetime.timedelta(days=1))
    if start <= history_end:
        key = f"coupons:daily:{start.isoformat()}:{history_end.isoformat()}"
        history = cache.get(key)
        if history is None:
            history = _day_figures(moment(start), moment(history_end + datetime.timedelta(days=1)), tz)
            cache.set(key, history, HISTORY_CACHE_SECONDS)
        figures.update(history)
    if end >= today:
        figures.update(
            _day_figures(
                moment(max(start, today)), moment(end + datetime.timedelta(days=1)), tz, batch_ids=list(department_of)
            )
        )
    cells = {}
    for (day, batch_id), (claims, redemptions, subsidy, gmv) in figures.items():
        department_id = department_of.get(batch_id)
        if department_id is None:
            continue
        cell = cells.setdefault(
            (day, department_id), {"claims": 0, "redemptions": 0, "subsidy": Decimal(0), "gmv": Decimal(0)}
        )
        cell["claims"] += claims
        cell["redemptions"] += redemptions
        cell["subsidy"] += subsidy
        cell["gmv"] += gmv
    days = [start + datetime.timedelta(days=i) for i in range((end - start).days + 1)]
    departments = list(Department.objects.filter(pk__in={d for _day, d in cells}).order_by("path"))
    return days, departments, cells
