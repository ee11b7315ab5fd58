"""返佣: attributing an order to a partner and computing what the partner earns on it.

One partner per order: the ``Attribution`` row's primary key is the order, so two attributions of
the same order (a referral code and a hand attribution racing) cannot both be stored — the second
gets ``Conflict("already_attributed")``."""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext_noop

from catalog.services.pricing import category_ids, skus_by_code
from crm.errors import Conflict, Invalid
from customers.models import Order

from ..models import Attribution, CommissionRule, LeadRegistration, Partner, PartnerStatus

CENT = Decimal("0.01")
#: partners that may be credited with new orders
CREDITABLE = (PartnerStatus.SIGNED, PartnerStatus.ACTIVE)


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@transaction.atomic
def attribute_order(*, order: Order, partner: Partner, reason: str, actor=None, note: str = "") -> Attribution:
    """Attribute ``order`` to ``partner`` for ``reason`` (code, lead or by hand).

    Raises ``Invalid`` (on ``partner``) when the partner is not signed or active, and
    ``Conflict("already_attributed")`` when the order already has a partner (the primary key on
    the order decides under concurrency)."""
    if partner.status not in CREDITABLE:
        raise Invalid(
            gettext_noop("Only a signed or active partner can be credited with orders."),
            code="partner_inactive",
            fields={"partner": gettext_noop("Only a signed or active partner can be credited with orders.")},
        )
    try:
        with transaction.atomic():
            return Attribution.objects.create(order=order, partner=partner, reason=reason, by=actor, note=note[:200])
    except IntegrityError as exc:
        raise Conflict("already_attributed", gettext_noop("This order is already attributed to a partner.")) from exc


def partner_by_code(code: str) -> Partner:
    """The creditable partner whose referral code is ``code`` (case-insensitive), or ``Invalid``
    naming ``partner_code``."""
    partner = Partner.objects.filter(code__iexact=code.strip(), status__in=CREDITABLE).first()
    if partner is None:
        raise Invalid(
            gettext_noop("Unknown referral code."),
            fields={"partner_code": gettext_noop("Unknown referral code.")},
        )
    return partner


def on_order_placed(order: Order) -> None:
    """The ``order_placed`` hook (customers.registry): an order placed with a ``partner_code`` is
    attributed to that partner in the order's transaction; an unknown code refuses the order.
    Without a code, an order of a customer whose mobile a partner holds under a live registration
    (报备) is attributed to that partner for the registered lead."""
    code = (getattr(order, "partner_code", "") or "").strip()
    if code:
        attribute_order(order=order, partner=partner_by_code(code), reason=Attribution.Reason.CODE, note=code)
        return
    mobile = order.customer.mobile if order.customer_id else ""
    if not mobile:
        return
    holder = (
        LeadRegistration.objects.filter(
            mobile=mobile,
            status=LeadRegistration.Status.PROTECTED,
            protected_until__gt=order.placed_at,
            partner__status__in=CREDITABLE,
        )
        .select_related("partner")
        .first()
    )
    if holder is not None:
        attribute_order(order=order, partner=holder.partner, reason=Attribution.Reason.LEAD, note=holder.mobile)


def on_orders_placed(orders: list[Order]) -> None:
    """:func:`on_order_placed` for many orders stored in this transaction (the order import), in
    turn, with the live registrations of all their customers' mobiles read once: each order without
    a code goes to the registration ``on_order_placed`` would pick (the first live one at the order's
    time, in the model's order)."""

    def code_of(order):
        return (getattr(order, "partner_code", "") or "").strip()

    mobiles = {o.customer.mobile for o in orders if not code_of(o) and o.customer_id and o.customer.mobile}
    registrations: dict[str, list[LeadRegistration]] = {}
    if mobiles:
        for registration in LeadRegistration.objects.filter(
            mobile__in=sorted(mobiles),
            status=LeadRegistration.Status.PROTECTED,
            protected_until__isnull=False,
            partner__status__in=CREDITABLE,
        ).select_related("partner"):
            registrations.setdefault(registration.mobile, []).append(registration)
    for order in orders:
        if code_of(order):
            on_order_placed(order)
            continue
        mobile = order.customer.mobile if order.customer_id else ""
        holder = next((r for r in registrations.get(mobile, ()) if r.protected_until > order.placed_at), None)
        if holder is not None:
            attribute_order(order=order, partner=holder.partner, reason=Attribution.Reason.LEAD, note=holder.mobile)


@dataclass(frozen=True)
class Share:
    """The commission one rule gives on one order: the base it applies to and the sum."""

    rule: CommissionRule
    base: Decimal
    amount: Decimal


