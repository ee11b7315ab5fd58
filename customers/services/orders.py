"""Orders, and the customer value figures they keep current (in the same transaction)."""
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Max, Min, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import Customer, LifecycleChange, Order, OrderLine, Satisfaction, SegmentationSettings
from . import segmentation

CENT = Decimal("0.01")


def _money(value, field):
    try:
        amount = Decimal(str(value)).quantize(CENT)
    except Exception:
        raise ValidationError({field: _("Enter an amount such as 128.00.")})
    if amount < 0:
        raise ValidationError({field: _("The amount cannot be negative.")})
    return amount


@transaction.atomic
def record_order(*, customer, amount, actor=None, cost=None, channel=Order.Channel.STORE, placed_at=None,
                 lines=(), external_id="", client=None, refresh=True, fingerprint=""):
    """Store an order with its lines and refresh the customer's figures and segment.

    ``lines``: dicts with sku, category, quantity, price. Raises ``ValidationError`` naming the field.
    """
    order = Order(
        customer=customer, amount=_money(amount, "amount"),
        cost=None if cost in (None, "") else _money(cost, "cost"),
        channel=channel, placed_at=placed_at or timezone.now(), external_id=external_id or "", client=client,
        fingerprint=fingerprint,
        created_by=actor if actor is not None and getattr(actor, "is_authenticated", False) else None,
    )
    if order.placed_at > timezone.now() + timezone.timedelta(days=1):
        raise ValidationError({"placed_at": _("The order time is in the future.")})
    # the database's CHECK constraints stay the last line of defence; validating them here would
    # cost a savepoint and a query per order (imports write thousands)
    order.full_clean(exclude=["customer", "client", "created_by"], validate_constraints=False)
    order.save()
    built = []
    for index, line in enumerate(lines):
        sku = str(line.get("sku", "")).strip()
        if not sku:
            raise ValidationError({f"items[{index}].sku": _("Enter the SKU.")})
        try:
            quantity = int(line.get("quantity", 1))
        except (TypeError, ValueError):
            quantity = 0
        if quantity < 1:
            raise ValidationError({f"items[{index}].quantity": _("Quantity must be at least 1.")})
        built.append(OrderLine(order=order, sku=sku[:64], category=str(line.get("category", ""))[:64],
                               quantity=quantity, price=_money(line.get("price", 0), f"items[{index}].price")))
    OrderLine.objects.bulk_create(built)
    if refresh:
        refresh_value_figures(customer.pk)
    return order


@transaction.atomic
def cancel_order(*, order, actor=None):
    """Cancel an order (idempotent) and refresh the customer's figures."""
    order = Order.objects.select_for_update().get(pk=order.pk)
    if order.status == Order.Status.CANCELLED:
        return order
    release = getattr(_coupon_hooks(), "release_for_cancelled_order", None)
    if release is not None:
        release(order=order)
    order.status = Order.Status.CANCELLED
    order.cancelled_at = timezone.now()
    order.save(update_fields=["status", "cancelled_at"])
    refresh_value_figures(order.customer_id)
    return order


def _coupon_hooks():
    """The coupons app gives a redeemed coupon back when its order is cancelled (if installed)."""
    try:
        from coupons import services as coupon_services
    except ImportError:
        return None
    return coupon_services


def refresh_value_figures(customer_id, *, settings=None, now=None):
    """Recompute one customer's figures from their paid orders, then their segment and stage.
    Locks the customer row so that concurrent orders of one customer serialize here."""
    settings = settings or SegmentationSettings.current()
    now = now or timezone.now()
    customer = Customer.objects.select_for_update().get(pk=customer_id)
    paid = Order.objects.filter(customer_id=customer_id, status=Order.Status.PAID)
    figures = paid.aggregate(n=Count("id"), total=Sum("amount"), first=Min("placed_at"), last=Max("placed_at"))
    times = list(paid.order_by("placed_at").values_list("placed_at", flat=True))
    customer.order_count = figures["n"]
    customer.total_amount = (figures["total"] or Decimal(0)).quantize(CENT)
    customer.avg_order_value = (customer.total_amount / customer.order_count).quantize(CENT) if figures["n"] else 0
    customer.first_order_at = figures["first"]
    customer.last_order_at = figures["last"]
    customer.previous_order_at = times[-2] if len(times) >= 2 else None
    customer.median_interval_days = segmentation.median_interval_days(times)
    window = segmentation.satisfaction_window_start(now=now, settings=settings)
    scores = list(Satisfaction.objects.filter(customer_id=customer_id, recorded_at__gte=window)
                  .values_list("kind", "score"))
    _changed, old_stage = segmentation.classify(
        customer, settings=settings, now=now, satisfaction=segmentation.satisfaction_level(scores)
    )
    customer.save()
    if old_stage != customer.lifecycle_stage:
        LifecycleChange.objects.create(customer=customer, from_stage=old_stage, to_stage=customer.lifecycle_stage,
                                       changed_at=now)
    return customer


@transaction.atomic
def record_satisfaction(*, customer, kind, score, source, comment="", actor=None, recorded_at=None):
    record = Satisfaction(customer=customer, kind=kind, score=score, source=source, comment=comment,
                          recorded_at=recorded_at or timezone.now(),
                          recorded_by=actor if actor is not None and getattr(actor, "is_authenticated", False) else None)
    if kind == Satisfaction.Kind.CSAT and not 1 <= score <= 5:
        raise ValidationError({"score": _("CSAT scores go from 1 to 5.")})
    if kind == Satisfaction.Kind.NPS and not 0 <= score <= 10:
        raise ValidationError({"score": _("NPS scores go from 0 to 10.")})
    record.full_clean()
    record.save()
    refresh_value_figures(customer.pk)
    return record


