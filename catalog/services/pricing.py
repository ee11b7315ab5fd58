"""The price of a SKU for a customer, a channel and a day, and the policy that gave it (定价).

**Which policies match.** A sales policy matches when it is active, the day lies in
[``valid_from``, ``valid_until``] (either end may be open), every condition it sets holds —
channel equal; region: the customer's region code starts with the policy region's prefix (a
province "310000" covers "31xxxx", a city "310100" covers "3101xx"); value segment, 3×3 class,
lifecycle stage and member tier (会员等级, the tier's price benefit) equal to the customer's — and it covers the SKU: a price list holding a price
for the SKU, or a discount on this SKU, on the SKU's category or one above it, or on everything.
A condition left empty matches every customer, channel or day.

**Precedence: the most specific policy wins** — compared in this order, the first difference decides:

1. how many conditions it sets, out of channel, region, value segment, 3×3 class, lifecycle
   stage, member tier and a bounded period (a ``valid_from`` or ``valid_until``) — the member
   tier is a customer class like the others and weighs the same: a 金卡 policy beats an
   unconditioned one, a 金卡 + channel policy beats a 金卡 one, and a 金卡 policy against a
   channel-only one goes on to the steps below (target, then priority);
2. the narrower region (a district before a city before a province);
3. the narrower target: a SKU (a price-list price or a discount on the SKU) before a category,
   a deeper category before a higher one, a category before everything;
4. then, between equally specific policies, the higher ``priority``;
5. and at last the newer policy (the higher id), so that the answer is always the same.

No policy matches: the list price, and no policy. Prices never go below ¥0.00 and are rounded
half up to the cent. Pricing an order of many lines costs two queries (policies, price-list
lines) whatever the number of lines, plus one to load the SKUs by code.

**Orders.** ``place_order`` (the order form, the orders API, the redeem API) and the order import
price their lines through :func:`price_orders` (by way of ``customers.registry``): the price a
caller gives is kept — it is what was charged — and the policy that would apply is recorded beside
it with its price; a line without a price is charged the policy's price (or the list price).
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import Category, PolicyPrice, Product, SalesPolicy, Sku, region_prefix
from .catalogue import save_category, save_product, save_sku

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
ZERO = Decimal("0.00")
SKU_TARGET = 1000  # a SKU is narrower than any category depth


@dataclass(frozen=True)
class Quote:
    """The price of one SKU: ``policy`` is ``None`` when the list price applies."""

    sku: Sku
    list_price: Decimal
    price: Decimal
    policy: SalesPolicy | None
    cost: Decimal

    @property
    def discount(self) -> Decimal:
        return self.list_price - self.price

    @property
    def policy_name(self) -> str:
        return self.policy.name if self.policy else ""


_member_tiers: dict[str, Callable] = {}


def register_member_tiers(*, of: Callable, choices: Callable) -> None:
    """The membership app's hook (catalog imports no app above it): ``of(customer_ids) -> {id:
    tier name}`` (one query) and ``choices() -> [(name, label)]`` for the policy form."""
    _member_tiers.update(of=of, choices=choices)


def member_tiers_of(customer_ids: Iterable[int]) -> dict[int, str]:
    """``{customer id: tier name}`` of the members among ``customer_ids`` (empty without the
    membership app)."""
    ids = [pk for pk in customer_ids if pk]
    if not ids or "of" not in _member_tiers:
        return {}
    return _member_tiers["of"](ids)


def member_tier_choices() -> list[tuple[str, str]]:
    return _member_tiers["choices"]() if "choices" in _member_tiers else []


def _tier_of(customer) -> str:
    if customer is None or not getattr(customer, "pk", None):
        return ""
    return member_tiers_of([customer.pk]).get(customer.pk, "")


def customer_region_code(customer) -> str:
    """The customer's 6-digit region code (GB/T 2260; customers store the code itself), or "" (a
    region policy then does not match)."""
    return (customer.region or "") if customer is not None else ""


def category_ids(sku: Sku) -> list[int]:
    """The SKU's category and those above it (read from the path, no query)."""
    path = sku.product.category.path
    return [int(part) for part in path.strip("/").split("/") if part]


def _conditions(policy: SalesPolicy) -> int:
    return sum(
        bool(value)
        for value in (
            policy.channel,
            policy.region,
            policy.value_segment,
            policy.grid_class,
            policy.lifecycle_stage,
            policy.member_tier,
        )
    ) + bool(policy.valid_from or policy.valid_until)


def _region_depth(code: str) -> int:
    return {2: 1, 4: 2, 6: 3}[len(region_prefix(code))] if code else 0


