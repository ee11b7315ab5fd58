"""What the home page shows about marketing: running campaigns with their figures, campaigns that
await the viewer's approval, scheduled touches."""
from crm import permissions

from ..models import Campaign, CampaignStats, Touch
from ..services.campaigns import can_approve


def home_panel(user, limit=6):
    if not permissions.can(user, "marketing.view"):
        return {}
    campaigns = permissions.visible(user, Campaign.objects.all())
    running = list(campaigns.filter(status__in=[Campaign.Status.RUNNING, Campaign.Status.APPROVED])
                   .select_related("stats").order_by("-start")[:limit])
    for campaign in running:
        try:
            campaign.figures = campaign.stats.figures
        except CampaignStats.DoesNotExist:
            campaign.figures = {}
    awaiting = [c for c in campaigns.filter(status=Campaign.Status.SUBMITTED).select_related("owner")[:limit]
                if can_approve(user, c)]
    scheduled = Touch.objects.filter(campaign__in=campaigns, status=Touch.Status.SCHEDULED).select_related(
        "campaign").order_by("scheduled_at")[:limit]
    return {"marketing_panel": {"running": running, "awaiting": awaiting, "scheduled": scheduled,
                                "can_manage": permissions.can(user, "marketing.manage")}}
