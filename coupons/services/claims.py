"""Claiming (领券) and redeeming (核销) coupons, with every rule enforced in the database.

Claim: the batch must be active and inside its claim window; the customer's row is locked so that
their per-batch and per-day counts cannot race; stock is taken by ``UPDATE … SET issued = issued + 1
WHERE issued < quantity``; a reserve-mode batch reserves the amount with a conditional UPDATE on the
budget. Redeem: the coupon row is locked, partial unique indexes allow one live redemption per
coupon and per order, and the budget is charged with a conditional UPDATE — so no batch over-issues,
no customer passes a limit and no budget goes below zero, whatever the concurrency.
"""
import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from crm.api.errors import BusinessRuleError
from customers.models import Customer, Order

from ..models import Batch, BudgetAccount, Campaign, Coupon, Redemption
from . import budgets, codes

CENT = Decimal("0.01")
HUNDRED = Decimal(100)


def _money(value):
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def decayed_amount(batch, *, previous_claims, is_new):
    """Repeated claims in the same channel decay ("lucky red packets"): face × factor^n, never below
    the floor; new customers get the batch's bonus on top."""
    amount = batch.amount * (batch.decay_factor ** previous_claims)
    amount = max(amount, batch.decay_floor) if batch.decay_factor < 1 else batch.amount
    if is_new:
        amount += batch.new_customer_bonus
    return _money(amount)


def _eligible(batch, customer):
    if batch.audience == Batch.Audience.NEW:
        return customer.order_count == 0
    if batch.audience == Batch.Audience.EXISTING:
        return customer.order_count > 0
    if batch.audience == Batch.Audience.TAG:
        return customer.tag_links.filter(tag_id=batch.audience_tag_id).exists()
    if batch.audience == Batch.Audience.SEGMENT:
        from marketing.services.segments import stored_definition_q as definition_q

        condition = definition_q("customers", batch.audience_segment.definition)
        return condition is None or type(customer).objects.filter(condition, pk=customer.pk).exists()
    return True


def _validity(batch, now):
    if batch.use_days is not None:
        return now, now + datetime.timedelta(days=batch.use_days)
    return batch.use_start, batch.use_end


# How many decayed amounts the claim statement carries (one per earlier claim in the channel); a
# customer with more earlier claims in the channel than this takes the slower two-statement path.
DECAY_STEPS = 64


def _lock_customer_and_read_batch(batch_code, customer_id, customer_mobile):
    """Statement 1: lock the customer's row (so that their per-batch and per-day counts cannot race)
    and read the batch with its budget account in the same round trip. Returns ``(batch or None,
    account_id, balance, customer_id, order_count)``; raises ``Customer.DoesNotExist``."""
    fields = [f for f in Batch._meta.concrete_fields]
    columns = ", ".join(f'b."{f.column}"' for f in fields)
    if customer_id is not None:
        where, param = "c.id = %s", customer_id
    else:
        where, param = "c.id = (SELECT id FROM customers_customer WHERE mobile = %s ORDER BY id LIMIT 1)", customer_mobile
    sql = (f"SELECT c.id, c.order_count, a.id, a.total - a.reserved - a.used, {columns} "
           f"FROM customers_customer c LEFT JOIN ({Batch._meta.db_table} b "
           f"JOIN {Campaign._meta.db_table} k ON k.id = b.campaign_id "
           f"JOIN {BudgetAccount._meta.db_table} a ON a.id = k.budget_account_id) ON b.code = %s "
           f"WHERE {where} FOR UPDATE OF c")
    with connection.cursor() as cursor:
        cursor.execute(sql, [(batch_code or "").lower(), param])
        row = cursor.fetchone()
    if row is None:
        raise Customer.DoesNotExist
    customer_pk, order_count, account_id, balance = row[:4]
    batch = None
    if row[4] is not None:
        values = [f.from_db_value(v, None, connection) if hasattr(f, "from_db_value") else v
                  for f, v in zip(fields, row[4:])]
        batch = Batch.from_db(connection.alias, [f.attname for f in fields], values)
    return batch, account_id, balance, customer_pk, order_count


