"""Coupon batches and compensation reviews as kinds of the approval engine (``crm.approvals``)."""

from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from crm import permissions
from crm.approvals import kinds
from crm.models import ApprovalRelation, Role

from .services import batches
from .services import compensation as compensations

BATCH = "coupon_batch"
COMPENSATION = "compensation"


def _batch_amount(batch):
    return batches.max_subsidy(batch)


def _batch_approved(request, batch, actor):
    batches.on_approved(batch=batch, actor=actor)


def _batch_rejected(request, batch, actor, comment):
    batches.on_rejected(batch=batch, actor=actor, reason=comment)


def _compensation_approved(request, compensation, actor):
    compensations.on_decided(compensation=compensation, actor=actor, approve=True)


def _compensation_rejected(request, compensation, actor, comment):
    compensations.on_decided(compensation=compensation, actor=actor, approve=False)


def _model(name):
    from django.apps import apps

    return apps.get_model("coupons", name)


def _sees(action):
    return lambda user, obj: permissions.can(user, action) and permissions.is_visible(user, obj)


def register():
    kinds.register(
        kinds.Kind(
            code=BATCH,
            label=_("Coupon batch"),
            model="coupons.Batch",
            describe=lambda batch, key: _("Coupon batch %(batch)s") % {"batch": batch.name},
            on_approved=_batch_approved,
            on_rejected=_batch_rejected,
            amount=_batch_amount,
            department=lambda batch: batch.campaign.department,
            may_view=_sees("coupons.view"),
            # the requester's manager (none above a head-office requester: a director); over ¥50,000
            # of maximum subsidy a director approves too
            default_steps=(
                (ApprovalRelation.REQUESTER_MANAGER, Role.DIRECTOR, None),
                (ApprovalRelation.ROLE, Role.DIRECTOR, Decimal("50000")),
            ),
            waiting=lambda: _model("Batch").objects.filter(status="submitted").select_related("campaign"),
            requester=lambda batch: batch.created_by or batch.campaign.owner,
        )
    )
    kinds.register(
        kinds.Kind(
            code=COMPENSATION,
            label=_("Compensation review"),
            model="coupons.Compensation",
            describe=lambda item, key: (
                _("Compensation of ¥%(amount)s for %(customer)s")
                % {"amount": item.amount, "customer": item.customer.name}
            ),
            on_approved=_compensation_approved,
            on_rejected=_compensation_rejected,
            amount=lambda item: item.amount,
            department=lambda item: item.customer.department,
            url=lambda item: "/coupons/compensations/",
            may_view=_sees("coupons.view"),
            default_steps=((ApprovalRelation.REQUESTER_MANAGER, Role.MANAGER, None),),
            waiting=lambda: _model("Compensation").objects.filter(status="review").select_related("customer"),
            requester=lambda item: item.requested_by,
        )
    )
