"""What the home page shows about marketing: running campaigns with their figures, campaigns that
await the viewer's approval, scheduled touches."""

import datetime

from crm import permissions
from crm.approvals.selectors import inbox_for
from crm.models import User

from .approvals import CAMPAIGN
from .models import Campaign, CampaignStats, Touch


def home_panel(user: User, limit: int = 6) -> dict:
    if not permissions.can(user, "marketing.view"):
        return {}
    campaigns = permissions.visible(user, Campaign.objects.all())
    running = list(
        campaigns.filter(status__in=[Campaign.Status.RUNNING, Campaign.Status.APPROVED])
        .select_related("stats")
        .order_by("-start")[:limit]
    )
    for campaign in running:
        try:
            campaign.figures = campaign.stats.figures
        except CampaignStats.DoesNotExist:
            campaign.figures = {}
    # routed to the user by the approval engine (also a director outside the campaign's scope)
    waiting_ids = [step.request.object_id for step in inbox_for(user).filter(request__kind=CAMPAIGN)[:limit]]
    awaiting = (
        list(Campaign.objects.filter(pk__in=waiting_ids, status=Campaign.Status.SUBMITTED).select_related("owner"))
        if waiting_ids
        else []
    )
    scheduled = (
        Touch.objects.filter(campaign__in=campaigns, status=Touch.Status.SCHEDULED)
        .select_related("campaign")
        .order_by("scheduled_at")[:limit]
    )
    return {
        "marketing_panel": {
            "running": running,
            "awaiting": awaiting,
            "scheduled": scheduled,
            "can_manage": permissions.can(user, "marketing.manage"),
        }
    }


def manager_panel(user: User, *, now: datetime.datetime, context: dict) -> dict:
    """Registered into crm.home by MarketingConfig.ready() (marketing/integration.py)."""
    return home_panel(user)
