"""After a load run: do the coupon counters, the budgets and the orders still add up?

:func:`reconcile` checks the rules that concurrency could break, each with one or two SQL
aggregates (quick on the large set's 1,000,000 coupons):

* **stock**: no batch has issued more than its quantity (remaining stock never below zero);
* **issued = claimed rows**: a batch's ``issued`` counter equals its coupons that left
  ``available`` (claimed, redeemed or void), and each of those has an owner and a claim time;
* **limits**: no customer holds more coupons of a batch than its per-customer limit, nor more
  claimed on one day than its per-day limit (compensation coupons are exempt: they are issued
  by review, without a claim);
* **budgets**: an account's ``used`` = Σ subsidies of its live redemptions (a cancelled order's
  redemption is reversed and its subsidy given back), ``gmv`` = Σ their order amounts,
  ``reserved`` = Σ reservations of coupons still claimed, and total ≥ reserved + used;
* **redeemed once**: no coupon has two live redemptions, a coupon is ``redeemed`` exactly when it
  has one, no order carries two coupons, and a live redemption sits on a paid order of the
  coupon's owner that reached the threshold and carries the same discount and a split that adds up;
* **customer figures**: each customer's order count and total spent equal their paid orders;
* optionally **pushed orders**: every order an API client of the run pushed with items was
  stored with those lines (the order and its lines in one transaction), and no order whose coupon
  was refused was stored (the refusal rolls the order back).

Counterpart of ``coupons.demo.check``, which the demo loader uses; this one reports every rule
separately and is what ``python -m bench.loadtest`` runs after the load.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import Count, F, Q, Sum

ZERO = Decimal("0")
SHOW = 5  # offending rows shown per check


@dataclass
class Check:
    name: str
    ok: bool
    detail: str = ""

    def line(self):
        return f"{'PASS' if self.ok else 'FAIL'}  {self.name}" + (f": {self.detail}" if self.detail else "")


def _check(name, offenders, describe=str, total=None):
    offenders = list(offenders)
    if not offenders:
        return Check(name, True)
    count = total if total is not None else len(offenders)
    shown = "; ".join(describe(row) for row in offenders[:SHOW])
    return Check(name, False, f"{count} offending: {shown}{' …' if count > SHOW else ''}")


def check_stock():
    from coupons.models import Batch

    over = Batch.objects.filter(issued__gt=F("quantity")).values_list("code", "issued", "quantity")
    return _check("stock: no batch issued more than its quantity", over, lambda r: f"{r[0]} issued {r[1]} of {r[2]}")


def check_issued_counters():
    from coupons.models import Batch, Coupon

    claimed = dict(
        Coupon.objects.exclude(status=Coupon.Status.AVAILABLE)
        .values("batch_id")
        .annotate(n=Count("id"))
        .values_list("batch_id", "n")
    )
    wrong = [
        (code, issued, claimed.get(pk, 0))
        for pk, code, issued in Batch.objects.order_by("id").values_list("id", "code", "issued")
        if issued != claimed.get(pk, 0)
    ]
    result = _check(
        "issued = claimed coupon rows, per batch", wrong, lambda r: f"{r[0]} issued {r[1]}, claimed rows {r[2]}"
    )
    if result.ok:
        result.detail = f"{len(claimed)} batches with claims, {sum(claimed.values())} claimed rows"
    return result


def check_claimed_rows_have_owner():
    from coupons.models import Coupon

    orphan = (
        Coupon.objects.exclude(status=Coupon.Status.AVAILABLE)
        .filter(Q(customer__isnull=True) | Q(claimed_at__isnull=True))
        .count()
    )
    owned_free = Coupon.objects.filter(status=Coupon.Status.AVAILABLE, customer__isnull=False).count()
    ok = not orphan and not owned_free
    return Check(
        "claimed coupons have an owner, free ones none",
        ok,
        "" if ok else f"{orphan} claimed without owner or time, {owned_free} free with an owner",
    )


def check_limits():
    from coupons.models import Coupon

    claims = Coupon.objects.exclude(status=Coupon.Status.AVAILABLE).filter(is_compensation=False)
    per_customer = (
        claims.values("batch__code", "batch__per_customer_limit", "customer_id")
        .annotate(n=Count("id"))
        .filter(n__gt=F("batch__per_customer_limit"))
        .values_list("batch__code", "customer_id", "n", "batch__per_customer_limit")
    )
    per_day = (
        claims.values("batch__code", "batch__per_day_limit", "customer_id", "claim_day")
        .annotate(n=Count("id"))
        .filter(n__gt=F("batch__per_day_limit"))
        .values_list("batch__code", "customer_id", "n", "batch__per_day_limit")
    )
    return [
        _check(
            "per-customer limit: nobody holds more of a batch than allowed",
            per_customer[: SHOW + 1],
            lambda r: f"{r[0]} customer {r[1]} holds {r[2]} (limit {r[3]})",
        ),
        _check(
            "per-day limit: nobody claimed more of a batch on one day than allowed",
            per_day[: SHOW + 1],
            lambda r: f"{r[0]} customer {r[1]} claimed {r[2]} in a day (limit {r[3]})",
        ),
    ]


def check_budgets():
    from coupons.models import BudgetAccount, Coupon, Redemption

    live = {
        row["account_id"]: row
        for row in Redemption.objects.filter(reversed_at__isnull=True)
        .values("account_id")
        .annotate(used=Sum("subsidy"), gmv=Sum("order_amount"))
    }
    reserved = dict(
        Coupon.objects.filter(status=Coupon.Status.CLAIMED)
        .values("batch__campaign__budget_account_id")
        .annotate(r=Sum("reserved"))
        .values_list("batch__campaign__budget_account_id", "r")
    )
    used_wrong, reserved_wrong, below_zero = [], [], []
    accounts = list(BudgetAccount.objects.order_by("id").values_list("id", "total", "reserved", "used", "gmv"))
    for pk, total, account_reserved, used, gmv in accounts:
        row = live.get(pk, {})
        if used != (row.get("used") or ZERO) or gmv != (row.get("gmv") or ZERO):
            used_wrong.append((pk, used, row.get("used") or ZERO, gmv, row.get("gmv") or ZERO))
        if account_reserved != (reserved.get(pk) or ZERO):
            reserved_wrong.append((pk, account_reserved, reserved.get(pk) or ZERO))
        if account_reserved < 0 or used < 0 or total < account_reserved + used:
            below_zero.append((pk, total, account_reserved, used))
    checks = [
        _check(
            "budget used = Σ subsidies of live redemptions (GMV = Σ their order amounts)",
            used_wrong,
            lambda r: f"account {r[0]} used {r[1]} vs {r[2]}, GMV {r[3]} vs {r[4]}",
        ),
        _check(
            "budget reserved = Σ reservations of claimed coupons",
            reserved_wrong,
            lambda r: f"account {r[0]} reserved {r[1]} vs {r[2]}",
        ),
        _check(
            "budget never below zero (total ≥ reserved + used)",
            below_zero,
            lambda r: f"account {r[0]} total {r[1]}, reserved {r[2]}, used {r[3]}",
        ),
    ]
    if checks[0].ok:
        checks[0].detail = (
            f"{len(accounts)} accounts, used {sum((a[3] for a in accounts), ZERO)}, "
            f"reserved {sum((a[2] for a in accounts), ZERO)}"
        )
    return checks


def check_redemptions():
    from coupons.models import Coupon, Redemption

    live = Redemption.objects.filter(reversed_at__isnull=True)
    twice = live.values("coupon_id").annotate(n=Count("id")).filter(n__gt=1).values_list("coupon_id", "n")
    orders_twice = live.values("order_id").annotate(n=Count("id")).filter(n__gt=1).values_list("order_id", "n")
    redeemed_without = (
        Coupon.objects.filter(status=Coupon.Status.REDEEMED).exclude(redemptions__reversed_at__isnull=True).count()
    )
    live_on_unredeemed = live.exclude(coupon__status=Coupon.Status.REDEEMED).count()
    broken = live.filter(
        ~Q(coupon__customer_id=F("order__customer_id"))
        | ~Q(order__status="paid")
        | Q(order_amount__lt=F("coupon__batch__threshold"))
        | ~Q(order__discount=F("discount"))
        | ~Q(subsidy=F("platform_amount"))
        | ~Q(discount=F("platform_amount") + F("merchant_amount") + F("agent_amount"))
        | ~Q(batch_id=F("coupon__batch_id"))
    ).values_list("id", flat=True)
    return [
        _check("each coupon redeemed at most once", twice[: SHOW + 1], lambda r: f"coupon {r[0]}: {r[1]} live"),
        _check("one coupon per order", orders_twice[: SHOW + 1], lambda r: f"order {r[0]}: {r[1]} coupons"),
        Check(
            "a coupon is 'redeemed' exactly when it has a live redemption",
            not redeemed_without and not live_on_unredeemed,
            ""
            if not redeemed_without and not live_on_unredeemed
            else f"{redeemed_without} redeemed without one, {live_on_unredeemed} live on a coupon not redeemed",
        ),
        _check(
            "redemptions keep the rules (owner, paid order, threshold, discount, split)",
            broken[: SHOW + 1],
            lambda r: f"redemption {r}",
        ),
    ]


def check_customer_figures():
    """Each customer's order count and total spent = their paid orders (one grouped query)."""
    from customers.models import Customer, Order

    customers, orders = Customer._meta.db_table, Order._meta.db_table
    sql = (
        f"SELECT c.id, c.order_count, c.total_amount, COALESCE(o.n, 0), COALESCE(o.total, 0) "
        f"FROM {customers} c LEFT JOIN (SELECT customer_id, COUNT(*) AS n, SUM(amount) AS total "
        f"FROM {orders} WHERE status = %s GROUP BY customer_id) o ON o.customer_id = c.id "
        f"WHERE c.order_count <> COALESCE(o.n, 0) OR c.total_amount <> COALESCE(o.total, 0) "
        f"ORDER BY c.id LIMIT {SHOW + 1}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [Order.Status.PAID])
        rows = cursor.fetchall()
    return _check(
        "customer figures = their paid orders (count and total)",
        rows,
        lambda r: f"customer {r[0]}: {r[1]} orders / {r[2]} vs {r[3]} / {r[4]}",
    )


def check_pushed_orders(*, client_ids, with_items=(), refused_external_ids=()):
    """Orders the clients were told were stored with items have those items (their lines add up to
    the amount); orders refused for their coupon were not stored at all."""
    from django.db.models import DecimalField, ExpressionWrapper

    from customers.models import Order

    line_total = ExpressionWrapper(
        F("lines__price") * F("lines__quantity"), output_field=DecimalField(max_digits=14, decimal_places=2)
    )
    with_items, refused = list(with_items), list(refused_external_ids)
    wrong, found, stored = [], 0, []
    for start in range(0, len(with_items), 500):
        rows = (
            Order.objects.filter(client_id__in=client_ids, external_id__in=with_items[start : start + 500])
            .annotate(n=Count("lines"), lines_total=Sum(line_total))
            .values_list("external_id", "amount", "n", "lines_total")
        )
        for external_id, amount, n, total in rows:
            found += 1
            if not n or total != amount:
                wrong.append((external_id, amount, n, total))
    for start in range(0, len(refused), 500):
        stored += Order.objects.filter(
            client_id__in=client_ids, external_id__in=refused[start : start + 500]
        ).values_list("external_id", flat=True)
    items = _check(
        "orders pushed with items were stored with them (lines add up to the amount)",
        wrong,
        lambda r: f"order {r[0]}: amount {r[1]}, {r[2]} lines totalling {r[3]}",
    )
    if items.ok:
        items.detail = f"{found} of {len(with_items)} pushed orders found"
        if found != len(with_items):
            items.ok, items.detail = False, items.detail + ": some were answered 201 but not stored"
    refusals = _check("orders whose coupon was refused were not stored", stored, lambda r: f"order {r}")
    if refusals.ok:
        refusals.detail = f"{len(refused)} refused orders looked up"
    return [items, refusals]


def reconcile(*, client_ids=None, pushed_with_items=(), refused_external_ids=(), customer_figures=True):
    """Run every check; returns a list of :class:`Check` (all ``ok`` when the data reconciles).

    ``client_ids`` (the API clients of a run) with the external ids of the orders they pushed with
    items and of those refused for their coupon add the pushed-orders checks;
    ``customer_figures=False`` skips the per-customer check (a full pass over the orders)."""
    checks = [
        check_stock(),
        check_issued_counters(),
        check_claimed_rows_have_owner(),
        *check_limits(),
        *check_budgets(),
        *check_redemptions(),
    ]
    if customer_figures:
        checks.append(check_customer_figures())
    if client_ids:
        checks += check_pushed_orders(
            client_ids=client_ids, with_items=pushed_with_items, refused_external_ids=refused_external_ids
        )
    return checks


def failures(checks):
    return [check for check in checks if not check.ok]