def _target(policy: SalesPolicy, sku: Sku, depth_of: dict) -> int | None:
    """How narrowly ``policy`` targets ``sku`` (None: it does not apply to it)."""
    if policy.kind == SalesPolicy.Kind.PRICE_LIST:
        return SKU_TARGET if sku.pk in policy.price_of else None
    if policy.sku_id is not None:
        return SKU_TARGET if policy.sku_id == sku.pk else None
    if policy.category_id is not None:
        return depth_of.get(policy.category_id)
    return 0


def rank(policy: SalesPolicy, target: int) -> tuple:
    """The precedence key: the highest wins (see the module's docstring)."""
    return (
        _conditions(policy),
        _region_depth(policy.region),
        target,
        policy.priority,
        policy.pk,
    )


def _price(policy: SalesPolicy, sku: Sku) -> Decimal:
    list_price = sku.list_price
    if policy.kind == SalesPolicy.Kind.PRICE_LIST:
        price = policy.price_of[sku.pk]
    elif policy.kind == SalesPolicy.Kind.PERCENT:
        price = list_price * (HUNDRED - (policy.percent_off or 0)) / HUNDRED
    else:
        price = list_price - (policy.amount_off or 0)
    return max(Decimal(price).quantize(CENT, rounding=ROUND_HALF_UP), ZERO)


def candidate_policies(
    *, customer=None, channel: str = "", on: date, member_tier: str | None = None
) -> list[SalesPolicy]:
    """The active policies whose period and customer conditions hold (the region is checked by
    prefix in :func:`prices_for`); ``member_tier`` is the customer's tier name (``None``: the
    member tier is left for the caller to check). One query."""
    when = (Q(valid_from__isnull=True) | Q(valid_from__lte=on)) & (Q(valid_until__isnull=True) | Q(valid_until__gte=on))
    who = Q(channel="") | Q(channel=channel) if channel else Q(channel="")
    for field in ("value_segment", "grid_class", "lifecycle_stage"):
        value = getattr(customer, field, "") if customer is not None else ""
        who &= Q(**{field: ""}) | Q(**{field: value}) if value else Q(**{field: ""})
    if member_tier is not None:
        who &= Q(member_tier="") | Q(member_tier=member_tier) if member_tier else Q(member_tier="")
    return list(SalesPolicy.objects.filter(when & who, is_active=True))


def policy_matches(policy: SalesPolicy, *, customer=None, channel: str = "", on: date, member_tier: str = "") -> bool:
    """Whether ``policy``'s period and conditions hold for ``customer`` (of tier ``member_tier``),
    ``channel`` and ``on`` — :func:`candidate_policies` and the region prefix, checked in Python
    (for many orders at once)."""
    if not policy.is_active:
        return False
    if (policy.valid_from and policy.valid_from > on) or (policy.valid_until and policy.valid_until < on):
        return False
    if policy.channel and policy.channel != channel:
        return False
    if policy.member_tier and policy.member_tier != member_tier:
        return False
    for field in ("value_segment", "grid_class", "lifecycle_stage"):
        wanted = getattr(policy, field)
        if wanted and wanted != (getattr(customer, field, "") if customer is not None else ""):
            return False
    if policy.region:
        region = customer_region_code(customer)
        if not (region and region.startswith(region_prefix(policy.region))):
            return False
    return True


def _load_prices(policies: list[SalesPolicy], skus: list[Sku]) -> None:
    """Give each price list its ``price_of`` for ``skus`` (one query when there is a price list)."""
    list_ids = [p.pk for p in policies if p.kind == SalesPolicy.Kind.PRICE_LIST]
    prices = {}
    if list_ids and skus:
        for policy_id, sku_id, price in PolicyPrice.objects.filter(
            policy_id__in=list_ids, sku_id__in=[s.pk for s in skus]
        ).values_list("policy_id", "sku_id", "price"):
            prices.setdefault(policy_id, {})[sku_id] = price
    for policy in policies:
        policy.price_of = prices.get(policy.pk, {})


def _quote(sku: Sku, policies: list[SalesPolicy]) -> Quote:
    """The winning policy among ``policies`` (those that hold) for ``sku``, and its price."""
    depth_of = {pk: depth for depth, pk in enumerate(category_ids(sku), start=1)}
    best, best_rank = None, None
    for policy in policies:
        target = _target(policy, sku, depth_of)
        if target is None:
            continue
        key = rank(policy, target)
        if best_rank is None or key > best_rank:
            best, best_rank = policy, key
    price = _price(best, sku) if best is not None else sku.list_price
    return Quote(sku=sku, list_price=sku.list_price, price=price, policy=best, cost=sku.cost)


