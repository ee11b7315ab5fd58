"""Reads of marketing records, always through the permission layer (crm/permissions.py): events and
touches are seen through the campaigns the user sees."""

from django.db.models import QuerySet

from coupons.services.dashboard import Filters as DashboardFilters
from coupons.services.dashboard import decimal_or_none
from crm import permissions
from crm.models import User

from .models import Campaign, Event, NurturePlan, Segment, Touch


def segments_for(user: User) -> QuerySet[Segment]:
    return permissions.visible(user, Segment.objects.select_related("owner"))


def campaigns_for(user: User) -> QuerySet[Campaign]:
    return permissions.visible(user, Campaign.objects.select_related("owner", "department", "segment"))


def events_for(user: User) -> QuerySet[Event]:
    return Event.objects.filter(campaign__in=campaigns_for(user)).select_related("campaign")


def touches_for(user: User) -> QuerySet[Touch]:
    return Touch.objects.filter(campaign__in=campaigns_for(user)).select_related("campaign", "event", "content")


def plans_for(user: User) -> QuerySet[NurturePlan]:
    return permissions.visible(user, NurturePlan.objects.select_related("segment", "campaign", "owner"))


def campaign_roi_rows(user: User, filters: DashboardFilters, limit: int = 200) -> list[dict]:
    """Marketing campaigns in scope that overlap the period, ranked by ROI (from CampaignStats):
    the campaigns of the coupons dashboard (registered there by marketing/integration.py)."""
    campaigns = (
        permissions.visible(user, Campaign.objects.all())
        .filter(start__lte=filters.end, end__gte=filters.start)
        .exclude(status__in=[Campaign.Status.DRAFT, Campaign.Status.SUBMITTED, Campaign.Status.REJECTED])
    )
    if filters.department is not None:
        campaigns = campaigns.filter(department__path__startswith=filters.department.path)
    statuses = dict(Campaign.Status.choices)
    rows = []
    for c in campaigns.values(
        "id", "name", "status", "start", "end", "department__name", "stats__figures", "stats__refreshed_at"
    ).order_by("-start", "-id")[:limit]:
        figures = c["stats__figures"] or {}
        rows.append(
            {
                "id": c["id"],
                "name": c["name"],
                "status": statuses.get(c["status"], c["status"]),
                "department": c["department__name"],
                "start": c["start"],
                "end": c["end"],
                "reached": figures.get("reached"),
                "leads": figures.get("leads"),
                "deals": figures.get("deals"),
                "gmv": decimal_or_none(figures.get("gmv")),
                "cost": decimal_or_none(figures.get("cost")),
                "roi": decimal_or_none(figures.get("roi")),
                "cost_per_deal": decimal_or_none(figures.get("cost_per_deal")),
                "refreshed_at": c["stats__refreshed_at"],
            }
        )
    rows.sort(key=lambda r: (r["roi"] is None, -(r["roi"] or 0), r["name"]))
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank
    return rows
