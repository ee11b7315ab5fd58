"""Reads of the catalogue, the policies and the entitlements.

The catalogue and the policies are company-wide reference data: who may read them is the role
(``catalog.view``); entitlements belong to customers and are narrowed to the user's data scope
through the customer (``crm.permissions.visible``)."""

import datetime

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from crm import permissions

from .models import Category, Entitlement, EntitlementUse, Product, SalesPolicy, Sku


def categories() -> QuerySet:
    return Category.objects.annotate(product_count=Count("products")).order_by("path")


def products_for(user) -> QuerySet:
    """The products the user may read (every one, for roles with ``catalog.view``)."""
    if not permissions.can(user, "catalog.view"):
        return Product.objects.none()
    return Product.objects.select_related("category").annotate(sku_count=Count("skus"))


def skus_for(user) -> QuerySet:
    if not permissions.can(user, "catalog.view"):
        return Sku.objects.none()
    return Sku.objects.select_related("product__category")


def on_sale_q(day: datetime.date, prefix: str = "") -> Q:
    """The products (or, with ``prefix="product__"``, the SKUs) on sale on ``day``."""
    return Q(**{f"{prefix}status": Product.Status.APPROVED, f"{prefix}sale_from__lte": day}) & (
        Q(**{f"{prefix}sale_until__isnull": True}) | Q(**{f"{prefix}sale_until__gt": day})
    )


def skus_on_sale(
    *,
    day: datetime.date | None = None,
    category: Category | None = None,
    updated_since: datetime.datetime | None = None,
) -> QuerySet:
    """Active SKUs of products on sale on ``day`` (today), optionally of a category (and those
    below it) and changed since a time — what the API lists."""
    day = day or timezone.localdate()
    queryset = Sku.objects.filter(on_sale_q(day, "product__"), is_active=True).select_related("product__category")
    if category is not None:
        queryset = queryset.filter(product__category__path__startswith=category.path)
    if updated_since is not None:
        queryset = queryset.filter(Q(updated_at__gte=updated_since) | Q(product__updated_at__gte=updated_since))
    return queryset.order_by("code", "pk")


def policies_for(user) -> QuerySet:
    if not permissions.can(user, "catalog.view"):
        return SalesPolicy.objects.none()
    return SalesPolicy.objects.select_related("sku", "category").annotate(price_count=Count("prices"))


def entitlements_for(user) -> QuerySet:
    """The entitlements of the customers in the user's data scope."""
    if not permissions.can(user, "catalog.view"):
        return Entitlement.objects.none()
    return permissions.visible(user, Entitlement.objects.select_related("customer", "customer__owner", "sku"))


def uses_of(entitlement: Entitlement, limit: int = 50) -> list:
    return list(EntitlementUse.objects.filter(entitlement=entitlement).select_related("used_by")[:limit])
