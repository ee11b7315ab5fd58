"""Customer entitlements (客户权益): granting, consuming (核销) and the renewal task (续费).

**Never below zero.** A use is one conditional UPDATE — ``balance = balance - n WHERE balance >= n
AND not expired`` — so two concurrent uses of the last unit cannot both pass: the second waits for
the first's row lock, re-reads the balance and matches no row. The CHECK constraint
``balance >= 0`` is the last line of defence.

**Idempotent.** A use with a ``reference`` is stored once per entitlement (a unique index): the
same reference again returns the first use and takes nothing; two concurrent requests with the
same reference both decrement, the second's insert fails on the index and its transaction —
decrement included — is rolled back, and it returns the first use.

**Refunds** (退费) take units off the balance like a use, by the same conditional UPDATE (so two
concurrent refunds of the last hours cannot both pass and the balance never goes below zero), as
a line of kind ``refund`` with its reason; a refund never asks for a renewal.

**Renewal once.** When a use leaves the balance at or under the entitlement's threshold, the
owner of the customer gets a renewal task; ``renewal_flagged_at`` is set by a conditional UPDATE
(``WHERE renewal_flagged_at IS NULL``) in the same transaction, so it happens exactly once.
"""

import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.errors import DomainError
from crm.notifications import notify
from customers import registry
from customers.models import Order, OrderLine
from customers.services.orders import log_created

from ..models import Entitlement, EntitlementUse, Sku

MAX_USE = 100_000


