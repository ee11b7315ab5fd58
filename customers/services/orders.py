"""Orders, and the customer value figures they keep current (in the same transaction)."""

import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Max, Min, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from crm.errors import Conflict, Invalid

from .. import registry
from ..models import Customer, LifecycleChange, Order, OrderLine, Satisfaction, SegmentationSettings
from . import segmentation
from .bulk import update_rows
from .references import CustomerRef, resolve_or_create_customer
from .tags import _fill_from_request

CENT = Decimal("0.01")
MAX_QUANTITY = 2**31 - 1  # the largest quantity the database column holds (PostgreSQL integer)
# An earlier order time is a typing error (and Asia/Shanghai's offset before 1901, +08:05:43, has
# seconds, which an ISO 8601 time cannot carry).
EARLIEST_ORDER_TIME = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


def _money(value, field):
    try:
        amount = Decimal(str(value)).quantize(CENT)
    except Exception as exc:
        raise ValidationError({field: _("Enter an amount such as 128.00.")}) from exc
    if amount < 0:
        raise ValidationError({field: _("The amount cannot be negative.")})
    return amount


@transaction.atomic
def record_order(
    *,
    customer,
    amount,
    actor=None,
    cost=None,
    channel=Order.Channel.STORE,
    placed_at=None,
    lines=(),
    external_id="",
    client=None,
    refresh=True,
    fingerprint="",
):
    """Store an order with its lines and refresh the customer's figures and segment.

    ``lines``: dicts with sku, category, quantity, price. Raises ``ValidationError`` naming the field.
    """
    order, built = build_order(
        customer=customer,
        amount=amount,
        actor=actor,
        cost=cost,
        channel=channel,
        placed_at=placed_at,
        lines=lines,
        external_id=external_id,
        client=client,
        fingerprint=fingerprint,
    )
    order.save()
    for line in built:
        line.order = order
    OrderLine.objects.bulk_create(built)
    if refresh:
        refresh_value_figures(customer.pk)
    return order


@transaction.atomic
def place_order(
    *,
    customer=None,
    customer_ref=None,
    new_customer=None,
    amount,
    lines=(),
    coupon_code="",
    actor=None,
    cost=None,
    channel=Order.Channel.STORE,
    placed_at=None,
    external_id="",
    client=None,
    fingerprint="",
    partner_code="",
    unknown_skus="keep",
) -> Order:
    """下单: the one path that places an order — the order form, the orders API, the coupon redeem API.

    The customer is ``customer``, or the one ``customer_ref`` names (``{"id"}`` or ``{"mobile",
    "name"}``); an unknown mobile creates the customer with ``new_customer``'s fields (``actor``,
    department, owner, source), under the per-mobile advisory lock. The order and its lines are
    stored and, with ``coupon_code``, the coupon is redeemed — all in one transaction: a refused
    coupon leaves no order and no new customer. Returns the order with its ``discount`` current and
    ``redemption`` set (None without a coupon). A ``partner_code`` is handed to the ``order_placed``
    hooks (the partners app attributes the order to that partner, or refuses an unknown code).

    Lines naming a catalogue SKU are priced by the catalogue (``registry.price_orders``): a unit
    price the caller gives is kept (what was charged) and the sales policy that applied is recorded
    beside it with its price; a line without one is charged the policy's price (or the list price).
    Without an order ``cost``, the cost is the SKUs' costs when every line is from the catalogue.
    ``unknown_skus``: ``"keep"`` a SKU the catalogue does not know as given, ``"refuse"`` it
    (``ValidationError`` on ``items[n].sku``: the order form, an API client) or ``"create"`` it
    (an API client with the scope ``products:write``).

    Raises ``Invalid`` (on ``customer``) for an unknown customer id, ``ValidationError`` naming the
    field for a bad amount, time or line, and the coupon's ``Conflict`` (``not_found``, ``expired``,
    … as in the API contract) when the redemption is refused."""
    if customer is None:
        fields = dict(new_customer or {})
        creator = fields.pop("actor", actor)
        customer, _created = resolve_or_create_customer(CustomerRef.of(customer_ref or {}), actor=creator, **fields)
        if customer is None:
            raise Invalid(fields={"customer": ["No customer with this id."]})
    if lines:
        day = timezone.localdate(placed_at) if isinstance(placed_at, datetime.datetime) else timezone.localdate()
        lines = registry.price_orders(
            [{"lines": list(lines), "customer": customer, "channel": channel, "on": day}],
            unknown=unknown_skus,
            actor=actor if getattr(actor, "is_authenticated", False) else None,
        )[0]
    if amount in (None, "") and lines:  # no total given: the lines' total at the prices charged
        amount = sum(
            (Decimal(str(line.get("price") or 0)) * int(line.get("quantity") or 1) for line in lines), Decimal(0)
        )
    order = record_order(
        customer=customer,
        amount=amount,
        actor=actor,
        cost=cost,
        channel=channel,
        placed_at=placed_at,
        lines=lines,
        external_id=external_id,
        client=client,
        fingerprint=fingerprint,
    )
    order.partner_code = partner_code  # read by the partners' hook (attribution by referral code)
    registry.order_placed(order)  # e.g. the catalogue grants the entitlements the SKUs carry
    redemption = None
    if coupon_code:
        redemption = redeem_coupon(code=coupon_code, order=order, customer=customer)
        order.refresh_from_db()
    order.redemption = redemption
    return order


