"""Claiming (领券) and redeeming (核销) coupons, with every rule enforced in the database.

Claim: the batch must be active and inside its claim window; the customer's row is locked so that
their per-batch, per-day and decay counts cannot race; stock is taken by ``UPDATE … SET issued =
issued + 1 WHERE issued < quantity``; a reserve-mode batch reserves the amount with a conditional
UPDATE on the budget (on PostgreSQL the counts, the budget, the stock and the code are one statement
after the lock). Redeem: the coupon row is locked,
partial unique indexes allow one live redemption per coupon and per order, and the budget is
charged with a conditional UPDATE — so no batch over-issues, no customer passes a limit and no
budget goes below zero, whatever the concurrency.
"""

import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_noop as N_

from crm.errors import Conflict
from customers import registry
from customers.models import Customer, Order

from ..models import Batch, BudgetAccount, Campaign, Coupon, Redemption
from . import budgets, codes

CENT = Decimal("0.01")
HUNDRED = Decimal(100)


def _money(value):
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def decayed_amount(batch, *, previous_claims, is_new):
    """Repeated claims of one coupon type in one channel decay ("lucky red packets"): the face value
    × factor^n for the customer's n earlier claims, rounded to cents, never below the floor (nor
    below one cent: never ¥0) and never above the face value; new customers get the batch's bonus
    on top. Percentage coupons do not decay (their configuration refuses a factor below 1)."""
    amount = batch.amount
    if _decays(batch):
        floor = max(batch.decay_floor, CENT)
        amount = min(max(_money(amount * batch.decay_factor**previous_claims), floor), amount)
    if is_new:
        amount += batch.new_customer_bonus
    return _money(amount)


def _decays(batch):
    """Whether a claim's amount depends on the customer's earlier claims of the coupon type."""
    return batch.decay_factor < 1 and batch.discount_type != Batch.DiscountType.PERCENT and batch.amount > 0


def _eligible(batch: Batch, customer: Customer) -> bool:
    if batch.audience == Batch.Audience.NEW:
        return customer.order_count == 0
    if batch.audience == Batch.Audience.EXISTING:
        return customer.order_count > 0
    if batch.audience == Batch.Audience.TAG:
        return customer.tag_links.filter(tag_id=batch.audience_tag_id).exists()
    if batch.audience == Batch.Audience.SEGMENT:
        condition = registry.segment_condition("customers", batch.audience_segment.definition)
        return condition is None or type(customer).objects.filter(condition, pk=customer.pk).exists()
    return True


def _validity(batch, now):
    if batch.use_days is not None:
        return now, now + datetime.timedelta(days=batch.use_days)
    return batch.use_start, batch.use_end


def _row_lock(*, of=(), skip_locked=False):
    """The clause that locks the rows a SELECT reads, as the ORM's ``select_for_update`` writes it;
    nothing where the database has no row locks: SQLite runs one writing transaction at a time
    (``transaction_mode`` IMMEDIATE takes the database's write lock at BEGIN), which serializes
    claims more strictly than any row lock."""
    features = connection.features
    if not features.has_select_for_update:
        return ""
    return " " + connection.ops.for_update_sql(
        of=of if features.has_select_for_update_of else (),
        skip_locked=skip_locked and features.has_select_for_update_skip_locked,
    )