def prices_for(*, skus: Iterable[Sku], customer=None, channel: str = "", on: date | None = None) -> dict:
    """``{sku.pk: Quote}`` for each SKU (loaded with ``product__category``): the price for
    ``customer`` (or anyone) through ``channel`` (an ``Order.Channel`` value, or "" for any) on
    day ``on`` (today in Asia/Shanghai by default). Two queries for any number of SKUs (a third
    reads the customer's member tier when a tier policy is among the candidates)."""
    skus = list(skus)
    on = on or timezone.localdate()
    region = customer_region_code(customer)
    policies = [
        p
        for p in candidate_policies(customer=customer, channel=channel, on=on)
        if not p.region or (region and region.startswith(region_prefix(p.region)))
    ]
    if any(p.member_tier for p in policies):
        tier = _tier_of(customer)
        policies = [p for p in policies if not p.member_tier or p.member_tier == tier]
    _load_prices(policies, skus)
    return {sku.pk: _quote(sku, policies) for sku in skus}


def price_for(*, sku: Sku, customer=None, channel: str = "", on: date | None = None) -> Quote:
    """The price of one SKU for ``customer`` through ``channel`` on ``on``, and the policy that
    gave it (see the module's docstring for the precedence)."""
    if not hasattr(sku, "_state") or "product" not in sku._state.fields_cache:
        sku = Sku.objects.select_related("product__category").get(pk=sku.pk)
    return prices_for(skus=[sku], customer=customer, channel=channel, on=on)[sku.pk]


# --- finding SKUs by code ----------------------------------------------------------------------


def skus_by_code(codes: Iterable[str]) -> dict[str, Sku]:
    """``{code: Sku}`` of the known, active codes among ``codes`` (with product and category), one query."""
    wanted = {str(code).strip() for code in codes if str(code).strip()}
    if not wanted:
        return {}
    return {
        sku.code: sku for sku in Sku.objects.filter(code__in=wanted, is_active=True).select_related("product__category")
    }


def resolve_skus(
    codes: list[str],
    *,
    field: str = "items[{index}].sku",
    on: date | None = None,
    on_sale_only: bool = False,
) -> list[Sku]:
    """The SKUs of ``codes`` in the same order, or ``ValidationError`` naming every unknown one
    (``{"items[2].sku": ["Unknown SKU: X."]}``); with ``on_sale_only`` a SKU whose product is not
    on sale on ``on`` is refused too. One query."""
    found = skus_by_code(codes)
    day = on or timezone.localdate()
    errors, result = {}, []
    for index, code in enumerate(codes):
        code = str(code).strip()
        sku = found.get(code)
        name = field.format(index=index)
        if sku is None:
            errors[name] = [_("Unknown SKU: %(code)s.") % {"code": code or "-"}]
        elif on_sale_only and not sku.product.on_sale(day):
            errors[name] = [_("SKU %(code)s is not on sale.") % {"code": code}]
        else:
            result.append(sku)
    if errors:
        raise ValidationError(errors)
    return result


UNSORTED_PRODUCT = "UNSORTED"  # the draft product holding the SKUs an API client created


def _create_skus(lines_by_code: dict[str, dict], actor=None) -> dict[str, Sku]:
    """Add the SKUs an allowed API client named but the catalogue lacks (scope ``products:write``):
    each under the draft product "待整理" (category "未分类"), its list price the line's price (or
    0) and cost 0, to be completed and launched by someone who manages the catalogue."""
    category = Category.objects.filter(parent=None, name="未分类").first() or save_category(
        category=Category(name="未分类"), actor=actor
    )
    product = Product.objects.filter(code=UNSORTED_PRODUCT).first() or save_product(
        product=Product(code=UNSORTED_PRODUCT, name="待整理", category=category), actor=actor
    )
    created = {}
    for code, line in lines_by_code.items():
        given = line.get("price")
        sku = save_sku(
            sku=Sku(
                product=product,
                code=code,
                name=code,
                list_price=Decimal(str(given)).quantize(CENT) if given not in (None, "") else ZERO,
            ),
            actor=actor,
        )
        created[code] = Sku.objects.select_related("product__category").get(pk=sku.pk)
    return created


def _quantity(value):
    try:
        return int(value or 1)
    except (TypeError, ValueError):
        return value  # left for the order's own check, which names the field