def redeem_coupon(*, code, order, customer, lines=None):
    """Use a coupon on an order stored in this transaction, through the coupons app's hook; raises
    its ``Conflict`` when refused (``not_found`` when the coupons app is not installed)."""
    redeem = registry.order_coupon_hook("redeem")
    if redeem is None:
        raise Conflict("not_found", gettext_noop("No coupon with this code."))
    return redeem(code=code, order=order, customer=customer, lines=lines)


def build_order(
    *,
    customer,
    amount,
    actor=None,
    cost=None,
    channel=Order.Channel.STORE,
    placed_at=None,
    lines=(),
    external_id="",
    client=None,
    fingerprint="",
):
    """The checked, unsaved order and its lines (without ``order`` set): ``record_order`` saves them
    one by one, an import saves thousands with ``bulk_create``. Lines priced by the catalogue carry
    ``policy_id``, ``policy_name``, ``policy_price`` and ``cost`` (unit); without an order cost,
    an order whose every line has a cost costs their sum. No query. Raises ``ValidationError``."""
    order = Order(
        customer=customer,
        amount=_money(amount, "amount"),
        cost=None if cost in (None, "") else _money(cost, "cost"),
        channel=channel,
        placed_at=placed_at or timezone.now(),
        external_id=external_id or "",
        client=client,
        fingerprint=fingerprint,
        created_by=actor if actor is not None and getattr(actor, "is_authenticated", False) else None,
    )
    if order.placed_at > timezone.now() + timezone.timedelta(days=1):
        raise ValidationError({"placed_at": _("The order time is in the future.")})
    if order.placed_at < EARLIEST_ORDER_TIME:
        raise ValidationError({"placed_at": _("The order time is before 1970.")})
    # the database's CHECK constraints stay the last line of defence; validating them here would
    # cost a savepoint and a query per order (imports write thousands)
    order.full_clean(exclude=["customer", "client", "created_by"], validate_constraints=False)
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
        if quantity > MAX_QUANTITY:
            raise ValidationError({f"items[{index}].quantity": _("Quantity is too large.")})
        built.append(
            OrderLine(
                sku=sku[:64],
                category=str(line.get("category", ""))[:64],
                quantity=quantity,
                price=_money(line.get("price", 0), f"items[{index}].price"),
                policy_id=line.get("policy_id"),
                policy_name=str(line.get("policy_name") or "")[:100],
                policy_price=line.get("policy_price"),
                cost=line.get("cost"),
            )
        )
    if order.cost is None and built and all(line.cost is not None for line in built):
        # priced by the catalogue: the order costs what its SKUs cost
        order.cost = sum((line.cost * line.quantity for line in built), Decimal(0)).quantize(CENT)
    return order, built


def save_orders(built, *, actor=None, batch_size=1000):
    """Store many orders from :func:`build_order` — ``[(order, lines)]`` — with ``bulk_create``
    (orders, lines, and auditlog's "created" entries, which ``bulk_create`` would not write),
    a few queries per ``batch_size`` orders. The caller refreshes the customers' figures
    (``rebuild_value_figures``) and holds the transaction."""
    for start in range(0, len(built), batch_size):
        chunk = built[start : start + batch_size]
        orders = Order.objects.bulk_create([order for order, _lines in chunk])
        lines = []
        for order, order_lines in chunk:
            for line in order_lines:
                line.order = order
                lines.append(line)
        OrderLine.objects.bulk_create(lines)
        log_created(orders, actor=actor)
    return len(built)


