"""Reads of customer records, always through the permission layer."""

from crm import permissions, privacy

from .models import Customer


def customers_for(user):
    return permissions.visible(user, Customer.objects.select_related("owner", "department"))


def may_see_mobile(user):
    """Whether pages show this user mobiles (and other contact details) in full; when masking is on
    (``MASK_PERSONAL_DATA``), nobody does and allowed roles reveal one person at a time."""
    return privacy.may_see_contact(user)


# Region text no 省/市/区 code was found for: customers here; apps above register their own readers
# (sales: leads and assignment rules) in AppConfig.ready().
_UNMATCHED_REGION_READERS = []


def register_unmatched_regions(label, reader):
    """``reader(user)`` returns ``[(text, count)]`` of region text without a code in the user's scope
    (everyone's for ``user=None``: the management command)."""
    _UNMATCHED_REGION_READERS.append((label, reader))


def unmatched_customer_regions(user):
    from django.db.models import Count

    base = Customer.objects.all() if user is None else customers_for(user)  # None: a management command
    rows = (
        base.filter(region="")
        .exclude(region_text="")
        .order_by()
        .values("region_text")
        .annotate(n=Count("id"))
        .order_by("-n", "region_text")
    )
    return [(row["region_text"], row["n"]) for row in rows]


def unmatched_regions(user):
    """Every unmatched region text: ``[{"kind", "text", "count"}]``, most frequent first per kind."""
    from django.utils.translation import gettext

    readers = [(gettext("Customers"), unmatched_customer_regions)] + _UNMATCHED_REGION_READERS
    return [
        {"kind": str(label), "text": text, "count": count} for label, reader in readers for text, count in reader(user)
    ]


# --- the custom attributes (自定义字段), shared by every page that shows them --------------------------

ATTRIBUTES_KEY = "customers:custom-attributes"
ATTRIBUTES_TTL = 300


def custom_attributes() -> list:
    """The admin's custom attributes in display order, from the shared cache (ATTRIBUTES_TTL seconds);
    a save or delete of one drops it (``forget_custom_attributes``)."""
    from django.core.cache import cache

    from .models import CustomAttribute

    attributes = cache.get(ATTRIBUTES_KEY)
    if attributes is None:
        attributes = list(CustomAttribute.objects.order_by("position", "id"))
        cache.set(ATTRIBUTES_KEY, attributes, ATTRIBUTES_TTL)
    return attributes


def _drop_custom_attributes():
    from django.core.cache import cache

    cache.delete(ATTRIBUTES_KEY)


def forget_custom_attributes(**_kwargs):
    """Drop the cached attributes now and again once the change is committed (a page read in between
    would otherwise keep the old list)."""
    from django.db import transaction

    _drop_custom_attributes()
    transaction.on_commit(_drop_custom_attributes)