@transaction.atomic
def grant(
    *,
    customer,
    name: str,
    quantity: int,
    expires_on: datetime.date | None = None,
    sku: Sku | None = None,
    order=None,
    renewal_threshold: int = 0,
    actor=None,
) -> Entitlement:
    """Give ``customer`` ``quantity`` units of ``name`` (valid through ``expires_on``)."""
    if not isinstance(quantity, int) or quantity < 1:
        raise ValidationError({"quantity": [_("Quantity must be a whole number of at least 1.")]})
    entitlement = Entitlement(
        customer=customer,
        name=name.strip(),
        quantity=quantity,
        balance=quantity,
        expires_on=expires_on,
        sku=sku,
        order=order,
        renewal_threshold=renewal_threshold,
        granted_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    entitlement.full_clean(exclude=["customer", "sku", "order", "granted_by"], validate_constraints=False)
    entitlement.save()
    return entitlement


@transaction.atomic
def grant_for_order(order) -> list[Entitlement]:
    """The entitlements an order's SKUs carry (``Sku.grants_*``), granted once per order and SKU
    however often this runs (a unique index on order and SKU). A cancelled order grants nothing.
    The quantity is the SKU's times the line's quantity; validity counts from the order's day."""

    if order.status == Order.Status.CANCELLED:
        return []
    lines = list(order.lines.all())
    quantities = {}
    for line in lines:
        quantities[line.sku] = quantities.get(line.sku, 0) + line.quantity
    skus = Sku.objects.filter(code__in=list(quantities), grants_quantity__gt=0).exclude(grants_name="")
    day = timezone.localtime(order.placed_at).date()
    granted = []
    for sku in skus:
        quantity = sku.grants_quantity * quantities[sku.code]
        entitlement, created = Entitlement.objects.get_or_create(
            order=order,
            sku=sku,
            defaults={
                "customer_id": order.customer_id,
                "name": sku.grants_name,
                "quantity": quantity,
                "balance": quantity,
                "expires_on": day + datetime.timedelta(days=sku.grants_valid_days) if sku.grants_valid_days else None,
                "renewal_threshold": sku.renewal_threshold,
                "granted_at": order.placed_at,
                "granted_by": order.created_by,
            },
        )
        if created:
            granted.append(entitlement)
    return granted


def grant_for_orders(orders) -> list[Entitlement]:
    """:func:`grant_for_order` for many orders stored in this transaction (the order import),
    set-based: one read of their lines, one of the SKUs that grant, one of the grants already made,
    then one insert of the entitlements and one of their audit entries per 1,000 orders — the same
    rows as granting order by order."""
    granted = []
    live = [order for order in orders if order.status != Order.Status.CANCELLED]
    for start in range(0, len(live), 1000):
        chunk = live[start : start + 1000]
        quantities: dict[int, dict[str, int]] = {}
        for order_id, code, quantity in OrderLine.objects.filter(order_id__in=[o.pk for o in chunk]).values_list(
            "order_id", "sku", "quantity"
        ):
            per_order = quantities.setdefault(order_id, {})
            per_order[code] = per_order.get(code, 0) + quantity
        codes = sorted({code for per_order in quantities.values() for code in per_order})
        if not codes:
            continue
        skus = list(Sku.objects.filter(code__in=codes, grants_quantity__gt=0).exclude(grants_name=""))
        if not skus:
            continue
        done = set(Entitlement.objects.filter(order_id__in=[o.pk for o in chunk]).values_list("order_id", "sku_id"))
        new = []
        for order in chunk:
            day = timezone.localtime(order.placed_at).date()
            for sku in skus:
                if sku.code not in quantities.get(order.pk, {}) or (order.pk, sku.pk) in done:
                    continue
                quantity = sku.grants_quantity * quantities[order.pk][sku.code]
                new.append(
                    Entitlement(
                        order=order,
                        sku=sku,
                        customer_id=order.customer_id,
                        name=sku.grants_name,
                        quantity=quantity,
                        balance=quantity,
                        expires_on=day + datetime.timedelta(days=sku.grants_valid_days)
                        if sku.grants_valid_days
                        else None,
                        renewal_threshold=sku.renewal_threshold,
                        granted_at=order.placed_at,
                        granted_by=order.created_by,
                    )
                )
        made = Entitlement.objects.bulk_create(new)
        log_created(made, actor=made[0].granted_by if made else None)
        granted.extend(made)
    return granted


def consume(
    *,
    entitlement: Entitlement,
    quantity: int,
    reference: str = "",
    note: str = "",
    actor=None,
    on: datetime.date | None = None,
) -> EntitlementUse:
    """Use ``quantity`` units of ``entitlement`` (see the module's docstring for the guarantees).
    Returns the use (``balance_after`` is the balance it left). Raises ``ValidationError`` on
    ``quantity``, ``DomainError("expired")`` or ``DomainError("insufficient_balance")``."""
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= MAX_USE:
        raise ValidationError(
            {"quantity": [_("Quantity must be a whole number from 1 to %(max)s.") % {"max": f"{MAX_USE:,}"}]}
        )
    reference = (reference or "").strip()[:100]
    if reference:
        earlier = EntitlementUse.objects.filter(entitlement_id=entitlement.pk, reference=reference).first()
        if earlier is not None:
            return earlier
    try:
        return _consume(
            entitlement=entitlement,
            quantity=quantity,
            reference=reference,
            note=note,
            actor=actor,
            on=on or timezone.localdate(),
        )
    except IntegrityError:
        if not reference:
            raise
        # a concurrent request with the same reference won; ours was rolled back whole
        return EntitlementUse.objects.get(entitlement_id=entitlement.pk, reference=reference)


@transaction.atomic
def _consume(*, entitlement, quantity, reference, note, actor, on):
    taken = (
        Entitlement.objects.filter(pk=entitlement.pk, balance__gte=quantity)
        .filter(Q(expires_on__isnull=True) | Q(expires_on__gte=on))
        .update(balance=F("balance") - quantity, updated_at=timezone.now())
    )
    current = Entitlement.objects.select_related("customer__owner", "customer__owner__department").get(
        pk=entitlement.pk
    )
    if not taken:
        if current.is_expired(on):
            raise DomainError(
                "expired",
                _("This entitlement expired on %(day)s.") % {"day": current.expires_on},
            )
        raise DomainError(
            "insufficient_balance",
            _("Only %(balance)s left; cannot use %(quantity)s.") % {"balance": current.balance, "quantity": quantity},
        )
    use = EntitlementUse.objects.create(
        entitlement=current,
        quantity=quantity,
        reference=reference,
        note=note[:200],
        balance_after=current.balance,
        used_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    if current.balance <= current.renewal_threshold:
        _ask_for_renewal(current)
    return use


def refund(*, entitlement: Entitlement, quantity: int, reason: str, reference: str, actor=None) -> EntitlementUse:
    """退费: take ``quantity`` unused units off ``entitlement`` for ``reason`` — a ledger line of
    kind ``refund`` (audit-logged with the use), once per ``reference``. Expired units may be
    refunded too. Raises ``ValidationError`` on ``quantity`` or ``reason`` and
    ``DomainError("insufficient_balance")`` when fewer units are left."""
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= MAX_USE:
        raise ValidationError(
            {"quantity": [_("Quantity must be a whole number from 1 to %(max)s.") % {"max": f"{MAX_USE:,}"}]}
        )
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why the hours are refunded.")]})
    reference = reference.strip()[:100]
    earlier = EntitlementUse.objects.filter(entitlement_id=entitlement.pk, reference=reference).first()
    if earlier is not None:
        return earlier
    try:
        with transaction.atomic():
            taken = Entitlement.objects.filter(pk=entitlement.pk, balance__gte=quantity).update(
                balance=F("balance") - quantity, updated_at=timezone.now()
            )
            balance = Entitlement.objects.values_list("balance", flat=True).get(pk=entitlement.pk)
            if not taken:
                raise DomainError(
                    "insufficient_balance",
                    _("Only %(balance)s left; cannot refund %(quantity)s.")
                    % {"balance": balance, "quantity": quantity},
                )
            return EntitlementUse.objects.create(
                entitlement_id=entitlement.pk,
                kind=EntitlementUse.Kind.REFUND,
                quantity=quantity,
                reference=reference,
                note=reason[:200],
                balance_after=balance,
                used_by=actor if getattr(actor, "is_authenticated", False) else None,
            )
    except IntegrityError:
        # a concurrent refund with the same reference won; ours was rolled back whole
        return EntitlementUse.objects.get(entitlement_id=entitlement.pk, reference=reference)


def _ask_for_renewal(entitlement: Entitlement) -> None:
    """The renewal task for the customer's owner, once per entitlement (see the docstring)."""
    customer = entitlement.customer
    if customer.owner_id is None:
        return  # nobody to ask; the next use asks again, once the customer has an owner
    flagged = Entitlement.objects.filter(pk=entitlement.pk, renewal_flagged_at__isnull=True).update(
        renewal_flagged_at=timezone.now()
    )
    if not flagged:
        return
    title = _("Renewal: %(customer)s has %(balance)s %(name)s left") % {
        "customer": customer.name,
        "balance": entitlement.balance,
        "name": entitlement.name,
    }
    task = registry.create_task(
        assignee=customer.owner,
        title=title,
        customer=customer,
        description=_("The entitlement's balance reached the renewal threshold (%(threshold)s).")
        % {"threshold": entitlement.renewal_threshold},
        due_at=timezone.now() + datetime.timedelta(days=1),
        by_rule="entitlement_renewal",
    )
    if task is None:  # no app creates tasks: a notification says the same
        notify(
            recipient=customer.owner,
            title=title,
            url=entitlement.get_absolute_url(),
            kind="renewal",
        )