def _take_code(*, batch, account_id, customer_id, channel, today, amounts, reserves, take, limits,
               in_channel_bound, values):
    """Statement 2, the last before the commit: count what the customer holds of the batch (total,
    today, in this channel) and — when the limits allow and stock is left — take the first free code
    with ``FOR UPDATE SKIP LOCKED`` and fill it in, then take the stock (``issued < quantity``) and,
    in reserve mode, reserve the budget (``total >= reserved + used + amount``) by conditional
    UPDATEs, all in one statement. Its snapshot is taken after the customer's lock was granted, so
    it sees every claim of this customer committed before; the rows every claim of the batch
    touches (stock, budget) are locked only from here to the commit.

    ``amounts[n]`` / ``reserves[n]``: the amount and the reservation after n earlier claims in the
    channel (the last entry for any n beyond). Returns ``(total, today, in_channel, coupon_id, code,
    amount, reserved, budget_reserved, stock_taken)``; the coupon fields are ``None`` when nothing
    was taken. The budget row is locked before the batch's (read left to right), as before."""
    table = Coupon._meta.db_table

    def by_count(values_by_n):
        if len(set(values_by_n)) == 1:
            return "%s", [values_by_n[0]]
        whens = " ".join("WHEN %s THEN %s" for _ in values_by_n[:-1])
        return (f"CASE h.in_channel {whens} ELSE %s END",
                [p for n, v in enumerate(values_by_n[:-1]) for p in (n, v)] + [values_by_n[-1]])

    amount_sql, amount_params = by_count(amounts)
    reserved_sql, reserved_params = by_count(reserves)
    per_customer, per_day = limits
    sql = f"""
        WITH h AS (
            SELECT count(*) AS total,
                   count(*) FILTER (WHERE claim_day = %s) AS today,
                   count(*) FILTER (WHERE channel = %s) AS in_channel
            FROM {table} WHERE batch_id = %s AND customer_id = %s
        ), pick AS (
            SELECT p.id FROM {table} p, h
            WHERE p.batch_id = %s AND p.status = %s AND %s
              AND h.total < %s AND h.today < %s AND h.in_channel < %s
            ORDER BY p.id LIMIT 1 FOR UPDATE OF p SKIP LOCKED
        ), took AS (
            UPDATE {table} c SET status = %s, customer_id = %s, channel = %s, amount = {amount_sql},
                   reserved = {reserved_sql}, claimed_at = %s, claim_day = %s, valid_from = %s,
                   valid_until = %s, is_compensation = %s
            FROM pick, h WHERE c.id = pick.id
            RETURNING c.id, c.code, c.amount, c.reserved
        ), s AS (
            UPDATE {Batch._meta.db_table} SET issued = issued + 1
            WHERE id = %s AND issued < quantity AND EXISTS (SELECT 1 FROM took)
            RETURNING 1
        ), b AS (
            UPDATE {BudgetAccount._meta.db_table} a SET reserved = a.reserved + t.reserved FROM took t
            WHERE a.id = %s AND t.reserved > 0 AND a.total >= a.reserved + a.used + t.reserved
            RETURNING 1
        )
        SELECT h.total, h.today, h.in_channel, took.id, took.code, took.amount, took.reserved,
               (SELECT count(*) FROM b) AS budget_reserved, (SELECT count(*) FROM s) AS stock_taken
        FROM h LEFT JOIN took ON true
    """
    params = [today, channel, batch.pk, customer_id,
              batch.pk, Coupon.Status.AVAILABLE, take, per_customer, per_day, in_channel_bound,
              Coupon.Status.CLAIMED, customer_id, channel, *amount_params, *reserved_params,
              values["claimed_at"], today, values["valid_from"], values["valid_until"], values["is_compensation"],
              batch.pk, account_id]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def _take_stock(*, batch_id, account_id, reserve_amount):
    """For a coupon not taken by ``_take_code`` (issued at claim): take the stock and (reserve mode)
    the budget by conditional UPDATEs in one statement, the last before the commit. Returns
    ``(budget_reserved, stock_taken)``."""
    with connection.cursor() as cursor:
        cursor.execute(f"""
            WITH b AS (UPDATE {BudgetAccount._meta.db_table} SET reserved = reserved + %s
                       WHERE id = %s AND %s > 0 AND total >= reserved + used + %s RETURNING 1),
                 s AS (UPDATE {Batch._meta.db_table} SET issued = issued + 1
                       WHERE id = %s AND issued < quantity RETURNING 1)
            SELECT EXISTS (SELECT 1 FROM b), EXISTS (SELECT 1 FROM s)""",
            [reserve_amount, account_id, reserve_amount, reserve_amount, batch_id])
        return cursor.fetchone()


