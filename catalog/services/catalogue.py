"""Writes of the catalogue: categories, products, SKUs, and launches (产品上线).

A product goes on sale only through an approved launch request (the approval engine, kind
``product_launch``): ``request_launch`` sets the sale period and asks; the approver's decision
moves it to approved (on sale from ``sale_from``) or rejected; ``withdraw_product`` ends the sale
on a day. Every change is saved through the model (auditlog records it) or written to the audit
log explicitly when it is a conditional UPDATE.
"""

import datetime

from auditlog.models import LogEntry
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.approvals import services as approvals
from crm.errors import DomainError

from ..models import Category, Product, Sku

LAUNCH_KIND = "product_launch"


def _audit(obj, actor, changes):
    LogEntry.objects.log_create(
        obj,
        force_log=True,
        action=LogEntry.Action.UPDATE,
        actor=actor,
        changes={name: [str(before), str(after)] for name, (before, after) in changes.items()},
    )


@transaction.atomic
def save_category(*, category: Category, actor=None) -> Category:
    """Save a category and keep the paths of it and every category below it. Refuses a parent
    that is the category itself or one below it (a loop)."""
    parent = category.parent
    if category.pk and parent is not None and (parent.pk == category.pk or parent.path.startswith(category.path)):
        raise ValidationError({"parent": _("A category cannot sit below itself.")})
    category.full_clean(exclude=["path"])
    old_path = category.path
    if not category.pk:
        category.save()
    category.path = f"{parent.path if parent else ''}{category.pk:06d}/"
    category.save()
    if old_path and old_path != category.path:
        for child in Category.objects.filter(path__startswith=old_path).exclude(pk=category.pk):
            child.path = category.path + child.path[len(old_path) :]
            child.save(update_fields=["path"])
    return category


@transaction.atomic
def save_product(*, product: Product, actor=None) -> Product:
    """Create or edit a product's data (not its launch: see ``request_launch``)."""
    if product.pk is None and actor is not None:
        product.created_by = actor
    product.code = product.code.strip()
    product.full_clean()
    product.save()
    return product


@transaction.atomic
def save_sku(*, sku: Sku, actor=None) -> Sku:
    """Create or edit a SKU: code unique, money not negative, tax rate 0–100 %."""
    sku.code = sku.code.strip()
    sku.full_clean()
    sku.save()
    return sku


@transaction.atomic
def request_launch(
    *,
    product: Product,
    sale_from: datetime.date,
    sale_until: datetime.date | None = None,
    actor,
) -> Product:
    """Ask approval to sell ``product`` from ``sale_from`` (until ``sale_until``, exclusive).
    Refuses a product without an active SKU, a period that ends before it starts, and a product
    already waiting (``DomainError("launch_waiting")``)."""
    product = Product.objects.select_for_update().get(pk=product.pk)
    if product.status == Product.Status.PENDING:
        raise DomainError("launch_waiting", _("This product is already waiting for approval."))
    if not product.skus.filter(is_active=True).exists():
        raise ValidationError({"sale_from": _("Add at least one active SKU before launching the product.")})
    if sale_until is not None and sale_until <= sale_from:
        raise ValidationError({"sale_until": _("The withdrawal day must be after the first day of sale.")})
    product.status, product.sale_from, product.sale_until = (
        Product.Status.PENDING,
        sale_from,
        sale_until,
    )
    product.save()
    approvals.request_approval(
        kind=LAUNCH_KIND,
        obj=product,
        requester=actor,
        key=f"{sale_from.isoformat()}:{sale_until or ''}",
    )
    return product


def on_launch_approved(*, product: Product, actor) -> None:
    """Called by the approval engine inside its transaction."""
    Product.objects.filter(pk=product.pk, status=Product.Status.PENDING).update(status=Product.Status.APPROVED)
    _audit(product, actor, {"status": (Product.Status.PENDING, Product.Status.APPROVED)})


def on_launch_rejected(*, product: Product, actor, reason: str = "") -> None:
    Product.objects.filter(pk=product.pk, status=Product.Status.PENDING).update(status=Product.Status.REJECTED)
    _audit(product, actor, {"status": (Product.Status.PENDING, Product.Status.REJECTED)})


@transaction.atomic
def withdraw_product(*, product: Product, on: datetime.date | None = None, actor) -> Product:
    """End the sale of an approved product: it is no longer sold from ``on`` (today by default).
    A withdrawal day in the past is refused; a later one keeps it on sale until then."""
    product = Product.objects.select_for_update().get(pk=product.pk)
    today = timezone.localdate()
    on = on or today
    if product.status != Product.Status.APPROVED:
        raise DomainError("not_launched", _("Only a launched product can be withdrawn."))
    if on < today:
        raise ValidationError({"sale_until": _("The withdrawal day cannot be in the past.")})
    if product.sale_from and on <= product.sale_from:
        product.status = Product.Status.WITHDRAWN  # withdrawn before its first day of sale
    else:
        product.sale_until = on
        if on <= today:
            product.status = Product.Status.WITHDRAWN
    product.save()
    return product


def close_withdrawn(*, today: datetime.date | None = None) -> int:
    """Approved products whose withdrawal day has come become ``withdrawn`` (each in the audit log)."""
    today = today or timezone.localdate()
    done = 0
    for product in Product.objects.filter(status=Product.Status.APPROVED, sale_until__lte=today):
        with transaction.atomic():
            if Product.objects.filter(pk=product.pk, status=Product.Status.APPROVED).update(
                status=Product.Status.WITHDRAWN
            ):
                _audit(
                    product,
                    None,
                    {"status": (Product.Status.APPROVED, Product.Status.WITHDRAWN)},
                )
                done += 1
    return done
