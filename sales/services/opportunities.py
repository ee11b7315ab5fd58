"""Opportunities (商机): stages with win probability and key control points."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.approvals import services as approvals
from crm.models import ApprovalRequest

from ..approvals import KIND, stage_key
from ..models import Opportunity, OpportunityStage, StageHistory

DEFAULT_STAGES = [
    # name, probability, won, lost, approval role
    ("初步接触", 10, False, False, ""),
    ("需求分析", 25, False, False, ""),
    ("方案/试听课", 50, False, False, "director"),
    ("商务谈判", 75, False, False, ""),
    ("赢单", 100, True, False, ""),
    ("输单", 0, False, True, ""),
]


def ensure_default_stages():
    if not OpportunityStage.objects.exists():
        for position, (name, probability, won, lost, role) in enumerate(DEFAULT_STAGES):
            OpportunityStage.objects.create(
                name=name, position=position, probability=probability, is_won=won, is_lost=lost, approval_role=role
            )


@transaction.atomic
def open_opportunity(
    *, actor, customer, name, amount=0, owner=None, stage=None, expected_close=None, products="", lead=None
):
    ensure_default_stages()
    stage = stage or OpportunityStage.objects.filter(is_won=False, is_lost=False).order_by("position").first()
    owner = owner or actor
    opportunity = Opportunity(
        name=name,
        customer=customer,
        owner=owner,
        department_id=owner.department_id,
        stage=stage,
        amount=amount,
        expected_close=expected_close,
        products=products,
        lead=lead,
    )
    opportunity.full_clean(exclude=["department", "lead"])
    opportunity.save()
    StageHistory.objects.create(opportunity=opportunity, stage=stage, by=actor)
    return opportunity


EDITABLE_FIELDS = ("name", "amount", "probability", "expected_close", "products")


@transaction.atomic
def update_opportunity(*, actor, opportunity, **changes):
    """Edit the name, amount, probability override, expected close and products. The stage changes
    only through ``move_stage`` (control points), the owner only through re-assignment."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"update_opportunity does not change {', '.join(sorted(unknown))}")
    probability = changes.get("probability")
    if probability is not None and not 0 <= probability <= 100:
        raise ValidationError({"probability": _("Enter a win probability between 0 and 100.")})
    opportunity = Opportunity.objects.select_for_update().get(pk=opportunity.pk)
    for name, value in changes.items():
        setattr(opportunity, name, value)
    opportunity.full_clean(exclude=["department", "lead"])
    if changes:
        opportunity.save(update_fields=list(changes))
    return opportunity


def approval_requests(opportunity):
    return ApprovalRequest.objects.filter(
        kind=KIND, content_type__app_label="sales", content_type__model="opportunity", object_id=opportunity.pk
    )


def blocking_approval(opportunity, target):
    """The control point that stops a move from the current stage to ``target``: a stage at or
    before the current one, passed by the move, that needs an approval not yet given."""
    if target.position <= opportunity.stage.position and not target.is_closed:
        return None  # moving back never needs approval
    if target.is_lost:
        return None  # giving up never needs approval
    passed = OpportunityStage.objects.filter(
        position__gte=opportunity.stage.position, position__lt=target.position
    ).exclude(approval_role="")
    approved = set(
        approval_requests(opportunity).filter(status=ApprovalRequest.Status.APPROVED).values_list("key", flat=True)
    )
    for stage in passed.order_by("position"):
        if stage_key(stage) not in approved:
            return stage
    return None


@transaction.atomic
def move_stage(*, actor, opportunity, stage, lost_reason=""):
    """Move to ``stage`` unless a key control point stops it (then ``ValidationError`` with
    code ``approval_required``; ask with ``request_approval``). Keeps the stage history."""
    opportunity = Opportunity.objects.select_for_update().select_related("stage").get(pk=opportunity.pk)
    if opportunity.stage_id == stage.pk:
        return opportunity
    if opportunity.stage.is_closed:
        raise ValidationError(_("This opportunity is closed."))
    blocker = blocking_approval(opportunity, stage)
    if blocker is not None:
        raise ValidationError(
            _("“%(stage)s” needs an approval before the opportunity moves on.") % {"stage": blocker},
            code="approval_required",
        )
    if stage.is_lost and not lost_reason.strip():
        raise ValidationError({"lost_reason": _("Say why it was lost.")})
    now = timezone.now()
    # a stay ends no earlier than it began (a stay entered "in the future" by a back-dated record
    # ends when it began): no negative time in a stage
    StageHistory.objects.filter(opportunity=opportunity, left_at__isnull=True).update(
        left_at=Greatest(Value(now), F("entered_at"))
    )
    StageHistory.objects.create(opportunity=opportunity, stage=stage, by=actor, entered_at=now)
    opportunity.stage = stage
    opportunity.stage_entered_at = now
    if stage.is_lost:
        opportunity.lost_reason = lost_reason.strip()
    opportunity.closed_at = now if stage.is_closed else None
    opportunity.save()
    return opportunity


@transaction.atomic
def request_approval(*, actor, opportunity, stage=None):
    """Ask for the control point of ``stage`` (default: the current stage) through the approval
    engine: the requester's manager, then the stage's role up the tree (``sales.approvals``)."""
    opportunity = Opportunity.objects.select_related("stage", "owner__department", "department").get(pk=opportunity.pk)
    stage = stage or opportunity.stage
    if not stage.approval_role:
        raise ValidationError(_("This stage needs no approval."))
    return approvals.request_approval(kind=KIND, obj=opportunity, requester=actor, key=stage_key(stage))


def decide_approval(*, actor, approval, approve, comment=""):
    """Decide the waiting step of a control point's request (see ``crm.approvals.services.decide``)."""
    return approvals.decide_current(request=approval, actor=actor, approve=approve, comment=comment)