def is_new_customer(order: Order) -> bool:
    """New: no earlier paid order of the customer."""
    return (
        not Order.objects.filter(customer_id=order.customer_id, status=Order.Status.PAID)
        .filter(Q(placed_at__lt=order.placed_at) | Q(placed_at=order.placed_at, pk__lt=order.pk))
        .exists()
    )


def rules_for(partner: Partner, *, new_customer: bool) -> list[CommissionRule]:
    """The active rules whose partner type, grade and customer conditions admit this order."""
    return list(
        CommissionRule.objects.filter(
            Q(partner_kind="") | Q(partner_kind=partner.kind),
            Q(grade="") | Q(grade=partner.grade),
            Q(customer_kind="") | Q(customer_kind="new" if new_customer else "repeat"),
            is_active=True,
        )
    )


def _conditions(rule: CommissionRule) -> int:
    return bool(rule.partner_kind) + bool(rule.grade) + bool(rule.customer_kind)


def best_rule(rules: list[CommissionRule], sku=None) -> CommissionRule | None:
    """The most specific rule for a line of ``sku`` (None: the order as a whole): a rule on the SKU,
    then on the deepest of its categories, then a rule on no product; ties by conditions, priority,
    then the oldest rule."""
    ancestry = category_ids(sku) if sku is not None else []
    best, best_key = None, None
    for rule in rules:
        if rule.sku_id is not None:
            if sku is None or rule.sku_id != sku.pk:
                continue
            target = 1000
        elif rule.category_id is not None:
            if rule.category_id not in ancestry:
                continue
            target = 1 + ancestry.index(rule.category_id)
        else:
            target = 0
        key = (target, _conditions(rule), rule.priority, -rule.pk)
        if best_key is None or key > best_key:
            best, best_key = rule, key
    return best


def commission_for(
    order: Order, partner: Partner, *, rules: list[CommissionRule] | None = None, skus: dict | None = None
) -> list[Share]:
    """What ``partner`` earns on ``order``: the paid amount (amount less the coupon discount) is
    spread over the lines by their value (the last line takes the rounding remainder, so the bases
    add up to the paid amount to the cent); each line goes to its best rule; per rule a percentage
    of its base or its fixed sum once per order, then its cap. Lines no rule covers earn nothing.
    ``rules`` and ``skus`` (``skus_by_code`` of at least the order's lines) let a caller pricing many
    orders read them once."""
    if rules is None:
        rules = rules_for(partner, new_customer=is_new_customer(order))
    lines = list(order.lines.all())
    if skus is None:
        skus = skus_by_code(line.sku for line in lines)
    return shares_of(order.amount, order.discount, lines, rules=rules, skus=skus)


def rules_among(rules: list[CommissionRule], *, kind: str, grade: str, new_customer: bool) -> list[CommissionRule]:
    """:func:`rules_for` over rules already read (``rules_for`` without the partner condition)."""
    customer = "new" if new_customer else "repeat"
    return [
        rule
        for rule in rules
        if rule.is_active
        and rule.partner_kind in ("", kind)
        and rule.grade in ("", grade)
        and rule.customer_kind in ("", customer)
    ]


def shares_of(amount, discount, lines, *, rules: list[CommissionRule], skus: dict, best=None) -> list[Share]:
    """The shares of :func:`commission_for` for an order of ``amount`` less ``discount`` whose lines
    (anything with ``sku``, ``price`` and ``quantity``, in the order's line order) are ``lines``.
    ``best(sku)`` (default: :func:`best_rule` over ``rules``) lets a caller remember each SKU's rule."""
    if best is None:

        def best(sku):
            return best_rule(rules, sku)

    paid = max(amount - (discount or 0), Decimal(0))
    values = [line.price * line.quantity for line in lines]
    total = sum(values, Decimal(0))
    bases: dict[int, Decimal] = {}
    by_id = {}
    if total > 0:
        allocated = Decimal(0)
        for index, (line, value) in enumerate(zip(lines, values, strict=True)):
            base = paid - allocated if index == len(lines) - 1 else cents(paid * value / total)
            allocated += base
            rule = best(skus.get(line.sku))
            if rule is not None:
                bases[rule.pk] = bases.get(rule.pk, Decimal(0)) + base
                by_id[rule.pk] = rule
    else:
        rule = best(None)
        if rule is not None:
            bases[rule.pk], by_id[rule.pk] = paid, rule
    shares = []
    for pk in sorted(bases):
        rule, base = by_id[pk], bases[pk]
        earned = cents(base * rule.rate / 100) if rule.mode == CommissionRule.Mode.PERCENT else rule.amount
        if rule.cap is not None:
            earned = min(earned, rule.cap)
        shares.append(Share(rule=rule, base=base, amount=earned))
    return shares