def _lock_customer_and_read_batch(batch_code, customer_id, customer_mobile):
    """Statement 1: lock the customer's row — every claim of a customer waits for the one before,
    so their counts (per batch, per day, and of the coupon type across batches for the decay)
    cannot race — and read the batch with its budget account in the same round trip. Returns
    ``(batch or None, account_id, balance, customer_id, order_count)``; raises
    ``Customer.DoesNotExist``."""
    fields = list(Batch._meta.concrete_fields)
    columns = ", ".join(f'b."{f.column}"' for f in fields)
    if customer_id is not None:
        where, param = "c.id = %s", customer_id
    else:
        where, param = (
            "c.id = (SELECT id FROM customers_customer WHERE mobile = %s ORDER BY id LIMIT 1)",
            customer_mobile,
        )
    sql = (
        f"SELECT c.id, c.order_count, a.id, a.total - a.reserved - a.used, {columns} "
        f"FROM customers_customer c LEFT JOIN ({Batch._meta.db_table} b "
        f"JOIN {Campaign._meta.db_table} k ON k.id = b.campaign_id "
        f"JOIN {BudgetAccount._meta.db_table} a ON a.id = k.budget_account_id) ON b.code = %s "
        f"WHERE {where}{_row_lock(of=('c',))}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [(batch_code or "").lower(), param])
        row = cursor.fetchone()
    if row is None:
        raise Customer.DoesNotExist
    customer_pk, order_count, account_id, balance = row[:4]
    batch = None
    if row[4] is not None:
        batch = Batch.from_db(connection.alias, [f.attname for f in fields], _converted(fields, row[4:]))
    return batch, account_id, _decimal(balance), customer_pk, order_count


def _converted(fields, raw):
    """Column values as the ORM would give them (SQLite returns decimals, dates and booleans raw)."""
    values = []
    for f, value in zip(fields, raw):
        expression = f.get_col(Batch._meta.db_table)
        for converter in connection.ops.get_db_converters(expression) + f.get_db_converters(connection):
            value = converter(value, expression, connection)
        values.append(value)
    return values


def _decimal(value):
    return None if value is None else _money(value)


def _held(*, batch, customer_id, channel, today):
    """Statement 2, read after the customer's lock was granted (so it sees every claim of this
    customer committed before): how many coupons of the batch the customer holds, how many of
    them were claimed today, and how many coupons of the same type (discount method and scope)
    the customer claimed before through this channel, in any batch — the decay's count."""
    coupon, batch_table = Coupon._meta.db_table, Batch._meta.db_table
    same_type = "c.channel = %s AND b.discount_type = %s AND b.scope = %s AND b.scope_values = %s"
    sql = f"""
        SELECT COALESCE(SUM(CASE WHEN c.batch_id = %s THEN 1 ELSE 0 END), 0),
               COALESCE(SUM(CASE WHEN c.batch_id = %s AND c.claim_day = %s THEN 1 ELSE 0 END), 0),
               COALESCE(SUM(CASE WHEN {same_type} AND NOT c.is_compensation THEN 1 ELSE 0 END), 0)
        FROM {coupon} c JOIN {batch_table} b ON b.id = c.batch_id
        WHERE c.customer_id = %s AND (c.batch_id = %s OR c.channel = %s)"""
    kind = [channel, batch.discount_type, batch.scope, batch.scope_values]
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [batch.pk, batch.pk, connection.ops.adapt_datefield_value(today), *kind, customer_id, batch.pk, channel],
        )
        return [int(n) for n in cursor.fetchone()]


def _take_produced_code(batch, values):
    """Statement 3 where each step is a statement of its own: fill in the first free produced code of the batch (``SKIP LOCKED``: parallel
    claims take different codes). Returns ``(id, code)`` or None when no produced code is free."""
    table = Coupon._meta.db_table
    names = list(values)
    fields = [Coupon._meta.get_field(name) for name in names]
    assignments = ", ".join(f'"{f.column}" = %s' for f in fields)
    params = [f.get_db_prep_save(values[name], connection) for f, name in zip(fields, names)]
    sql = (
        f"UPDATE {table} SET {assignments} WHERE id = (SELECT id FROM {table} WHERE batch_id = %s AND "
        f"status = %s ORDER BY id LIMIT 1{_row_lock(skip_locked=True)}) RETURNING id, code"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, batch.pk, Coupon.Status.AVAILABLE])
        return cursor.fetchone()