def log_created(objects: list, *, actor=None) -> None:
    """auditlog's "created" entries for ``objects`` (of one model) stored with ``bulk_create``,
    which writes none: one insert."""
    from auditlog.cid import get_cid
    from auditlog.diff import model_instance_diff
    from auditlog.models import LogEntry
    from django.conf import settings as django_settings
    from django.contrib.contenttypes.models import ContentType

    if not objects:
        return
    content_type = ContentType.objects.get_for_model(type(objects[0]))
    actor = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    cid, now = get_cid(), timezone.now()
    as_json = getattr(django_settings, "AUDITLOG_STORE_JSON_CHANGES", False)
    entries = [
        LogEntry(
            content_type=content_type,
            object_pk=str(item.pk),
            object_id=item.pk,
            object_repr=str(item),
            action=LogEntry.Action.CREATE,
            changes=model_instance_diff(None, item, use_json_for_changes=as_json),
            actor=actor,
            actor_email=getattr(actor, "email", None) if actor else None,
            cid=cid,
            timestamp=now,
        )
        for item in objects
    ]
    _fill_from_request(entries)
    LogEntry.objects.bulk_create(entries)


@transaction.atomic
def cancel_order(*, order, actor=None):
    """Cancel an order (idempotent) and refresh the customer's figures."""
    order = Order.objects.select_for_update().get(pk=order.pk)
    if order.status == Order.Status.CANCELLED:
        return order
    release = registry.order_coupon_hook("release")
    if release is not None:
        release(order=order)
    order.status = Order.Status.CANCELLED
    order.cancelled_at = timezone.now()
    order.save(update_fields=["status", "cancelled_at"])
    refresh_value_figures(order.customer_id)
    return order


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
    scores = list(
        Satisfaction.objects.filter(customer_id=customer_id, recorded_at__gte=window).values_list("kind", "score")
    )
    _changed, old_stage = segmentation.classify(
        customer, settings=settings, now=now, satisfaction=segmentation.satisfaction_level(scores)
    )
    customer.save()
    if old_stage != customer.lifecycle_stage:
        LifecycleChange.objects.create(
            customer=customer, from_stage=old_stage, to_stage=customer.lifecycle_stage, changed_at=now
        )
    return customer


@transaction.atomic
def record_satisfaction(*, customer, kind, score, source, comment="", actor=None, recorded_at=None):
    record = Satisfaction(
        customer=customer,
        kind=kind,
        score=score,
        source=source,
        comment=comment,
        recorded_at=recorded_at or timezone.now(),
        recorded_by=actor if actor is not None and getattr(actor, "is_authenticated", False) else None,
    )
    if kind == Satisfaction.Kind.CSAT and not 1 <= score <= 5:
        raise ValidationError({"score": _("CSAT scores go from 1 to 5.")})
    if kind == Satisfaction.Kind.NPS and not 0 <= score <= 10:
        raise ValidationError({"score": _("NPS scores go from 0 to 10.")})
    record.full_clean()
    record.save()
    refresh_value_figures(customer.pk)
    return record


#: what the segmentation rules derive from the stored figures
CLASS_FIELDS = ["satisfaction_level", "value_segment", "volume_level", "grid_class", "lifecycle_stage"]
#: the figures kept from the paid orders
FIGURE_FIELDS = [
    "order_count",
    "total_amount",
    "avg_order_value",
    "first_order_at",
    "last_order_at",
    "previous_order_at",
    "median_interval_days",
]


