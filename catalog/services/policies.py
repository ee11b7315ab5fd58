"""Writes of sales policies (销售政策): the policy and the prices of a price list."""

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from ..models import PolicyPrice, SalesPolicy, Sku

CENT = Decimal("0.01")


@transaction.atomic
def save_policy(*, policy: SalesPolicy, actor=None) -> SalesPolicy:
    """Create or edit a policy. A discount needs its figure (percent 0–100, or an amount); a
    price list has none and targets no SKU or category (its lines name the SKUs)."""
    errors = {}
    if policy.kind == SalesPolicy.Kind.PERCENT and policy.percent_off is None:
        errors["percent_off"] = [_("Enter the percentage off, e.g. 10.")]
    if policy.kind == SalesPolicy.Kind.AMOUNT and policy.amount_off is None:
        errors["amount_off"] = [_("Enter the amount off, e.g. 200.00.")]
    if policy.kind == SalesPolicy.Kind.PRICE_LIST and (policy.sku_id or policy.category_id):
        errors["sku"] = [_("A price list names its SKUs in its prices; leave SKU and category empty.")]
    if policy.sku_id and policy.category_id:
        errors["category"] = [_("Choose a SKU or a category, not both.")]
    if policy.valid_from and policy.valid_until and policy.valid_until < policy.valid_from:
        errors["valid_until"] = [_("The last day cannot be before the first day.")]
    if errors:
        raise ValidationError(errors)
    if policy.kind != SalesPolicy.Kind.PERCENT:
        policy.percent_off = None
    if policy.kind != SalesPolicy.Kind.AMOUNT:
        policy.amount_off = None
    if policy.pk is None and actor is not None:
        policy.created_by = actor
    policy.full_clean()
    policy.save()
    return policy


def parse_prices(text: str) -> dict[str, Decimal]:
    """``{sku code: price}`` from lines "SKU price" (space, comma or tab between). Raises
    ``ValidationError`` on "prices" naming the line."""
    result = {}
    for number, line in enumerate(text.splitlines(), start=1):
        parts = line.replace(",", " ").replace("，", " ").split()
        if not parts:
            continue
        if len(parts) != 2:
            raise ValidationError(
                {"prices": [_("Line %(n)s: write the SKU code and the price, e.g. EDU-1V1-48 9800.") % {"n": number}]}
            )
        try:
            price = Decimal(parts[1].replace("¥", "")).quantize(CENT)
        except InvalidOperation as exc:
            raise ValidationError(
                {"prices": [_("Line %(n)s: %(value)s is not a price.") % {"n": number, "value": parts[1]}]}
            ) from exc
        if price < 0:
            raise ValidationError({"prices": [_("Line %(n)s: a price cannot be negative.") % {"n": number}]})
        result[parts[0]] = price
    return result


@transaction.atomic
def set_prices(*, policy: SalesPolicy, prices: dict[str, Decimal], actor=None) -> int:
    """Replace the price list's prices with ``prices`` (SKU code → price). Every code must be a
    known SKU. Returns how many prices it holds."""
    if policy.kind != SalesPolicy.Kind.PRICE_LIST:
        raise ValidationError({"prices": [_("Only a price list holds prices.")]})
    skus = {sku.code: sku for sku in Sku.objects.filter(code__in=list(prices))}
    unknown = [code for code in prices if code not in skus]
    if unknown:
        raise ValidationError({"prices": [_("Unknown SKU: %(code)s.") % {"code": ", ".join(unknown)}]})
    before = {p.sku.code: p.price for p in policy.prices.select_related("sku")}
    policy.prices.exclude(sku__code__in=list(prices)).delete()
    for code, price in prices.items():
        PolicyPrice.objects.update_or_create(policy=policy, sku=skus[code], defaults={"price": price})
    if before != prices:
        from auditlog.models import LogEntry

        LogEntry.objects.log_create(
            policy,
            force_log=True,
            action=LogEntry.Action.UPDATE,
            actor=actor,
            changes={
                "prices": [
                    ", ".join(f"{c} {p}" for c, p in sorted(before.items())),
                    ", ".join(f"{c} {p}" for c, p in sorted(prices.items())),
                ]
            },
        )
    return len(prices)
