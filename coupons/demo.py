"""Demo coupons: fiscal periods, a budget account per department and quarter, campaigns and batches
in every status, produced codes, claims, and redemptions on existing demo orders.

``small``: a dozen batches, a few hundred coupons. ``large``: 100 batches and 1,000,000 coupons
produced through the COPY production path, about a third of the live batches' codes claimed and a
part of those redeemed. Redemptions use real paid orders of the claiming customer placed inside the
coupon's window, meeting the threshold and the margin, one coupon per order; the counters are then
set from the rows (a batch's issued = its claimed rows, a budget's used = Σ subsidies, its GMV =
Σ order amounts, reserved = Σ reservations of claimed coupons), so the data reconciles.

Load it into a database that already holds the other demo data with :func:`seed_existing`.
"""

import bisect
import datetime
import io
import math
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection, transaction
from django.db.models import Count, F, OuterRef, Q, Subquery, Sum

from crm.demo import existing_context
from customers.demo import PRODUCTS
from customers.models import Customer, Order

from .models import Batch, BudgetAccount, BudgetAllocation, Campaign, CompensationRule, Coupon, FiscalPeriod, Redemption
from .services import production
from .services.batches import max_subsidy, validate_batch
from .services.subsidy_plans import save_version

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
SIZES = {
    "small": {"campaigns": 4, "produced": 8, "quantity": 60, "other": 4, "days": 120},
    "large": {"campaigns": 20, "produced": 80, "quantity": 12_500, "other": 19, "days": 330},
}
CHANNELS = ["app", "mini_program", "store", "sales"]
# (name, discount type, amount, threshold, percent, cap, platform/merchant/agent shares)
TEMPLATES = [
    ("满200减20", "threshold", "20", "200", "0", None, (100, 0, 0)),
    ("满1000减100", "threshold", "100", "1000", "0", None, (70, 30, 0)),
    ("满50立减10", "fixed", "10", "50", "0", None, (100, 0, 0)),
    ("全场9折", "percent", "0", "0", "10", "200", (100, 0, 0)),
    ("满3000减300", "threshold", "300", "3000", "0", None, (60, 20, 20)),
]
CAMPAIGN_NAMES = ["寒假招生", "春季开学季", "暑期班预售", "双十一", "老带新", "周年庆", "编程体验周", "钢琴节"]
DEPARTMENTS = [("sales1", "manager1"), ("sales2", "manager2"), ("marketing", "marketing")]


