"""Reads of customer records, always through the permission layer."""
from crm import permissions, privacy

from .models import Customer


def customers_for(user):
    return permissions.visible(user, Customer.objects.select_related("owner", "department"))


def may_see_mobile(user):
    """Whether pages show this user mobiles (and other contact details) in full; when masking is on
    (``MASK_PERSONAL_DATA``), nobody does and allowed roles reveal one person at a time."""
    return privacy.may_see_contact(user)
