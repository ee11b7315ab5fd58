"""Reads of customer records, always through the permission layer."""
from crm import permissions

from .models import Customer


def customers_for(user):
    return permissions.visible(user, Customer.objects.select_related("owner", "department"))


def may_see_mobile(user):
    return permissions.can(user, "customers.view_mobile")
