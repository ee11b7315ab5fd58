"""Campaigns and batches: configuration checks and the approval flow
(draft → submitted → approved → active → paused / ended; rejected with a reason)."""

import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.approvals import selectors as approval_selectors
from crm.approvals import services as approvals
from crm.tasks import enqueue_or_log

from .. import approvals as coupon_kinds
from .. import tasks
from ..models import Batch

MAX_CLAIM_DAYS = 90
MAX_USE_DAYS = 7
HUNDRED = Decimal(100)


def max_subsidy(batch):
    """The most the whole batch can cost (quantity × the most one coupon can take off)."""
    per_coupon = batch.max_discount
    if per_coupon is None:
        return None
    return (per_coupon * batch.quantity * batch.platform_share / HUNDRED).quantize(Decimal("0.01"))


def validate_batch(batch):
    """规则判定 when configuring. Raises ValidationError naming each field that breaks a rule."""
    errors = {}

    def add(field, message):
        errors.setdefault(field, []).append(message)

    if batch.claim_start and batch.claim_end:
        if batch.claim_end <= batch.claim_start:
            add("claim_end", _("The claim window must end after it starts."))
        elif (
            batch.claim_end - batch.claim_start > datetime.timedelta(days=MAX_CLAIM_DAYS) and not batch.fixed_promotion
        ):
            add("claim_end", _("The claim window may be at most 90 days (unless this is a fixed promotion period)."))
    if batch.use_days is None and not (batch.use_start and batch.use_end):
        add("use_days", _("Give the days a coupon stays usable after the claim, or fixed dates."))
    if batch.use_days is not None:
        if batch.use_days < 1:
            add("use_days", _("At least one day."))
        elif batch.use_days > MAX_USE_DAYS and not batch.fixed_promotion:
            add("use_days", _("A coupon may be usable for at most 7 days (unless this is a fixed promotion period)."))
    elif batch.use_start and batch.use_end:
        if batch.use_end <= batch.use_start:
            add("use_end", _("The use window must end after it starts."))
        elif batch.use_end - batch.use_start > datetime.timedelta(days=MAX_USE_DAYS) and not batch.fixed_promotion:
            add("use_end", _("A coupon may be usable for at most 7 days (unless this is a fixed promotion period)."))
    cost_ratio = batch.expected_cost_ratio
    if not Decimal(0) <= cost_ratio < 1:
        add("expected_cost_ratio", _("Between 0 and 1 (cost divided by price)."))
        cost_ratio = Decimal("0.99")
    if batch.discount_type in (Batch.DiscountType.FIXED, Batch.DiscountType.THRESHOLD):
        if batch.amount <= 0:
            add("amount", _("A coupon must be worth something."))
        elif batch.threshold * (1 - cost_ratio) < batch.amount + batch.new_customer_bonus:
            needed = ((batch.amount + batch.new_customer_bonus) / (1 - cost_ratio)).quantize(Decimal("0.01"))
            add(
                "threshold",
                _(
                    "Negative margin: with goods costing %(ratio)s of the price, ¥%(amount)s off needs a "
                    "minimum spend of at least ¥%(needed)s."
                )
                % {"ratio": f"{cost_ratio:.0%}", "amount": batch.amount + batch.new_customer_bonus, "needed": needed},
            )
    else:
        if not 0 < batch.percent < 100:
            add("percent", _("A percentage between 0 and 100."))
        elif batch.percent / HUNDRED > 1 - cost_ratio:
            add(
                "percent",
                _("Negative margin: goods costing %(ratio)s of the price allow at most %(max)s%% off.")
                % {"ratio": f"{cost_ratio:.0%}", "max": f"{(1 - cost_ratio) * 100:.0f}"},
            )
        if batch.cap is None or batch.cap <= 0:
            add("cap", _("Set a maximum discount, so that the budget check can work."))
    if batch.platform_share + batch.merchant_share + batch.agent_share != 100:
        add("platform_share", _("The platform, merchant and agent shares must add up to 100%."))
    if batch.quantity < 1:
        add("quantity", _("At least one coupon."))
    if batch.per_day_limit > batch.per_customer_limit:
        add("per_day_limit", _("The daily limit cannot be above the per-customer limit."))
    if batch.audience == Batch.Audience.TAG and not batch.audience_tag_id:
        add("audience_tag", _("Choose the tag."))
    if batch.audience == Batch.Audience.SEGMENT and (
        not batch.audience_segment_id or batch.audience_segment.subject != "customers"
    ):
        add("audience_segment", _("Choose a segment of customers."))
    if batch.scope in (Batch.Scope.CATEGORIES, Batch.Scope.SKUS) and not batch.scope_list():
        add("scope_values", _("List the categories or SKUs."))
    if batch.decay_factor <= 0 or batch.decay_factor > 1:
        add("decay_factor", _("Between 0 and 1 (1 = no decay)."))
    elif batch.decay_factor < 1:
        _check_decay(batch, cost_ratio, add)
    if not errors:
        account = batch.campaign.budget_account
        needed = max_subsidy(batch)
        if needed is not None and needed > account.balance:
            add(
                "quantity",
                _("The batch can cost up to ¥%(needed)s but the budget %(account)s has ¥%(balance)s left.")
                % {"needed": needed, "account": account, "balance": account.balance},
            )
    if errors:
        raise ValidationError(errors)


