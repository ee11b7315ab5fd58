"""Reads of marketing records, always through the permission layer (crm/permissions.py): events and
touches are seen through the campaigns the user sees."""
from django.db.models import QuerySet

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