@transaction.atomic
def claim(*, batch_code, customer=None, customer_id=None, customer_mobile=None, channel, now=None,
          compensation=False):
    """Issue one coupon of the batch to the customer (a Customer, or ``customer_id`` /
    ``customer_mobile``) through ``channel``; raises ``BusinessRuleError`` with the contract's codes,
    or ``Customer.DoesNotExist``.

    On PostgreSQL two statements: (1) lock the customer and read the batch, (2) count the customer's
    coupons of the batch, take a free code, take the stock and (reserve mode) the budget — the hot
    rows last, locked only until the commit. Elsewhere the ORM path ``_claim_orm``."""
    now = now or timezone.now()
    if connection.vendor != "postgresql":
        if customer is None:
            customer = (Customer.objects.get(pk=customer_id) if customer_id is not None
                        else Customer.objects.filter(mobile=customer_mobile).order_by("id").first())
            if customer is None:
                raise Customer.DoesNotExist
        return _claim_orm(batch_code=batch_code, customer=customer, channel=channel, now=now,
                          compensation=compensation)
    channel = channel[:30]
    if customer is not None:
        customer_id = customer.pk
    batch, account_id, balance, customer_id, order_count = _lock_customer_and_read_batch(
        batch_code, customer_id, customer_mobile)
    if batch is None:
        raise BusinessRuleError("batch_not_active", "No batch with this code.")
    if not compensation and (batch.status != Batch.Status.ACTIVE or not batch.claim_start <= now <= batch.claim_end):
        raise BusinessRuleError("batch_not_active", "This batch is not open for claims now.")
    if not compensation and batch.channel_list() and channel not in batch.channel_list():
        raise BusinessRuleError("not_eligible", "This batch is not offered in this channel.")
    if not compensation and batch.audience != Batch.Audience.EVERYONE:
        full = customer if customer is not None else Customer.objects.get(pk=customer_id)
        full.order_count = order_count  # as read under the lock
        if not _eligible(batch, full):
            raise BusinessRuleError("not_eligible", "This customer is not in the batch's audience.")
    today = timezone.localdate(now)
    is_new = order_count == 0
    reserve = batch.budget_mode == Batch.BudgetMode.RESERVE_AT_CLAIM or bool(compensation)
    if compensation:
        amounts, limits = [_money(compensation)], (2**62, 2**62)
    else:
        limits = (batch.per_customer_limit, batch.per_day_limit)
        steps = min(batch.per_customer_limit, DECAY_STEPS) if batch.decay_factor < 1 else 1
        amounts = [decayed_amount(batch, previous_claims=n, is_new=is_new) for n in range(max(steps, 1))]
    # amounts[n] is the amount after n earlier claims in the channel (the last one for any n beyond,
    # which the per-customer limit refuses anyway) — unless the table stops short of the limit.
    in_channel_bound = len(amounts) if not compensation and batch.decay_factor < 1 and \
        batch.per_customer_limit > len(amounts) else 2**62
    valid_from, valid_until = _validity(batch, now)
    values = dict(status=Coupon.Status.CLAIMED, customer_id=customer_id, channel=channel,
                  claimed_at=now, claim_day=today, valid_from=valid_from, valid_until=valid_until,
                  is_compensation=bool(compensation))

    def cap_for(amount):
        cap = amount if batch.discount_type != Batch.DiscountType.PERCENT else (batch.cap or Decimal(0))
        return _money(cap * batch.platform_share / HUNDRED)

    reserves = [cap_for(a) if reserve else Decimal(0) for a in amounts]
    (total, held_today, in_channel, coupon_id, code, amount, reserved, budget_reserved,
     stock_taken) = _take_code(
        batch=batch, account_id=account_id, customer_id=customer_id, channel=channel, today=today,
        amounts=amounts, reserves=reserves, take=batch.issued < batch.quantity, limits=limits,
        in_channel_bound=in_channel_bound, values=values)
    if not compensation:
        if total >= batch.per_customer_limit:
            raise BusinessRuleError("per_customer_limit", "This customer already holds the most coupons allowed.")
        if held_today >= batch.per_day_limit:
            raise BusinessRuleError("daily_limit", "This customer reached today's limit for this batch.")
    if batch.issued >= batch.quantity:  # early answer; the conditional UPDATE decides
        raise BusinessRuleError("sold_out", "This batch has no coupons left.")
    if coupon_id is None:
        amount = amounts[0] if compensation else decayed_amount(batch, previous_claims=in_channel, is_new=is_new)
    subsidy_cap = cap_for(amount)
    if not reserve and balance < subsidy_cap:
        raise BusinessRuleError("budget_exhausted", "The campaign's budget is used up.")
    values.update(amount=amount, reserved=subsidy_cap if reserve else Decimal(0))
    if coupon_id is not None:
        coupon = Coupon(id=coupon_id, batch=batch, code=code, **values)
    else:  # no free code (lazy batch, more claims than produced codes), or a decay beyond the table
        coupon = None if in_channel < in_channel_bound else (
            Coupon.objects.select_for_update(skip_locked=True)
            .filter(batch=batch, status=Coupon.Status.AVAILABLE).order_by("id").first())
        if coupon is not None:
            for name, value in values.items():
                setattr(coupon, name, value)
            coupon.save()
        else:
            coupon = _issue_new_code(batch, values)
        budget_reserved, stock_taken = _take_stock(batch_id=batch.pk, account_id=account_id,
                                                   reserve_amount=values["reserved"])
    if values["reserved"] > 0 and not budget_reserved:
        raise BusinessRuleError("budget_exhausted", "The campaign's budget is used up.")
    if not stock_taken:
        raise BusinessRuleError("sold_out", "This batch has no coupons left.")
    coupon.batch = batch  # the caller's answer shows the batch: no second look-up
    return coupon


