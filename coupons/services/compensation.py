"""赔付: compensation coupons within limits; past a limit the request goes to manual review."""

import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.approvals import services as approvals
from crm.db import advisory_lock
from crm.models import ApprovalRequest
from crm.notifications import notify

from .. import approvals as coupon_kinds
from ..models import Compensation, CompensationRule
from . import claims


def rule_for(department):
    ids = [int(p) for p in department.path.strip("/").split("/") if p] if department else []
    rules = {r.department_id: r for r in CompensationRule.objects.filter(department_id__in=ids)}
    for department_id in reversed(ids):
        if department_id in rules:
            return rules[department_id]
    return CompensationRule.objects.filter(department__isnull=True).first()


def review_reasons(*, actor, customer, amount, order, rule, now):
    reasons = []
    if amount > rule.max_amount_per_coupon:
        reasons.append("amount_over_cap")
    since = now - datetime.timedelta(days=rule.period_days)
    mine = (
        Compensation.objects.filter(requested_by=actor, requested_at__gte=since)
        .exclude(status=Compensation.Status.REJECTED)
        .aggregate(n=Count("id"), total=Sum("amount"))
    )
    if (mine["n"] or 0) + 1 > rule.max_count_per_period:
        reasons.append("count_over_limit")
    if (mine["total"] or Decimal(0)) + amount > rule.max_amount_per_period:
        reasons.append("total_over_limit")
    if (
        order is not None
        and Compensation.objects.filter(order=order).exclude(status=Compensation.Status.REJECTED).exists()
    ):
        reasons.append("order_compensated_before")
    return reasons


def _grant(compensation, rule):
    coupon = claims.claim(
        batch_code=rule.batch.code,
        customer=compensation.customer,
        channel="compensation",
        compensation=compensation.amount,
    )
    compensation.coupon = coupon
    compensation.save(update_fields=["coupon"])
    owner = compensation.customer.owner
    if owner is not None:
        notify(
            recipient=owner,
            kind="compensation",
            url=compensation.customer.get_absolute_url(),
            title=_("%(name)s received a compensation coupon of ¥%(amount)s")
            % {"name": compensation.customer.name, "amount": f"{compensation.amount:,.2f}"},
            body=compensation.reason,
        )


@transaction.atomic
def request_compensation(*, actor, customer, amount, reason, order=None, complaint=""):
    amount = Decimal(amount)
    if amount <= 0:
        raise ValidationError({"amount": _("A compensation must be worth something.")})
    if not reason.strip():
        raise ValidationError({"reason": _("Say what happened.")})
    rule = rule_for(actor.department)
    if rule is None:
        raise ValidationError(_("No compensation rule is set up for your department."))
    now = timezone.now()

    advisory_lock("compensation", actor.pk)  # a rep's period totals are checked one request at a time
    if order is not None:
        advisory_lock("compensation-order", order.pk)  # and an order's compensations, whoever asks
    reasons = review_reasons(actor=actor, customer=customer, amount=amount, order=order, rule=rule, now=now)
    compensation = Compensation.objects.create(
        customer=customer,
        order=order,
        complaint=complaint,
        amount=amount,
        reason=reason.strip(),
        status=Compensation.Status.REVIEW if reasons else Compensation.Status.APPROVED,
        review_reasons=reasons,
        requested_by=actor,
    )
    if reasons:  # manual review through the approval engine (kind ``compensation``)
        approvals.request_approval(kind=coupon_kinds.COMPENSATION, obj=compensation, requester=actor)
    else:
        _grant(compensation, rule)
    return compensation


@transaction.atomic
def decide(*, actor, compensation, approve, comment=""):
    """Decide the review's waiting step (a rejection needs a comment); the last approval grants
    the coupon (``on_decided``). Never the requester."""
    compensation = Compensation.objects.select_for_update().get(pk=compensation.pk)
    if compensation.status != Compensation.Status.REVIEW:
        raise ValidationError(_("This request was decided already."))
    request = ApprovalRequest.objects.filter(
        kind=coupon_kinds.COMPENSATION, object_id=compensation.pk, status=ApprovalRequest.Status.PENDING
    ).first()
    if request is None:
        raise ValidationError(_("No approval is waiting for this compensation."))
    approvals.decide_current(request=request, actor=actor, approve=approve, comment=comment)
    compensation.refresh_from_db()
    return compensation


def on_decided(*, compensation, actor, approve):
    """The approval engine's final decision: grant the coupon, or record the rejection."""
    compensation = Compensation.objects.select_for_update().get(pk=compensation.pk)
    compensation.status = Compensation.Status.APPROVED if approve else Compensation.Status.REJECTED
    compensation.decided_by, compensation.decided_at = actor, timezone.now()
    compensation.save()
    if approve:
        _grant(compensation, rule_for(compensation.requested_by.department))