def _check_decay(batch, cost_ratio, add):
    """A decaying coupon never falls to ¥0 nor rises above its face value: the floor is above ¥0,
    at most the face value, and passes the margin check as the face value does. Percentage coupons
    do not decay."""
    if batch.discount_type == Batch.DiscountType.PERCENT:
        add("decay_factor", _("Percentage coupons do not decay: keep 1.00."))
    elif batch.decay_floor <= 0:
        add("decay_floor", _("With decay, set a floor above ¥0, so that no coupon is worth nothing."))
    elif batch.decay_floor > batch.amount:
        add("decay_floor", _("The floor cannot be above the face value (¥%(amount)s).") % {"amount": batch.amount})
    elif batch.threshold * (1 - cost_ratio) < batch.decay_floor + batch.new_customer_bonus:
        needed = ((batch.decay_floor + batch.new_customer_bonus) / (1 - cost_ratio)).quantize(Decimal("0.01"))
        add(
            "decay_floor",
            _(
                "Negative margin: with goods costing %(ratio)s of the price, a floor of ¥%(amount)s off "
                "needs a minimum spend of at least ¥%(needed)s."
            )
            % {"ratio": f"{cost_ratio:.0%}", "amount": batch.decay_floor + batch.new_customer_bonus, "needed": needed},
        )


@transaction.atomic
def save_batch(*, actor, batch):
    if (
        batch.pk
        and Batch.objects.filter(pk=batch.pk).exclude(status__in=[Batch.Status.DRAFT, Batch.Status.REJECTED]).exists()
    ):
        raise ValidationError(_("Only a draft or rejected batch can be changed."))
    batch.code = batch.code.lower()
    batch.full_clean(exclude=["created_by"])
    validate_batch(batch)
    if batch.status == Batch.Status.REJECTED:
        batch.status = Batch.Status.DRAFT
    batch.created_by = batch.created_by or actor
    batch.save()
    return batch


def _lock(batch):
    return Batch.objects.select_for_update().select_related("campaign", "campaign__budget_account").get(pk=batch.pk)


@transaction.atomic
def submit(*, actor, batch):
    """Submit for approval through the approval engine (kind ``coupon_batch``): routed to the
    requester's manager, and to a director too over ¥50,000 of maximum subsidy (the defaults)."""
    batch = _lock(batch)
    if batch.status not in (Batch.Status.DRAFT, Batch.Status.REJECTED):
        raise ValidationError(_("Only a draft can be submitted."))
    validate_batch(batch)
    batch.status, batch.submitted_at = Batch.Status.SUBMITTED, timezone.now()
    batch.save()
    approvals.request_approval(kind=coupon_kinds.BATCH, obj=batch, requester=actor)
    return batch


def pending_request(batch):
    return approval_selectors.pending_request(coupon_kinds.BATCH, batch)


def can_approve(user, batch):
    """Whether ``user`` decides the batch's waiting approval step (never its requester)."""
    return approval_selectors.may_decide_on(user, coupon_kinds.BATCH, batch)


def _decide(*, actor, batch, approve, reason=""):
    batch = _lock(batch)
    if batch.status != Batch.Status.SUBMITTED:
        raise ValidationError(
            _("Only a submitted batch can be approved.") if approve else _("Only a submitted batch can be rejected.")
        )
    request = pending_request(batch)
    if request is None:
        raise ValidationError(_("No approval is waiting for this batch."))
    approvals.decide_current(request=request, actor=actor, approve=approve, comment=reason)
    return Batch.objects.get(pk=batch.pk)


@transaction.atomic
def approve(*, actor, batch):
    """Approve the waiting step; the last approval approves the batch (``on_approved``)."""
    return _decide(actor=actor, batch=batch, approve=True)


@transaction.atomic
def reject(*, actor, batch, reason):
    if not reason.strip():
        raise ValidationError({"reason": _("Say why it is rejected.")})
    return _decide(actor=actor, batch=batch, approve=False, reason=reason)


def on_approved(*, batch, actor):
    """The approval engine's final approval: check again (the budget may have moved since the
    submission), approve, queue the production."""
    batch = _lock(batch)
    validate_batch(batch)
    batch.status, batch.approved_by, batch.approved_at = Batch.Status.APPROVED, actor, timezone.now()
    batch.save()
    if batch.production == Batch.Production.ON_APPROVAL:
        # a lost task (broker down) is queued again by the sweep (production.requeue_unfinished)
        transaction.on_commit(lambda: enqueue_or_log(tasks.produce_batch, batch.pk))


def on_rejected(*, batch, actor, reason):
    batch = _lock(batch)
    batch.status, batch.reject_reason = Batch.Status.REJECTED, reason.strip()
    batch.save()


TRANSITIONS = {
    "activate": ({Batch.Status.APPROVED, Batch.Status.PAUSED}, Batch.Status.ACTIVE),
    "pause": ({Batch.Status.ACTIVE}, Batch.Status.PAUSED),
    "end": ({Batch.Status.APPROVED, Batch.Status.ACTIVE, Batch.Status.PAUSED}, Batch.Status.ENDED),
}


@transaction.atomic
def change_status(*, actor, batch, action):
    batch = _lock(batch)
    allowed, target = TRANSITIONS[action]
    if batch.status not in allowed:
        raise ValidationError(_("A %(status)s batch cannot do that.") % {"status": batch.get_status_display()})
    batch.status = target
    batch.save(update_fields=["status"])
    return batch