def _claim_orm(*, batch_code, customer, channel, now, compensation):
    """``claim`` on databases other than PostgreSQL (SQLite in development and quick test runs):
    the same rules through the ORM, one statement per step."""
    batch = (Batch.objects.select_related("campaign", "campaign__budget_account")
             .filter(code=(batch_code or "").lower()).first())
    if batch is None:
        raise BusinessRuleError("batch_not_active", "No batch with this code.")
    if not compensation and (batch.status != Batch.Status.ACTIVE or not batch.claim_start <= now <= batch.claim_end):
        raise BusinessRuleError("batch_not_active", "This batch is not open for claims now.")
    if not compensation and batch.channel_list() and channel not in batch.channel_list():
        raise BusinessRuleError("not_eligible", "This batch is not offered in this channel.")
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if not compensation and not _eligible(batch, customer):
        raise BusinessRuleError("not_eligible", "This customer is not in the batch's audience.")
    today = timezone.localdate(now)
    held = Coupon.objects.filter(batch=batch, customer=customer).aggregate(
        total=Count("id"), today=Count("id", filter=Q(claim_day=today)),
        channel=Count("id", filter=Q(channel=channel[:30])))
    if not compensation:
        if held["total"] >= batch.per_customer_limit:
            raise BusinessRuleError("per_customer_limit", "This customer already holds the most coupons allowed.")
        if held["today"] >= batch.per_day_limit:
            raise BusinessRuleError("daily_limit", "This customer reached today's limit for this batch.")
    if batch.issued >= batch.quantity:  # early answer; the conditional UPDATE below decides
        raise BusinessRuleError("sold_out", "This batch has no coupons left.")
    amount = (_money(compensation) if compensation else
              decayed_amount(batch, previous_claims=held["channel"], is_new=customer.order_count == 0))
    account = batch.campaign.budget_account
    subsidy_cap = (amount if batch.discount_type != Batch.DiscountType.PERCENT else (batch.cap or Decimal(0)))
    subsidy_cap = _money(subsidy_cap * batch.platform_share / HUNDRED)
    reserve = batch.budget_mode == Batch.BudgetMode.RESERVE_AT_CLAIM or bool(compensation)
    if not reserve and account.balance < subsidy_cap:
        raise BusinessRuleError("budget_exhausted", "The campaign's budget is used up.")
    valid_from, valid_until = _validity(batch, now)
    values = dict(status=Coupon.Status.CLAIMED, customer=customer, channel=channel[:30], amount=amount,
                  reserved=subsidy_cap if reserve else Decimal(0), claimed_at=now, claim_day=today,
                  valid_from=valid_from, valid_until=valid_until, is_compensation=bool(compensation))
    coupon = (Coupon.objects.select_for_update(skip_locked=True)
              .filter(batch=batch, status=Coupon.Status.AVAILABLE).order_by("id").first())
    if coupon is not None:
        for name, value in values.items():
            setattr(coupon, name, value)
        coupon.save()
    else:
        coupon = _issue_new_code(batch, values)
    # The rows every claim of the batch touches (the batch's stock, the budget) are changed last, so
    # that their locks are held only until the commit. A refusal rolls the coupon back with the rest.
    if reserve:
        try:
            budgets.reserve(account.pk, subsidy_cap)
        except budgets.BudgetExhausted:
            raise BusinessRuleError("budget_exhausted", "The campaign's budget is used up.")
    if not Batch.objects.filter(pk=batch.pk, issued__lt=F("quantity")).update(issued=F("issued") + 1):
        raise BusinessRuleError("sold_out", "This batch has no coupons left.")
    coupon.batch = batch  # the caller's answer shows the batch: no second look-up
    return coupon