def recompute_all(*, now=None, batch_size=5000):
    """The nightly job: re-derive satisfaction, segment, grid class and stage for every customer,
    in batches with set-based reads, writing only the customers whose classes changed (with
    ``UPDATE ... FROM (VALUES ...)`` on PostgreSQL); record stage changes. Returns counts."""
    settings = SegmentationSettings.current()
    now = now or timezone.now()
    window = segmentation.satisfaction_window_start(now=now, settings=settings)
    fields = [
        "id",
        "order_count",
        "total_amount",
        "avg_order_value",
        "last_order_at",
        "previous_order_at",
        "median_interval_days",
        "satisfaction_level",
        "value_segment",
        "volume_level",
        "grid_class",
        "lifecycle_stage",
    ]
    updated = changes = 0
    last_id = 0
    while True:
        batch = list(Customer.objects.filter(id__gt=last_id).order_by("id").only(*fields)[:batch_size])
        if not batch:
            break
        last_id = batch[-1].id
        ids = [c.id for c in batch]
        scores = {}
        for customer_id, kind, score in Satisfaction.objects.filter(
            customer_id__in=ids, recorded_at__gte=window
        ).values_list("customer_id", "kind", "score"):
            scores.setdefault(customer_id, []).append((kind, score))
        dirty, stage_changes = [], []
        for customer in batch:
            changed, old_stage = segmentation.classify(
                customer,
                settings=settings,
                now=now,
                satisfaction=segmentation.satisfaction_level(scores.get(customer.id, [])),
            )
            if changed:
                dirty.append(customer)
            if old_stage != customer.lifecycle_stage:
                stage_changes.append(
                    LifecycleChange(
                        customer_id=customer.id, from_stage=old_stage, to_stage=customer.lifecycle_stage, changed_at=now
                    )
                )
        # one UPDATE ... FROM (VALUES ...) per 1,000 changed customers (bulk_update's CASE per row is slow)
        with transaction.atomic():
            update_rows(Customer, CLASS_FIELDS, [(c.id, *(getattr(c, f) for f in CLASS_FIELDS)) for c in dirty])
            LifecycleChange.objects.bulk_create(stage_changes, batch_size=1000)
        updated += len(dirty)
        changes += len(stage_changes)
    return {"updated": updated, "stage_changes": changes}


def rebuild_value_figures(*, customer_ids=None, batch_size=5000, now=None):
    """Recompute the stored figures of many customers from their paid orders, set-based (for bulk
    loads and imports): one ordered read of the orders per batch, then the customers whose figures
    or classes changed are written with ``UPDATE ... FROM (VALUES ...)`` (PostgreSQL; ``bulk_update``
    elsewhere); segments and stages follow ``recompute_all``'s rules. Returns the customers updated."""
    from collections import defaultdict

    settings = SegmentationSettings.current()
    now = now or timezone.now()
    ids_qs = Customer.objects.order_by("id").values_list("id", flat=True)
    if customer_ids is not None:
        ids_qs = ids_qs.filter(id__in=list(customer_ids))
    all_ids = list(ids_qs)
    fields = FIGURE_FIELDS + [f for f in CLASS_FIELDS if f != "satisfaction_level"]
    updated = 0
    for start in range(0, len(all_ids), batch_size):
        ids = all_ids[start : start + batch_size]
        times = defaultdict(list)
        totals = defaultdict(lambda: Decimal(0))
        for customer_id, placed_at, amount in (
            Order.objects.filter(customer_id__in=ids, status=Order.Status.PAID)
            .order_by("customer_id", "placed_at")
            .values_list("customer_id", "placed_at", "amount")
        ):
            times[customer_id].append(placed_at)
            totals[customer_id] += amount
        customers = list(Customer.objects.filter(id__in=ids).only("id", "satisfaction_level", *fields))
        stage_changes, rows = [], []
        for customer in customers:
            before = tuple(getattr(customer, f) for f in fields)
            placed = times.get(customer.id, [])
            customer.order_count = len(placed)
            customer.total_amount = totals[customer.id].quantize(CENT) if placed else Decimal("0.00")
            customer.avg_order_value = (
                (customer.total_amount / len(placed)).quantize(CENT) if placed else Decimal("0.00")
            )
            customer.first_order_at = placed[0] if placed else None
            customer.last_order_at = placed[-1] if placed else None
            customer.previous_order_at = placed[-2] if len(placed) >= 2 else None
            customer.median_interval_days = segmentation.median_interval_days(placed)
            _changed, old_stage = segmentation.classify(customer, settings=settings, now=now)
            after = tuple(getattr(customer, f) for f in fields)
            if after != before:
                rows.append((customer.id, *after))
            if old_stage != customer.lifecycle_stage:
                stage_changes.append(
                    LifecycleChange(
                        customer_id=customer.id, from_stage=old_stage, to_stage=customer.lifecycle_stage, changed_at=now
                    )
                )
        with transaction.atomic():
            LifecycleChange.objects.bulk_create(stage_changes, batch_size=1000)
            update_rows(Customer, fields, rows)
        updated += len(rows)
    return updated
