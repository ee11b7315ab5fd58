"""Reads of sales records, always through the permission layer (crm/permissions.py)."""
from django.db.models import QuerySet

from crm import permissions
from crm.models import User

from .models import Lead, Opportunity


def leads_for(user: User) -> QuerySet[Lead]:
    """The leads a user may open and act on (their data scope)."""
    return permissions.visible(user, Lead.objects.select_related("owner", "department"))


def opportunities_for(user: User) -> QuerySet[Opportunity]:
    """The opportunities a user may open and act on (their data scope)."""
    return permissions.visible(user, Opportunity.objects.select_related("customer", "owner", "stage"))
