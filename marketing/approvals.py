"""Marketing campaigns as a kind of the approval engine (``crm.approvals``)."""

from django.utils.translation import gettext_lazy as _

from crm import permissions
from crm.approvals import kinds
from crm.models import ApprovalRelation, Role

from .services import campaigns

CAMPAIGN = "marketing_campaign"


def _approved(request, campaign, actor):
    campaigns.on_decided(campaign=campaign, actor=actor, approve=True)


def _rejected(request, campaign, actor, comment):
    campaigns.on_decided(campaign=campaign, actor=actor, approve=False, reason=comment)


def _campaigns():
    from django.apps import apps

    return apps.get_model("marketing", "Campaign").objects.all()


def register():
    kinds.register(
        kinds.Kind(
            code=CAMPAIGN,
            label=_("Marketing campaign"),
            model="marketing.Campaign",
            describe=lambda campaign, key: _("Marketing campaign %(name)s") % {"name": campaign.name},
            on_approved=_approved,
            on_rejected=_rejected,
            amount=lambda campaign: campaign.budget,
            department=lambda campaign: campaign.department,
            may_view=lambda user, obj: permissions.can(user, "marketing.view") and permissions.is_visible(user, obj),
            # the requester's manager; a marketing team at head office has none above it: a director
            default_steps=((ApprovalRelation.REQUESTER_MANAGER, Role.DIRECTOR, None),),
            waiting=lambda: _campaigns().filter(status="submitted"),
            requester=lambda campaign: campaign.created_by or campaign.owner,
        )
    )