def recompute_all(*, now=None, batch_size=5000):
    """The nightly job: re-derive satisfaction, segment, grid class and stage for every customer,
    in batches with set-based reads and ``bulk_update``; record stage changes. Returns counts."""
    settings = SegmentationSettings.current()
    now = now or timezone.now()
    window = segmentation.satisfaction_window_start(now=now, settings=settings)
    fields = ["id", "order_count", "total_amount", "avg_order_value", "last_order_at", "previous_order_at",
              "median_interval_days", "satisfaction_level", "value_segment", "volume_level", "grid_class",
              "lifecycle_stage"]
    updated = changes = 0
    last_id = 0
    while True:
        batch = list(Customer.objects.filter(id__gt=last_id).order_by("id").only(*fields)[:batch_size])
        if not batch:
            break
        last_id = batch[-1].id
        ids = [c.id for c in batch]
        scores = {}
        for customer_id, kind, score in (Satisfaction.objects.filter(customer_id__in=ids, recorded_at__gte=window)
                                         .values_list("customer_id", "kind", "score")):
            scores.setdefault(customer_id, []).append((kind, score))
        dirty, stage_changes = [], []
        for customer in batch:
            changed, old_stage = segmentation.classify(
                customer, settings=settings, now=now,
                satisfaction=segmentation.satisfaction_level(scores.get(customer.id, [])),
            )
            if changed:
                dirty.append(customer)
            if old_stage != customer.lifecycle_stage:
                stage_changes.append(LifecycleChange(customer_id=customer.id, from_stage=old_stage,
                                                     to_stage=customer.lifecycle_stage, changed_at=now))
        # customers sharing the same new classes are updated together: a few dozen UPDATEs per
        # batch instead of one CASE per row (which is what makes bulk_update slow)
        groups = {}
        for customer in dirty:
            key = (customer.satisfaction_level, customer.value_segment, customer.volume_level, customer.grid_class,
                   customer.lifecycle_stage)
            groups.setdefault(key, []).append(customer.id)
        with transaction.atomic():
            for (satisfaction, segment, volume, grid, stage), ids_in_group in groups.items():
                Customer.objects.filter(id__in=ids_in_group).update(
                    satisfaction_level=satisfaction, value_segment=segment, volume_level=volume, grid_class=grid,
                    lifecycle_stage=stage)
            LifecycleChange.objects.bulk_create(stage_changes, batch_size=1000)
        updated += len(dirty)
        changes += len(stage_changes)
    return {"updated": updated, "stage_changes": changes}


def rebuild_value_figures(*, customer_ids=None, batch_size=5000, now=None):
    """Recompute the stored figures of many customers from their paid orders, set-based (for bulk
    loads and imports): one grouped query and one time list per batch, then ``bulk_update``;
    segments and stages follow through ``recompute_all``'s rules. Returns the customers updated."""
    from collections import defaultdict

    settings = SegmentationSettings.current()
    now = now or timezone.now()
    ids_qs = Customer.objects.order_by("id").values_list("id", flat=True)
    if customer_ids is not None:
        ids_qs = ids_qs.filter(id__in=list(customer_ids))
    all_ids = list(ids_qs)
    updated = 0
    for start in range(0, len(all_ids), batch_size):
        ids = all_ids[start:start + batch_size]
        times = defaultdict(list)
        totals = defaultdict(lambda: Decimal(0))
        for customer_id, placed_at, amount in (Order.objects.filter(customer_id__in=ids, status=Order.Status.PAID)
                                               .order_by("customer_id", "placed_at")
                                               .values_list("customer_id", "placed_at", "amount")):
            times[customer_id].append(placed_at)
            totals[customer_id] += amount
        customers = list(Customer.objects.filter(id__in=ids))
        stage_changes = []
        for customer in customers:
            placed = times.get(customer.id, [])
            customer.order_count = len(placed)
            customer.total_amount = totals[customer.id].quantize(CENT) if placed else Decimal(0)
            customer.avg_order_value = (customer.total_amount / len(placed)).quantize(CENT) if placed else Decimal(0)
            customer.first_order_at = placed[0] if placed else None
            customer.last_order_at = placed[-1] if placed else None
            customer.previous_order_at = placed[-2] if len(placed) >= 2 else None
            customer.median_interval_days = segmentation.median_interval_days(placed)
            _changed, old_stage = segmentation.classify(customer, settings=settings, now=now)
            if old_stage != customer.lifecycle_stage:
                stage_changes.append(LifecycleChange(customer_id=customer.id, from_stage=old_stage,
                                                     to_stage=customer.lifecycle_stage, changed_at=now))
        with transaction.atomic():
            LifecycleChange.objects.bulk_create(stage_changes, batch_size=1000)
            Customer.objects.bulk_update(customers, [
                "order_count", "total_amount", "avg_order_value", "first_order_at", "last_order_at",
                "previous_order_at", "median_interval_days", "value_segment", "volume_level", "grid_class",
                "lifecycle_stage"], batch_size=1000)
        updated += len(customers)
    return updated