def _claim_statement(*, batch, customer_id, today, limits, account_id, reserve, values):
    """PostgreSQL: the rest of a claim in one statement, run after the customer's lock was granted
    (so its counts see every claim of this customer committed before). In order: the customer's
    counts of the batch (all, today's) against ``limits`` — ``(per customer, per day)``, or None
    for a compensation coupon — then, only within them, the budget's reservation (``reserve`` > 0:
    ``total >= reserved + used + reserve``), then, only if that was granted, the stock (``issued <
    quantity``), then, only if the stock was taken, the first free produced code of the batch
    (``SKIP LOCKED``: parallel claims take different codes). Every step is the same conditional
    UPDATE as on its own; a refusal leaves the steps after it undone, and the caller's transaction
    rolls back the ones before it. Returns ``(held, held_today, reserved, stock_taken, taken)``
    with ``taken`` the produced code's ``(id, code)`` or None."""
    coupon, batch_table, account_table = Coupon._meta.db_table, Batch._meta.db_table, BudgetAccount._meta.db_table
    params = [connection.ops.adapt_datefield_value(today), customer_id, batch.pk]
    if limits is None:
        allowed = "SELECT 1"
    else:
        allowed, params = "SELECT 1 FROM held WHERE total < %s AND today < %s", [*params, *limits]
    steps = ["EXISTS (SELECT 1 FROM allowed)"]
    budget = ""
    if reserve > 0:
        budget = (
            f", budget AS (UPDATE {account_table} SET reserved = reserved + %s "
            f"WHERE id = %s AND total >= reserved + used + %s AND {steps[0]} RETURNING id)"
        )
        params += [reserve, account_id, reserve]
        steps.append("EXISTS (SELECT 1 FROM budget)")
    stock = (
        f", stock AS (UPDATE {batch_table} SET issued = issued + 1 "
        f"WHERE id = %s AND issued < quantity AND {' AND '.join(steps)} RETURNING id)"
    )
    params.append(batch.pk)
    taken, answer = "", "NULL, NULL"
    if batch.produced:
        names = list(values)
        fields = [Coupon._meta.get_field(name) for name in names]
        assignments = ", ".join(f'"{f.column}" = %s' for f in fields)
        params += [f.get_db_prep_save(values[name], connection) for f, name in zip(fields, names)]
        taken = (
            f", taken AS (UPDATE {coupon} SET {assignments} WHERE id = (SELECT id FROM {coupon} "
            f"WHERE batch_id = (SELECT id FROM stock) AND status = %s ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) "
            f"RETURNING id, code)"
        )
        params.append(Coupon.Status.AVAILABLE)
        answer = "(SELECT id FROM taken), (SELECT code FROM taken)"
    sql = (
        f"WITH held AS (SELECT COUNT(*) AS total, COUNT(*) FILTER (WHERE claim_day = %s) AS today "
        f"FROM {coupon} WHERE customer_id = %s AND batch_id = %s), allowed AS ({allowed}){budget}{stock}{taken} "
        f"SELECT total, today, {'EXISTS (SELECT 1 FROM budget)' if budget else 'TRUE'}, "
        f"EXISTS (SELECT 1 FROM stock), {answer} FROM held"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        held, held_today, reserved, stock_taken, taken_id, taken_code = cursor.fetchone()
    return int(held), int(held_today), reserved, stock_taken, None if taken_id is None else (taken_id, taken_code)


def _refuse(code):
    raise Conflict(code, REFUSALS[code])


#: Every refusal of a claim, with the contract's code (API.md) and its message (in English for the
#: API; marked for the catalogue, which pages show it from).
REFUSALS = {
    "no_batch": N_("No batch with this code."),
    "batch_not_active": N_("This batch is not open for claims now."),
    "channel": N_("This batch is not offered in this channel."),
    "not_eligible": N_("This customer is not in the batch's audience."),
    "per_customer_limit": N_("This customer already holds the most coupons allowed."),
    "daily_limit": N_("This customer reached today's limit for this batch."),
    "sold_out": N_("This batch has no coupons left."),
    "budget_exhausted": N_("The campaign's budget is used up."),
}


@transaction.atomic
def claim(*, batch_code, customer=None, customer_id=None, customer_mobile=None, channel, now=None, compensation=False):
    """Issue one coupon of the batch to the customer (a Customer, or ``customer_id`` /
    ``customer_mobile``) through ``channel``; raises ``Conflict`` with the contract's codes,
    or ``Customer.DoesNotExist``. ``compensation``: the amount of a compensation coupon, issued
    whatever the batch's window, channels, audience and limits.

    Each rule and refusal once: (1) lock the customer and read the batch; (2) count what the
    customer holds; (3) in reserve mode reserve the budget, ``total >= reserved + used + amount``,
    (4) take the stock, ``issued < quantity``, and (5) take a free produced code, or issue a new one.
    On PostgreSQL (2)–(5) are one statement (``_claim_statement``: each step a conditional UPDATE
    that runs only if the one before allowed it), so a claim is two round trips between BEGIN and
    COMMIT; the customer's row lock serializes one customer's claims and ``SKIP LOCKED`` lets
    parallel claims take different codes. The counts are read in a statement of their own first only
    where the amount depends on them (a decaying batch) or the batch as read already answers
    (sold out, or a redeem-mode budget that cannot cover the coupon: the limits are answered first).
    On SQLite, which runs one writing transaction at a time, each step is a statement of its own.
    A refusal rolls back whatever the claim changed before it."""
    now = now or timezone.now()
    channel = channel[:30]
    if customer is not None:
        customer_id = customer.pk
    batch, account_id, balance, customer_id, order_count = _lock_customer_and_read_batch(
        batch_code, customer_id, customer_mobile
    )
    if batch is None:
        raise Conflict("batch_not_active", REFUSALS["no_batch"])
    if not compensation:
        if batch.status != Batch.Status.ACTIVE or not batch.claim_start <= now <= batch.claim_end:
            _refuse("batch_not_active")
        if batch.channel_list() and channel not in batch.channel_list():
            raise Conflict("not_eligible", REFUSALS["channel"])
        if batch.audience != Batch.Audience.EVERYONE:
            full = customer if customer is not None else Customer.objects.get(pk=customer_id)
            full.order_count = order_count  # as read under the lock
            if not _eligible(batch, full):
                _refuse("not_eligible")
    today = timezone.localdate(now)
    counts = None  # (held, held today, earlier claims of the coupon type): read only where needed
    if not compensation and _decays(batch):
        counts = _held(batch=batch, customer_id=customer_id, channel=channel, today=today)
    amount = (
        _money(compensation)
        if compensation
        else decayed_amount(batch, previous_claims=counts[2] if counts else 0, is_new=order_count == 0)
    )
    cap = amount if batch.discount_type != Batch.DiscountType.PERCENT else (batch.cap or Decimal(0))
    subsidy_cap = _money(cap * batch.platform_share / HUNDRED)
    reserve = batch.budget_mode == Batch.BudgetMode.RESERVE_AT_CLAIM or bool(compensation)
    # early answers from the batch as read (the conditional UPDATEs decide), after the limits
    early = None
    if batch.issued >= batch.quantity:
        early = "sold_out"
    elif not reserve and balance < subsidy_cap:  # redemption charges the budget
        early = "budget_exhausted"
    one_statement = connection.vendor == "postgresql" and not early
    limits = None if compensation else (batch.per_customer_limit, batch.per_day_limit)
    if limits and counts is None and not one_statement:
        counts = _held(batch=batch, customer_id=customer_id, channel=channel, today=today)
    if limits and counts is not None:
        _check_limits(counts[0], counts[1], limits)
    if early:
        _refuse(early)
    valid_from, valid_until = _validity(batch, now)
    values = dict(
        status=Coupon.Status.CLAIMED,
        customer_id=customer_id,
        channel=channel,
        amount=amount,
        reserved=subsidy_cap if reserve else Decimal(0),
        claimed_at=now,
        claim_day=today,
        valid_from=valid_from,
        valid_until=valid_until,
        is_compensation=bool(compensation),
    )
    if one_statement:
        held, held_today, reserved, stock_taken, taken = _claim_statement(
            batch=batch,
            customer_id=customer_id,
            today=today,
            limits=limits,
            account_id=account_id,
            reserve=values["reserved"],
            values=values,
        )
        if limits:
            _check_limits(held, held_today, limits)
        if not reserved:
            _refuse("budget_exhausted")
        if not stock_taken:
            _refuse("sold_out")
    else:
        taken = _take_produced_code(batch, values) if batch.produced else None
    if taken is not None:
        coupon = Coupon(id=taken[0], batch=batch, code=taken[1], **values)
    else:  # a lazy batch, or more claims than produced codes
        coupon = _issue_new_code(batch, values)
    if not one_statement:
        if reserve:
            try:
                budgets.reserve(account_id, values["reserved"])
            except budgets.BudgetExhausted:
                _refuse("budget_exhausted")
        if not Batch.objects.filter(pk=batch.pk, issued__lt=F("quantity")).update(issued=F("issued") + 1):
            _refuse("sold_out")
    coupon.batch = batch  # the caller's answer shows the batch: no second look-up
    return coupon


def _check_limits(held, held_today, limits):
    if held >= limits[0]:
        _refuse("per_customer_limit")
    if held_today >= limits[1]:
        _refuse("daily_limit")


def _issue_new_code(batch, values):
    """A coupon issued at claim (lazy batches, or more claims than produced codes)."""
    for _attempt in range(5):
        try:
            with transaction.atomic():
                return Coupon.objects.create(batch=batch, code=codes.new_code(), **values)
        except IntegrityError:
            continue
    raise Conflict("sold_out", N_("Could not issue a code; try again."))


def _in_scope_amount(batch, order_amount, lines):
    if batch.scope == Batch.Scope.ALL or not lines:
        return order_amount
    wanted = set(batch.scope_list())
    if batch.scope == Batch.Scope.CATEGORIES:
        return sum(
            (Decimal(line["price"]) * int(line.get("quantity", 1)) for line in lines if line.get("category") in wanted),
            Decimal(0),
        )
    if batch.scope == Batch.Scope.SKUS:
        return sum(
            (Decimal(line["price"]) * int(line.get("quantity", 1)) for line in lines if line.get("sku") in wanted),
            Decimal(0),
        )
    return order_amount


def discount_for(coupon, base):
    batch = coupon.batch
    if batch.discount_type == Batch.DiscountType.PERCENT:
        return _money(min(base * batch.percent / HUNDRED, batch.cap or base))
    return _money(min(coupon.amount, base))


def split_discount(discount, batch):
    """The discount's split among its funders, in cents: the platform's part (the subsidy charged to
    the budget) is its share rounded half up, as reserved at claim; the merchant's is its share
    rounded half up but never more than what is left; the agent takes the rest. Each part is at
    least ¥0 and the three add up to the discount exactly (50/50 on ¥9.99: 5.00 + 4.99 + 0.00)."""
    platform = _money(discount * batch.platform_share / HUNDRED)
    merchant = min(_money(discount * batch.merchant_share / HUNDRED), discount - platform)
    return platform, merchant, discount - platform - merchant


@transaction.atomic
def redeem(*, code, customer, order, lines=None, now=None):
    """Use a claimed coupon on ``order`` (an Order already stored in this transaction). Returns
    the Redemption; raises ``Conflict`` with the contract's codes."""
    now = now or timezone.now()
    if not codes.is_well_formed(code):
        raise Conflict("not_found", N_("No coupon with this code."))
    coupon = (
        Coupon.objects.select_for_update(of=("self",))
        .select_related("batch", "batch__campaign")
        .filter(code=codes.normalize(code))
        .first()
    )
    if coupon is None or coupon.status == Coupon.Status.AVAILABLE:
        raise Conflict("not_found", N_("No coupon with this code."))
    if coupon.customer_id != customer.pk:
        raise Conflict("not_owner", N_("This coupon belongs to another customer."))
    if coupon.status == Coupon.Status.REDEEMED:
        raise Conflict("already_redeemed", N_("This coupon was used already."))
    if coupon.status != Coupon.Status.CLAIMED:
        raise Conflict("not_found", N_("This coupon cannot be used."))
    if coupon.valid_from and now < coupon.valid_from:
        raise Conflict("not_yet_valid", N_("This coupon is not valid yet."))
    if coupon.valid_until and now > coupon.valid_until:
        raise Conflict("expired", N_("This coupon has expired."))
    batch = coupon.batch
    base = _in_scope_amount(batch, order.amount, lines)
    if base <= 0 or base < batch.threshold:
        raise Conflict("threshold_not_met", N_("The order does not reach the coupon's minimum spend."))
    if Redemption.objects.filter(order=order, reversed_at__isnull=True).exists():
        raise Conflict("order_has_coupon", N_("This order already uses a coupon."))
    discount = discount_for(coupon, base)
    if order.cost is not None and order.amount - discount < order.cost:
        raise Conflict("negative_margin", N_("This coupon would sell the order below cost."))
    platform, merchant, agent = split_discount(discount, batch)
    account_id = batch.campaign.budget_account_id
    try:
        with transaction.atomic():
            redemption = Redemption.objects.create(
                coupon=coupon,
                batch_id=coupon.batch_id,
                order=order,
                account_id=account_id,
                order_amount=order.amount,
                discount=discount,
                subsidy=platform,
                platform_amount=platform,
                merchant_amount=merchant,
                agent_amount=agent,
                at=now,
            )
    except IntegrityError as exc:
        raise Conflict("order_has_coupon", N_("This order already uses a coupon.")) from exc
    try:
        budgets.use(account_id, platform, reserved=coupon.reserved, gmv=order.amount)
    except budgets.BudgetExhausted as exc:
        raise Conflict("budget_exhausted", N_("The campaign's budget is used up.")) from exc
    coupon.status, coupon.reserved = Coupon.Status.REDEEMED, Decimal(0)
    coupon.save(update_fields=["status", "reserved"])
    Order.objects.filter(pk=order.pk).update(discount=discount)
    return redemption


def redeem_for_order(*, code, order, customer, lines=None):
    """The orders API's ``coupon_code``: redeemed in the order's transaction."""
    if lines is None:
        lines = [
            {"sku": line.sku, "category": line.category, "quantity": line.quantity, "price": line.price}
            for line in order.lines.all()
        ]
    return redeem(code=code, customer=customer, order=order, lines=lines)


@transaction.atomic
def release_for_cancelled_order(*, order):
    """Cancelling an order gives its coupon back (usable again inside its window) and returns the
    subsidy and the GMV to the budget."""
    redemption = (
        Redemption.objects.select_for_update()
        .filter(order=order, reversed_at__isnull=True)
        .select_related("coupon")
        .first()
    )
    if redemption is None:
        return None
    redemption.reversed_at = timezone.now()
    redemption.save(update_fields=["reversed_at"])
    budgets.give_back(redemption.account_id, redemption.subsidy, gmv=redemption.order_amount)
    Coupon.objects.filter(pk=redemption.coupon_id).update(status=Coupon.Status.CLAIMED)
    return redemption