def _money(value):
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def _quarter(day):
    first_month = 3 * ((day.month - 1) // 3) + 1
    start = datetime.date(day.year, first_month, 1)
    end = datetime.date(day.year + (first_month + 3 > 12), (first_month + 2) % 12 + 1, 1) - datetime.timedelta(days=1)
    return start, end


def _periods(ctx, earliest):
    """A quarter period from the one holding ``earliest`` to the one after the anchor."""
    periods = []
    day = earliest
    last = (ctx.anchor + datetime.timedelta(days=92)).date()
    while day <= last:
        start, end = _quarter(day)
        period, _ = FiscalPeriod.objects.get_or_create(
            name=f"{start.year}Q{(start.month - 1) // 3 + 1}",
            defaults={"kind": FiscalPeriod.Kind.QUARTER, "start": start, "end": end},
        )
        periods.append(period)
        day = end + datetime.timedelta(days=1)
    return periods


def _period_of(periods, day):
    return next((p for p in periods if p.start <= day <= p.end), periods[-1])


def _plan(ctx, size):
    """The batches' settings (not saved yet): windows, statuses, types, campaigns."""
    rng = ctx.rng
    anchor = ctx.anchor
    produced, other = size["produced"], size["other"]
    plans = []
    # produced batches: a few approved (not started), most active, some paused, some ended
    approved = max(1, produced // 16)
    paused = max(1, produced // 8)
    ended = max(1, produced // 8)
    statuses = [Batch.Status.APPROVED] * approved + [Batch.Status.PAUSED] * paused + [Batch.Status.ENDED] * ended
    statuses += [Batch.Status.ACTIVE] * (produced - len(statuses))
    rng.shuffle(statuses)
    for index, status in enumerate(statuses):
        if status == Batch.Status.ENDED:
            start = anchor - datetime.timedelta(days=rng.uniform(60, size["days"]))
            end = start + datetime.timedelta(days=rng.uniform(20, 45))
        elif status == Batch.Status.APPROVED:
            start = anchor - datetime.timedelta(days=rng.uniform(0, 3))
            end = start + datetime.timedelta(days=60)
        else:
            start = anchor - datetime.timedelta(days=rng.uniform(5, 75))
            end = start + datetime.timedelta(days=rng.uniform(80, 89))
        plans.append(
            {
                "status": status,
                "start": start,
                "end": end,
                "quantity": size["quantity"],
                "production": Batch.Production.ON_APPROVAL,
                "template": TEMPLATES[index % len(TEMPLATES)],
            }
        )
    # batches before production: drafts, submitted, rejected (no codes)
    for index in range(other):
        status = [Batch.Status.DRAFT, Batch.Status.SUBMITTED, Batch.Status.REJECTED][index % 3]
        start = anchor + datetime.timedelta(days=rng.uniform(3, 20))
        plans.append(
            {
                "status": status,
                "start": start,
                "end": start + datetime.timedelta(days=30),
                "quantity": size["quantity"] // 2,
                "production": Batch.Production.ON_APPROVAL,
                "template": TEMPLATES[index % len(TEMPLATES)],
            }
        )
    return plans


def seed(ctx):
    size = SIZES[ctx.size]
    plans = _plan(ctx, size)
    periods = _periods(ctx, min(p["start"] for p in plans).date())
    admin = ctx.users["admin"]
    accounts = {}
    for period in periods:
        for department_key, owner in DEPARTMENTS:
            accounts[(period.pk, department_key)] = BudgetAccount.objects.create(
                period=period,
                department=ctx.departments[department_key],
                owner=ctx.users[owner],
                target_gmv=Decimal(2_000_000 if ctx.size == "small" else 400_000_000) / len(DEPARTMENTS),
                low_balance_alert=Decimal(1000 if ctx.size == "small" else 100_000),
            )
    # campaigns: consecutive batches (by claim start) share one
    plans.sort(key=lambda p: p["start"])
    per_campaign = math.ceil(len(plans) / size["campaigns"])
    campaigns = []
    for number, first in enumerate(range(0, len(plans), per_campaign)):
        group = plans[first : first + per_campaign]
        department_key, owner = DEPARTMENTS[number % len(DEPARTMENTS)]
        start = min(p["start"] for p in group).date()
        account = accounts[(_period_of(periods, start).pk, department_key)]
        campaign = Campaign.objects.create(
            name=f"{CAMPAIGN_NAMES[number % len(CAMPAIGN_NAMES)]} #{number + 1}",
            owner=ctx.users["marketing"],
            department=account.department,
            budget_account=account,
            goal="拉新与复购",
            target_gmv=Decimal(300_000 if ctx.size == "small" else 20_000_000),
            start=start,
            end=max(p["end"] for p in group).date(),
        )
        campaigns.append(campaign)
        for plan in group:
            plan["campaign"] = campaign
    batches = []
    for index, plan in enumerate(plans):
        name, kind, amount, threshold, percent, cap, shares = plan["template"]
        status = plan["status"]
        batch = Batch(
            campaign=plan["campaign"],
            code=f"demo{index + 1:03d}",
            name=name,
            discount_type=kind,
            amount=Decimal(amount),
            threshold=Decimal(threshold),
            percent=Decimal(percent),
            cap=Decimal(cap) if cap else None,
            channels="",
            quantity=plan["quantity"],
            per_customer_limit=1,
            per_day_limit=1,
            claim_start=plan["start"],
            claim_end=plan["end"],
            use_days=7,
            platform_share=shares[0],
            merchant_share=shares[1],
            agent_share=shares[2],
            production=plan["production"],
            status=status,
            created_by=ctx.users["marketing"],
            created_at=plan["start"] - datetime.timedelta(days=5),
            low_stock_alert=plan["quantity"] // 20,
        )
        if status != Batch.Status.DRAFT:
            batch.submitted_at = batch.created_at + datetime.timedelta(hours=2)
        if status in (Batch.Status.APPROVED, Batch.Status.ACTIVE, Batch.Status.PAUSED, Batch.Status.ENDED):
            batch.approved_by = ctx.users["director"]
            batch.approved_at = batch.created_at + datetime.timedelta(days=1)
        if status == Batch.Status.REJECTED:
            batch.reject_reason = "门槛太低，毛利不够，请调整后再提交。"
        batches.append(batch)
    if ctx.size == "small":
        batches[0].budget_mode = Batch.BudgetMode.RESERVE_AT_CLAIM
    # allocate enough budget for every batch on each account, with the history of the allocation
    need = {}
    for batch in batches:
        need[batch.campaign.budget_account_id] = need.get(batch.campaign.budget_account_id, 0) + (
            max_subsidy(batch) or Decimal(0)
        )
    for account in accounts.values():
        total = Decimal(math.ceil(float(need.get(account.pk, 0)) * 1.3 / 10_000 + 1) * 10_000)
        BudgetAccount.objects.filter(pk=account.pk).update(total=total)
        account.total = total
        BudgetAllocation.objects.create(
            account=account,
            amount=total,
            total_after=total,
            note="年度预算分配",
            by=admin,
            at=ctx.anchor - datetime.timedelta(days=size["days"] + 10),
        )
    for batch in batches:
        validate_batch(batch)
    Batch.objects.bulk_create(batches)
    batches = list(Batch.objects.filter(code__startswith="demo").select_related("campaign").order_by("code"))
    # a compensation batch (issued on demand) and its rule
    compensation = Batch.objects.create(
        campaign=campaigns[-1],
        code="demo-comp",
        name="补偿券",
        discount_type="threshold",
        amount=Decimal("30"),
        threshold=Decimal("99"),
        quantity=10_000,
        per_customer_limit=5,
        per_day_limit=2,
        claim_start=ctx.anchor - datetime.timedelta(days=30),
        claim_end=ctx.anchor + datetime.timedelta(days=59),
        use_days=7,
        production=Batch.Production.LAZY,
        status=Batch.Status.ACTIVE,
        created_by=ctx.users["marketing"],
        approved_by=ctx.users["director"],
        approved_at=ctx.anchor - datetime.timedelta(days=30),
    )
    CompensationRule.objects.create(department=ctx.departments["company"], batch=compensation)
    produced = 0
    for batch in batches:
        if batch.status in (Batch.Status.APPROVED, Batch.Status.ACTIVE, Batch.Status.PAUSED, Batch.Status.ENDED):
            if batch.status == Batch.Status.ENDED:  # produce as it was when running
                Batch.objects.filter(pk=batch.pk).update(status=Batch.Status.ACTIVE)
            produced += production.produce(batch)[0]
            if batch.status == Batch.Status.ENDED:
                Batch.objects.filter(pk=batch.pk).update(status=Batch.Status.ENDED)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # fresh statistics for the look-ups below
            cursor.execute(f"ANALYZE {Coupon._meta.db_table}")
    ctx.log(
        f"  coupons: {len(periods)} periods, {len(accounts)} budget accounts, {len(campaigns)} campaigns, "
        f"{len(batches) + 1} batches, {produced} codes produced"
    )
    claimed, redeemed = _claims(
        ctx, [b for b in batches if b.status in (Batch.Status.ACTIVE, Batch.Status.PAUSED, Batch.Status.ENDED)]
    )
    reconcile_counters()
    ctx.log(f"  coupons: {claimed} claimed, {redeemed} redeemed on demo orders")
    if ctx.size == "small":
        _subsidy_plan(ctx)


def _orders_by_time(ctx, since):
    """Paid demo orders placed since ``since``: parallel lists sorted by time (compact for the large set)."""
    times, rows = [], []
    query = (
        Order.objects.filter(status=Order.Status.PAID, placed_at__gte=since, placed_at__lte=ctx.anchor)
        .order_by("placed_at")
        .values_list("placed_at", "id", "customer_id", "amount", "cost")
    )
    for placed, order_id, customer_id, amount, cost in query.iterator(chunk_size=20_000):
        times.append(placed.timestamp())
        rows.append((order_id, customer_id, amount, cost))
    return times, rows


def _discount(batch, amount):
    if batch.discount_type == Batch.DiscountType.PERCENT:
        return _money(min(amount * batch.percent / HUNDRED, batch.cap or amount))
    return _money(min(batch.amount, amount))


def _claims(ctx, batches):
    """Claim a share of each live batch's codes (distinct customers per batch) and redeem a part of
    them on the claiming customers' own paid orders inside the coupons' windows."""
    rng = ctx.rng
    if not batches:
        return 0, 0
    since = min(b.claim_start for b in batches)
    times, orders = _orders_by_time(ctx, since)
    customer_ids = list(Customer.objects.order_by("id").values_list("id", flat=True))
    used_orders = set()
    claims, redeemed = [], 0
    for batch in batches:
        window_end = min(batch.claim_end, ctx.anchor)
        n_claims = int(batch.quantity * rng.uniform(0.2, 0.45))
        n_redeem = int(n_claims * rng.uniform(0.3, 0.5))
        taken = set()
        # redeemed: orders placed in the window (an hour after it opens), meeting threshold and margin
        low = bisect.bisect_left(times, (batch.claim_start + datetime.timedelta(hours=1)).timestamp())
        high = bisect.bisect_right(times, window_end.timestamp())
        tries = 0
        while n_redeem and high > low and tries < n_redeem * 20:
            tries += 1
            position = rng.randrange(low, high)
            order_id, customer_id, amount, cost = orders[position]
            if order_id in used_orders or customer_id in taken or amount < max(batch.threshold, CENT):
                continue
            discount = _discount(batch, amount)
            if cost is not None and amount - discount < cost:
                continue
            placed = datetime.datetime.fromtimestamp(times[position], tz=datetime.UTC)
            earliest = max(batch.claim_start, placed - datetime.timedelta(days=batch.use_days - 1))
            claimed_at = earliest + (placed - earliest) * rng.uniform(0.1, 0.95)
            used_orders.add(order_id)
            taken.add(customer_id)
            platform = _money(discount * batch.platform_share / HUNDRED)
            merchant = _money(discount * batch.merchant_share / HUNDRED)
            claims.append(
                (
                    batch,
                    customer_id,
                    claimed_at,
                    Coupon.Status.REDEEMED,
                    dict(
                        order_id=order_id,
                        account_id=batch.campaign.budget_account_id,
                        order_amount=amount,
                        discount=discount,
                        subsidy=platform,
                        platform_amount=platform,
                        merchant_amount=merchant,
                        agent_amount=discount - platform - merchant,
                        at=placed,
                    ),
                )
            )
            redeemed += 1
            n_redeem -= 1
            n_claims -= 1
        span = (window_end - batch.claim_start).total_seconds()
        for customer_id in rng.sample(customer_ids, min(len(customer_ids), n_claims + len(taken))):
            if n_claims <= 0:
                break
            if customer_id in taken:
                continue
            taken.add(customer_id)
            claims.append(
                (
                    batch,
                    customer_id,
                    batch.claim_start + datetime.timedelta(seconds=rng.uniform(0, span)),
                    Coupon.Status.CLAIMED,
                    None,
                )
            )
            n_claims -= 1
    _write_claims(ctx, claims)
    return len(claims), redeemed


def _write_claims(ctx, claims):
    """Give the claimed codes to their customers (the batch's first available codes) and store the
    redemptions. ``claims``: (batch, customer id, claimed at, status, redemption values or None)."""
    rng = ctx.rng
    by_batch = {}
    for claim in claims:
        by_batch.setdefault(claim[0].pk, []).append(claim)
    updates = []  # (coupon id, status, customer id, channel, amount, reserved, claimed_at, valid_until)
    redemptions = []
    for batch_id, items in by_batch.items():
        ids = list(
            Coupon.objects.filter(batch_id=batch_id, status=Coupon.Status.AVAILABLE)
            .order_by("id")
            .values_list("id", flat=True)[: len(items)]
        )
        for coupon_id, (batch, customer_id, claimed_at, status, redemption) in zip(ids, items):
            amount = batch.amount if batch.discount_type != Batch.DiscountType.PERCENT else Decimal(0)
            reserved = Decimal(0)
            if batch.budget_mode == Batch.BudgetMode.RESERVE_AT_CLAIM and status == Coupon.Status.CLAIMED:
                cap = amount if batch.discount_type != Batch.DiscountType.PERCENT else (batch.cap or Decimal(0))
                reserved = _money(cap * batch.platform_share / HUNDRED)
            updates.append(
                (
                    coupon_id,
                    status,
                    customer_id,
                    rng.choice(CHANNELS),
                    amount,
                    reserved,
                    claimed_at,
                    claimed_at + datetime.timedelta(days=batch.use_days),
                )
            )
            if redemption is not None:
                redemptions.append(Redemption(coupon_id=coupon_id, batch_id=batch.pk, **redemption))
    if connection.vendor == "postgresql" and len(updates) > 10_000:
        _update_pg(updates)
    else:
        objects = []
        for coupon_id, status, customer_id, channel, amount, reserved, claimed_at, valid_until in updates:
            objects.append(
                Coupon(
                    id=coupon_id,
                    status=status,
                    customer_id=customer_id,
                    channel=channel,
                    amount=amount,
                    reserved=reserved,
                    claimed_at=claimed_at,
                    claim_day=_local_day(claimed_at),
                    valid_from=claimed_at,
                    valid_until=valid_until,
                )
            )
        Coupon.objects.bulk_update(
            objects,
            [
                "status",
                "customer",
                "channel",
                "amount",
                "reserved",
                "claimed_at",
                "claim_day",
                "valid_from",
                "valid_until",
            ],
            batch_size=2000,
        )
    Redemption.objects.bulk_create(redemptions, batch_size=5000)
    # the orders carry their coupon discount, as after a real redemption
    live = Redemption.objects.filter(order=OuterRef("pk"), reversed_at__isnull=True)
    Order.objects.filter(pk__in=Redemption.objects.filter(reversed_at__isnull=True).values("order_id")).update(
        discount=Subquery(live.values("discount")[:1])
    )


def _local_day(moment):
    from django.utils import timezone

    return timezone.localtime(moment).date()


def _update_pg(updates):
    buffer = io.StringIO()
    for coupon_id, status, customer_id, channel, amount, reserved, claimed_at, valid_until in updates:
        buffer.write(
            f"{coupon_id}\t{status}\t{customer_id}\t{channel}\t{amount}\t{reserved}\t"
            f"{claimed_at.isoformat()}\t{_local_day(claimed_at).isoformat()}\t{valid_until.isoformat()}\n"
        )
    buffer.seek(0)
    table = Coupon._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("""CREATE TEMP TABLE demo_claims (id bigint, status varchar(10), customer_id bigint,
                          channel varchar(30), amount numeric, reserved numeric, claimed_at timestamptz,
                          claim_day date, valid_until timestamptz) ON COMMIT DROP""")
        cursor.cursor.copy_expert("COPY demo_claims FROM STDIN", buffer)
        cursor.execute("ANALYZE demo_claims")
        cursor.execute(f"""UPDATE {table} c SET status = d.status, customer_id = d.customer_id, channel = d.channel,
                               amount = d.amount, reserved = d.reserved, claimed_at = d.claimed_at,
                               claim_day = d.claim_day, valid_from = d.claimed_at, valid_until = d.valid_until
                           FROM demo_claims d WHERE c.id = d.id""")
        cursor.execute("DROP TABLE demo_claims")


def reconcile_counters():
    """Set each batch's issued count and each budget's reserved, used and GMV from the rows."""
    issued = dict(
        Coupon.objects.exclude(status=Coupon.Status.AVAILABLE)
        .values("batch_id")
        .annotate(n=Count("id"))
        .values_list("batch_id", "n")
    )
    batches = list(Batch.objects.only("id", "issued"))
    for batch in batches:
        batch.issued = issued.get(batch.pk, 0)
    Batch.objects.bulk_update(batches, ["issued"], batch_size=500)
    used = {
        row["account_id"]: row
        for row in Redemption.objects.filter(reversed_at__isnull=True)
        .values("account_id")
        .annotate(used=Sum("subsidy"), gmv=Sum("order_amount"))
    }
    reserved = dict(
        Coupon.objects.filter(status=Coupon.Status.CLAIMED, reserved__gt=0)
        .values("batch__campaign__budget_account_id")
        .annotate(r=Sum("reserved"))
        .values_list("batch__campaign__budget_account_id", "r")
    )
    for account in BudgetAccount.objects.all():
        row = used.get(account.pk, {})
        BudgetAccount.objects.filter(pk=account.pk).update(
            used=row.get("used") or 0, gmv=row.get("gmv") or 0, reserved=reserved.get(account.pk) or 0
        )


def _subsidy_plan(ctx):
    """A saved subsidy plan over the demo products (two versions: t = 1, then t = 2)."""
    rng = ctx.rng
    rows = [
        {
            "id": sku,
            "name": category,
            "conversion": f"{rng.uniform(0.02, 0.25):.3f}",
            "repurchase": f"{rng.uniform(0.05, 0.6):.3f}",
            "aov": str(price),
        }
        for sku, category, price in PRODUCTS
    ]
    columns = ["id", "name", "conversion", "repurchase", "aov"]
    weights = {"conversion": 0.4, "repurchase": 0.3, "aov": 0.3}
    first = save_version(
        actor=ctx.users["marketing"],
        name="课程补贴策略",
        columns=columns,
        rows=rows,
        a=5,
        b=50,
        t=1,
        weights=weights,
        budget=Decimal("200"),
        source_name="subsidy-plan.csv",
    )
    save_version(
        actor=ctx.users["marketing"],
        plan=first.plan,
        columns=columns,
        rows=rows,
        a=5,
        b=50,
        t=2,
        weights=weights,
        budget=Decimal("200"),
        source_name="subsidy-plan.csv",
        note="t 调到 2，控制总额",
    )


def check(stdout=None):
    """Problems that would make the coupon data not reconcile (an empty list when all is well)."""
    problems = []
    issued = dict(
        Coupon.objects.exclude(status=Coupon.Status.AVAILABLE)
        .values("batch_id")
        .annotate(n=Count("id"))
        .values_list("batch_id", "n")
    )
    for batch in Batch.objects.all():
        if batch.issued != issued.get(batch.pk, 0) or batch.issued > batch.quantity:
            problems.append(f"batch {batch.code}: issued {batch.issued}, claimed rows {issued.get(batch.pk, 0)}")
    used = {
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
    for account in BudgetAccount.objects.all():
        row = used.get(account.pk, {})
        if account.used != (row.get("used") or 0) or account.gmv != (row.get("gmv") or 0):
            problems.append(f"account {account.pk}: used {account.used} vs {row.get('used')}, gmv {account.gmv}")
        if account.reserved != (reserved.get(account.pk) or 0):
            problems.append(f"account {account.pk}: reserved {account.reserved} vs {reserved.get(account.pk)}")
        if account.balance < 0:
            problems.append(f"account {account.pk}: balance {account.balance}")
    over = (
        Coupon.objects.exclude(status=Coupon.Status.AVAILABLE)
        .values("batch_id", "batch__per_customer_limit", "customer_id")
        .annotate(n=Count("id"))
        .filter(n__gt=F("batch__per_customer_limit"))
        .count()
    )
    if over:
        problems.append(f"{over} customers above a batch's per-customer limit")
    bad = (
        Redemption.objects.filter(reversed_at__isnull=True)
        .filter(
            ~Q(coupon__status=Coupon.Status.REDEEMED)
            | ~Q(coupon__customer_id=F("order__customer_id"))
            | Q(order_amount__lt=F("coupon__batch__threshold"))
            | ~Q(order__discount=F("discount"))
            | ~Q(batch_id=F("coupon__batch_id"))
            | Q(at__lt=F("coupon__valid_from"))
            | Q(at__gt=F("coupon__valid_until"))
        )
        .count()
    )
    if bad:
        problems.append(f"{bad} redemptions that break a rule")
    orphans = (
        Coupon.objects.filter(status=Coupon.Status.REDEEMED).exclude(redemptions__reversed_at__isnull=True).count()
    )
    if orphans:
        problems.append(f"{orphans} redeemed coupons without a redemption")
    return problems


def seed_existing(*, size="large", random_seed=1):
    """Add the coupons part to a database that already holds the rest of the demo set (users and
    departments from ``seed_demo``, customers and orders), in one transaction."""
    import sys

    from django.core.management.base import OutputWrapper

    ctx = existing_context(size=size, seed=random_seed, stdout=OutputWrapper(sys.stdout))
    with transaction.atomic():
        seed(ctx)
    return ctx