def price_orders(*, orders: list[dict], unknown: str = "keep", actor=None) -> list[list[dict]]:
    """The lines of many orders priced from the catalogue at once — the order-placing service
    passes one order, the order import a chunk of them.

    ``orders``: dicts with ``lines`` (dicts with ``sku``, optional ``quantity``, ``price``,
    ``category``), ``customer``, ``channel`` and ``on`` (the day the order was placed). A line
    naming a catalogue SKU gets ``policy_id`` and ``policy_name`` (the policy that wins for this
    customer, channel and day; ``None``/"" when the list price applies), ``policy_price`` (that
    policy's unit price, or the list price), ``cost`` (the SKU's unit cost), ``list_price`` and
    the category's name. Its ``price`` — what was charged — is the caller's when given (the
    policy is still recorded beside it) and the policy price otherwise.

    A SKU the catalogue does not know (or no longer sells): ``unknown="keep"`` leaves the line
    as given, ``"refuse"`` raises ``ValidationError`` naming ``items[n].sku`` of every such line
    of the first order that has one, ``"create"`` adds it (:func:`_create_skus`).

    Three queries whatever the number of orders and lines: the SKUs, the policies of the period,
    the price-list prices (and a fourth, the customers' member tiers, when a tier policy is live)."""
    codes = {str(line.get("sku", "")).strip() for order in orders for line in order["lines"]} - {""}
    found = skus_by_code(codes)
    missing = codes - set(found)
    if missing and unknown == "refuse":
        for order in orders:
            errors = {
                f"items[{index}].sku": [_("Unknown SKU: %(code)s.") % {"code": str(line.get("sku", "")).strip()}]
                for index, line in enumerate(order["lines"])
                if str(line.get("sku", "")).strip() in missing
            }
            if errors:
                raise ValidationError(errors)
    if missing and unknown == "create":
        firsts = {}
        for order in orders:
            for line in order["lines"]:
                firsts.setdefault(str(line.get("sku", "")).strip(), line)
        found.update(_create_skus({code: firsts[code] for code in sorted(missing)}, actor=actor))
    if not found:
        return [list(order["lines"]) for order in orders]
    days = [order.get("on") or timezone.localdate() for order in orders]
    period = (Q(valid_from__isnull=True) | Q(valid_from__lte=max(days))) & (
        Q(valid_until__isnull=True) | Q(valid_until__gte=min(days))
    )
    policies = list(SalesPolicy.objects.filter(period, is_active=True))
    _load_prices(policies, list(found.values()))
    tiers = (
        member_tiers_of({getattr(order.get("customer"), "pk", None) for order in orders})
        if any(p.member_tier for p in policies)
        else {}
    )
    result = []
    for order, day in zip(orders, days, strict=True):
        customer = order.get("customer")
        tier = tiers.get(getattr(customer, "pk", None), "")
        holding = [
            p
            for p in policies
            if policy_matches(p, customer=customer, channel=order.get("channel", ""), on=day, member_tier=tier)
        ]
        quotes = {}
        priced = []
        for line in order["lines"]:
            sku = found.get(str(line.get("sku", "")).strip())
            if sku is None:
                priced.append(dict(line))
                continue
            quote = quotes.get(sku.pk) or quotes.setdefault(sku.pk, _quote(sku, holding))
            given = line.get("price") not in (None, "")
            priced.append(
                {
                    "sku": sku.code,
                    "quantity": _quantity(line.get("quantity")),
                    "price": line["price"] if given else quote.price,
                    "list_price": quote.list_price,
                    "policy_price": quote.price,
                    "cost": quote.cost,
                    "category": sku.product.category.name,
                    "policy_id": quote.policy.pk if quote.policy else None,
                    "policy_name": quote.policy_name,
                }
            )
        result.append(priced)
    return result


def price_lines(*, lines: list[dict], customer=None, channel: str = "", on: date | None = None) -> list[dict]:
    """The lines of one order priced from the catalogue (:func:`price_orders`); an unknown SKU is a
    ``ValidationError`` naming ``items[n].sku``. At most four queries."""
    return price_orders(
        orders=[{"lines": lines, "customer": customer, "channel": channel, "on": on}], unknown="refuse"
    )[0]


def catalogue_choices(kind: str) -> list[tuple[str, str]]:
    """What a coupon batch's scope picks from: categories by name (with their path), or active
    SKUs by code (with their name)."""
    if kind == "categories":
        categories = list(Category.objects.order_by("path"))
        by_id = {c.pk: c for c in categories}
        return [
            (c.name, " / ".join(by_id[int(pk)].name for pk in c.path.strip("/").split("/") if int(pk) in by_id))
            for c in categories
        ]
    return [
        (code, f"{code} {name}")
        for code, name in Sku.objects.filter(is_active=True).order_by("code").values_list("code", "name")
    ]
