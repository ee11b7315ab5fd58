"""Key control points (关键控制点) as a kind of the approval engine (``crm.approvals``): moving an
opportunity past a stage with an approval role needs an approved request for that stage."""

from django.utils.translation import gettext_lazy as _

from crm.approvals import kinds
from crm.models import ApprovalRelation

from .models import OpportunityStage

KIND = "opportunity_control_point"


def stage_key(stage):
    return f"stage:{stage.pk}"


def _stage(key):
    if not key.startswith("stage:"):
        return None
    return OpportunityStage.objects.filter(pk=key.split(":", 1)[1]).first()


def _describe(opportunity, key):
    stage = _stage(key)
    return _("%(opportunity)s past “%(stage)s”") % {
        "opportunity": opportunity.name,
        "stage": stage.name if stage else "—",
    }


def _record_role(opportunity, key):
    stage = _stage(key)
    return stage.approval_role if stage else ""


def _nothing(*args):
    """The move itself checks for the approved request; nothing to change on the opportunity."""


def register():
    kinds.register(
        kinds.Kind(
            code=KIND,
            label=_("Key control point"),
            model="sales.Opportunity",
            describe=_describe,
            on_approved=_nothing,
            on_rejected=_nothing,
            amount=lambda opportunity: opportunity.amount,
            department=lambda opportunity: opportunity.department or opportunity.owner.department,
            record_role=_record_role,
            # the requester's manager first (a team's manager sees his team's requests), then the role
            # the stage names, up the tree (the manager is not asked twice for a manager's stage)
            default_steps=((ApprovalRelation.REQUESTER_MANAGER, "", None), (ApprovalRelation.RECORD_ROLE, "", None)),
        )
    )
