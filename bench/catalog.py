"""The catalogue's benchmark: the large set's 2,000 SKUs with sales policies (and catalogue lines
on recent orders), and the scenarios — pricing an order of 20 lines (target ≤ 20 ms), the
product list, the policy effect and the business analysis (≤ 150 ms median, query counts flat).

``seed_large(ctx)`` is called by ``seed_demo --size large`` after every app's demo data."""

import datetime
import json
from decimal import Decimal

from django.http import HttpResponse
from django.utils import timezone

from bench.scenarios import Scenario, register
from catalog.models import Category, PolicyPrice, Product, SalesPolicy, Sku
from catalog.services import catalogue, pricing
from customers.models import Customer, Order, OrderLine

D = Decimal
TOP = [
    "教育培训",
    "家政服务",
    "会员服务",
    "图书教辅",
    "兴趣课程",
    "升学规划",
    "亲子活动",
    "健康管理",
    "数码设备",
    "企业培训",
]
SUB = ["一对一", "小班课", "线上课", "套餐", "体验装"]
CHANNELS = [choice for choice, _label in Order.Channel.choices]
REGIONS = ["310000", "330000", "320000", "110000", "440300", "330100", "320500", "510100"]


def seed_catalogue(*, skus: int = 2000, per_product: int = 5, policies: int = 200, seed: int = 1) -> dict:
    """``skus`` SKUs (``per_product`` per product, on sale for a year) under 10 × 5 categories,
    and ``policies`` sales policies of every kind: discounts on a category or everything by
    channel or region, amounts off a SKU, and price lists of 20 SKUs. Set-based. Returns counts."""
    today = timezone.localdate()
    leaves = []
    for name in TOP:
        top = catalogue.save_category(category=Category(name=f"{name}（基准）"))
        leaves += [catalogue.save_category(category=Category(name=sub, parent=top)) for sub in SUB]
    product_count = skus // per_product
    products = Product.objects.bulk_create(
        Product(
            code=f"BP-{n:05d}",
            name=f"基准产品{n}",
            category=leaves[n % len(leaves)],
            status=Product.Status.APPROVED,
            sale_from=today - datetime.timedelta(days=365),
        )
        for n in range(product_count)
    )
    rows = []
    for n in range(product_count * per_product):
        price = D(100 + (n * 37 + seed) % 9900)
        rows.append(
            Sku(
                product=products[n // per_product],
                code=f"BS-{n:05d}",
                name=f"基准规格{n}",
                list_price=price,
                cost=(price * D("0.55")).quantize(D("0.01")),
            )
        )
    made = Sku.objects.bulk_create(rows, batch_size=1000)
    new = []
    for n in range(policies):
        kind = n % 4
        common = {"name": f"基准政策{n}", "priority": n % 7}
        if kind == 0:
            new.append(
                SalesPolicy(
                    kind=SalesPolicy.Kind.PERCENT,
                    percent_off=D(5 + n % 15),
                    category=leaves[n % len(leaves)],
                    channel=CHANNELS[n % len(CHANNELS)],
                    **common,
                )
            )
        elif kind == 1:
            new.append(
                SalesPolicy(
                    kind=SalesPolicy.Kind.PERCENT, percent_off=D(3 + n % 7), region=REGIONS[n % len(REGIONS)], **common
                )
            )
        elif kind == 2:
            new.append(
                SalesPolicy(
                    kind=SalesPolicy.Kind.AMOUNT,
                    amount_off=D(10 + n % 90),
                    sku=made[(n * 13) % len(made)],
                    valid_from=today - datetime.timedelta(days=400),
                    valid_until=today + datetime.timedelta(days=60),
                    **common,
                )
            )
        else:
            new.append(
                SalesPolicy(kind=SalesPolicy.Kind.PRICE_LIST, value_segment="high" if n % 8 == 3 else "", **common)
            )
    created = SalesPolicy.objects.bulk_create(new)
    prices = [
        PolicyPrice(
            policy=policy,
            sku=made[(index * 20 + k) % len(made)],
            price=(made[(index * 20 + k) % len(made)].list_price * D("0.9")).quantize(D("0.01")),
        )
        for index, policy in enumerate(p for p in created if p.kind == SalesPolicy.Kind.PRICE_LIST)
        for k in range(20)
    ]
    PolicyPrice.objects.bulk_create(prices, ignore_conflicts=True)
    return {"skus": len(made), "products": len(products), "policies": len(created), "prices": len(prices)}


def seed_order_lines(*, limit: int = 50_000, chunk: int = 1000) -> int:
    """One catalogue line on each of the ``limit`` latest paid orders without lines, priced as
    ``place_order`` prices it (three queries per ``chunk`` orders), so the policy effect and the
    business analysis have a year of figures."""
    codes = list(Sku.objects.filter(code__startswith="BS-").order_by("code").values_list("code", flat=True))
    orders = list(
        Order.objects.filter(status=Order.Status.PAID, lines__isnull=True)
        .order_by("-placed_at")
        .values_list("pk", "customer_id", "channel", "placed_at")[:limit]
    )
    written = 0
    for start in range(0, len(orders), chunk):
        part = orders[start : start + chunk]
        customers = Customer.objects.in_bulk({row[1] for row in part})
        priced = pricing.price_orders(
            orders=[
                {
                    "lines": [{"sku": codes[pk % len(codes)], "quantity": 1 + pk % 3}],
                    "customer": customers[customer_id],
                    "channel": channel,
                    "on": timezone.localdate(placed_at),
                }
                for pk, customer_id, channel, placed_at in part
            ]
        )
        OrderLine.objects.bulk_create(
            OrderLine(
                order_id=pk,
                **{
                    k: line[k]
                    for k in (
                        "sku",
                        "category",
                        "quantity",
                        "price",
                        "policy_id",
                        "policy_name",
                        "policy_price",
                        "cost",
                    )
                },
            )
            for (pk, *_rest), (line,) in zip(part, priced, strict=True)
        )
        written += len(part)
    return written


def seed_large(ctx) -> None:
    counts = seed_catalogue(seed=ctx.seed)
    lines = seed_order_lines()
    ctx.log(f"catalog (large): {counts['skus']} SKUs, {counts['policies']} policies, {lines} order lines")


def _price_twenty(client, ctx):
    """Price an order of 20 lines for a customer, as ``place_order`` does (target ≤ 20 ms)."""
    codes, customer = ctx.cached(
        "catalog.twenty",
        lambda: (
            list(Sku.objects.filter(is_active=True).order_by("code").values_list("code", flat=True)[:20]),
            Customer.objects.filter(order_count__gt=0).order_by("pk").first(),
        ),
    )
    lines = pricing.price_orders(
        orders=[{"lines": [{"sku": c} for c in codes], "customer": customer, "channel": "online", "on": None}]
    )[0]
    return HttpResponse(json.dumps([str(line["price"]) for line in lines]), content_type="application/json")


register(
    Scenario("catalog.pricing_20_lines", None, request=_price_twenty, note="target ≤ 20 ms"),
    Scenario("catalog.products", "admin", "/catalog/products/"),
    Scenario("catalog.products.search", "admin", "/catalog/products/?q=基准"),
    Scenario("catalog.policy_effect", "director", "/catalog/policy-effect/"),
    Scenario("catalog.policy_effect.rep1", "rep1", "/catalog/policy-effect/"),
    Scenario("catalog.analysis.product", "director", "/catalog/analysis/?by=product"),
    Scenario("catalog.analysis.category", "director", "/catalog/analysis/?by=category"),
    Scenario("catalog.analysis.city", "manager1", "/catalog/analysis/?by=city"),
    Scenario("catalog.analysis.month", "rep1", "/catalog/analysis/?by=month"),
)