def _issue_new_code(batch, values):
    """A coupon issued at claim (lazy batches, or more claims than produced codes)."""
    for _attempt in range(5):
        try:
            with transaction.atomic():
                return Coupon.objects.create(batch=batch, code=codes.new_code(), **values)
        except IntegrityError:
            continue
    raise BusinessRuleError("sold_out", "Could not issue a code; try again.")


def _in_scope_amount(batch, order_amount, lines):
    if batch.scope == Batch.Scope.ALL or not lines:
        return order_amount
    wanted = set(batch.scope_list())
    if batch.scope == Batch.Scope.CATEGORIES:
        return sum((Decimal(line["price"]) * int(line.get("quantity", 1)) for line in lines
                    if line.get("category") in wanted), Decimal(0))
    if batch.scope == Batch.Scope.SKUS:
        return sum((Decimal(line["price"]) * int(line.get("quantity", 1)) for line in lines
                    if line.get("sku") in wanted), Decimal(0))
    return order_amount


def discount_for(coupon, base):
    batch = coupon.batch
    if batch.discount_type == Batch.DiscountType.PERCENT:
        return _money(min(base * batch.percent / HUNDRED, batch.cap or base))
    return _money(min(coupon.amount, base))


@transaction.atomic
def redeem(*, code, customer, order, lines=None, now=None):
    """Use a claimed coupon on ``order`` (an Order already stored in this transaction). Returns
    the Redemption; raises ``BusinessRuleError`` with the contract's codes."""
    now = now or timezone.now()
    if not codes.is_well_formed(code):
        raise BusinessRuleError("not_found", "No coupon with this code.")
    coupon = (Coupon.objects.select_for_update(of=("self",)).select_related("batch", "batch__campaign")
              .filter(code=codes.normalize(code)).first())
    if coupon is None or coupon.status == Coupon.Status.AVAILABLE:
        raise BusinessRuleError("not_found", "No coupon with this code.")
    if coupon.customer_id != customer.pk:
        raise BusinessRuleError("not_owner", "This coupon belongs to another customer.")
    if coupon.status == Coupon.Status.REDEEMED:
        raise BusinessRuleError("already_redeemed", "This coupon was used already.")
    if coupon.status != Coupon.Status.CLAIMED:
        raise BusinessRuleError("not_found", "This coupon cannot be used.")
    if coupon.valid_from and now < coupon.valid_from:
        raise BusinessRuleError("not_yet_valid", "This coupon is not valid yet.")
    if coupon.valid_until and now > coupon.valid_until:
        raise BusinessRuleError("expired", "This coupon has expired.")
    batch = coupon.batch
    base = _in_scope_amount(batch, order.amount, lines)
    if base <= 0 or base < batch.threshold:
        raise BusinessRuleError("threshold_not_met", "The order does not reach the coupon's minimum spend.")
    if Redemption.objects.filter(order=order, reversed_at__isnull=True).exists():
        raise BusinessRuleError("order_has_coupon", "This order already uses a coupon.")
    discount = discount_for(coupon, base)
    if order.cost is not None and order.amount - discount < order.cost:
        raise BusinessRuleError("negative_margin", "This coupon would sell the order below cost.")
    platform = _money(discount * batch.platform_share / HUNDRED)
    merchant = _money(discount * batch.merchant_share / HUNDRED)
    agent = discount - platform - merchant
    account_id = batch.campaign.budget_account_id
    try:
        with transaction.atomic():
            redemption = Redemption.objects.create(
                coupon=coupon, batch_id=coupon.batch_id, order=order, account_id=account_id, order_amount=order.amount, discount=discount,
                subsidy=platform, platform_amount=platform, merchant_amount=merchant, agent_amount=agent, at=now)
    except IntegrityError:
        raise BusinessRuleError("order_has_coupon", "This order already uses a coupon.")
    try:
        budgets.use(account_id, platform, reserved=coupon.reserved, gmv=order.amount)
    except budgets.BudgetExhausted:
        raise BusinessRuleError("budget_exhausted", "The campaign's budget is used up.")
    coupon.status, coupon.reserved = Coupon.Status.REDEEMED, Decimal(0)
    coupon.save(update_fields=["status", "reserved"])
    Order.objects.filter(pk=order.pk).update(discount=discount)
    return redemption


def redeem_for_order(*, code, order, customer, lines=None):
    """The orders API's ``coupon_code``: redeemed in the order's transaction."""
    if lines is None:
        lines = [{"sku": line.sku, "category": line.category, "quantity": line.quantity, "price": line.price}
                 for line in order.lines.all()]
    return redeem(code=code, customer=customer, order=order, lines=lines)


@transaction.atomic
def release_for_cancelled_order(*, order):
    """Cancelling an order gives its coupon back (usable again inside its window) and returns the
    subsidy and the GMV to the budget."""
    redemption = (Redemption.objects.select_for_update().filter(order=order, reversed_at__isnull=True)
                  .select_related("coupon").first())
    if redemption is None:
        return None
    redemption.reversed_at = timezone.now()
    redemption.save(update_fields=["reversed_at"])
    budgets.give_back(redemption.account_id, redemption.subsidy, gmv=redemption.order_amount)
    Coupon.objects.filter(pk=redemption.coupon_id).update(status=Coupon.Status.CLAIMED)
    return redemption
