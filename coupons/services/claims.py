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

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from crm.api.errors import BusinessRuleError
from customers.models import Customer, Order

from ..models import Batch, Coupon, Redemption
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
    return True


def _validity(batch, now):
    if batch.use_days is not None:
        return now, now + datetime.timedelta(days=batch.use_days)
    return batch.use_start, batch.use_end


@transaction.atomic
def claim(*, batch_code, customer, channel, now=None, compensation=False):
    """Issue one coupon of the batch to the customer through ``channel``; raises
    ``BusinessRuleError`` with the contract's codes."""
    now = now or timezone.now()
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
    held = Coupon.objects.filter(batch=batch, customer=customer)
    if not compensation:
        if held.count() >= batch.per_customer_limit:
            raise BusinessRuleError("per_customer_limit", "This customer already holds the most coupons allowed.")
        today = timezone.localdate(now)
        if held.filter(claim_day=today).count() >= batch.per_day_limit:
            raise BusinessRuleError("daily_limit", "This customer reached today's limit for this batch.")
    amount = (_money(compensation) if compensation else
              decayed_amount(batch, previous_claims=held.filter(channel=channel).count(),
                             is_new=customer.order_count == 0))
    if not Batch.objects.filter(pk=batch.pk, issued__lt=F("quantity")).update(issued=F("issued") + 1):
        raise BusinessRuleError("sold_out", "This batch has no coupons left.")
    account = batch.campaign.budget_account
    reserved = Decimal(0)
    subsidy_cap = (amount if batch.discount_type != Batch.DiscountType.PERCENT else (batch.cap or Decimal(0)))
    subsidy_cap = _money(subsidy_cap * batch.platform_share / HUNDRED)
    if batch.budget_mode == Batch.BudgetMode.RESERVE_AT_CLAIM or compensation:
        try:
            budgets.reserve(account.pk, subsidy_cap)
        except budgets.BudgetExhausted:
            raise BusinessRuleError("budget_exhausted", "The campaign's budget is used up.")
        reserved = subsidy_cap
    elif account.balance < subsidy_cap:
        raise BusinessRuleError("budget_exhausted", "The campaign's budget is used up.")
    valid_from, valid_until = _validity(batch, now)
    values = dict(status=Coupon.Status.CLAIMED, customer=customer, channel=channel[:30], amount=amount,
                  reserved=reserved, claimed_at=now, claim_day=timezone.localdate(now), valid_from=valid_from,
                  valid_until=valid_until, is_compensation=bool(compensation))
    coupon = (Coupon.objects.select_for_update(skip_locked=True)
              .filter(batch=batch, status=Coupon.Status.AVAILABLE).order_by("id").first())
    if coupon is not None:
        for name, value in values.items():
            setattr(coupon, name, value)
        coupon.save()
        return coupon
    for _attempt in range(5):  # issued at claim (lazy batches, or more claims than produced codes)
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
                coupon=coupon, order=order, account_id=account_id, order_amount=order.amount, discount=discount,
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
