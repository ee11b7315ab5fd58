"""Demo catalogue: education and training (教育培训) and home services (家政服务), a few sales
policies, and entitlements that customers are using — dates relative to today."""

import datetime
from decimal import Decimal

from django.utils import timezone

from customers.models import Customer, LifecycleStage, Order, OrderLine, ValueSegment
from customers.services.orders import rebuild_value_figures

from .models import Category, Product, SalesPolicy, Sku
from .services import catalogue, entitlements, policies, pricing

D = Decimal
#: category path -> [(product code, name, [(sku code, name, spec, unit, list price, cost, tax, grants, quantity,
#: valid days, renewal threshold)])]
CATALOGUE = {
    ("教育培训", "一对一辅导"): [
        (
            "EDU-1V1-MATH",
            "初中数学一对一",
            [
                (
                    "EDU-1V1-MATH-24",
                    "初中数学一对一 24课时",
                    "24课时",
                    "课时包",
                    D("7200"),
                    D("3100"),
                    D("6"),
                    "课时",
                    24,
                    365,
                    4,
                ),
                (
                    "EDU-1V1-MATH-48",
                    "初中数学一对一 48课时",
                    "48课时",
                    "课时包",
                    D("13800"),
                    D("6000"),
                    D("6"),
                    "课时",
                    48,
                    365,
                    6,
                ),
            ],
        ),
        (
            "EDU-1V1-ENG",
            "小学英语一对一",
            [
                (
                    "EDU-1V1-ENG-24",
                    "小学英语一对一 24课时",
                    "24课时",
                    "课时包",
                    D("6480"),
                    D("2800"),
                    D("6"),
                    "课时",
                    24,
                    365,
                    4,
                ),
            ],
        ),
    ],
    ("教育培训", "班课"): [
        (
            "EDU-CLS-SUMMER",
            "暑期数学提高班",
            [
                (
                    "EDU-CLS-SUMMER-20",
                    "暑期数学提高班 20课时",
                    "20课时 / 8人班",
                    "期",
                    D("2980"),
                    D("1100"),
                    D("6"),
                    "课时",
                    20,
                    120,
                    2,
                ),
            ],
        ),
        (
            "EDU-CLS-ART",
            "少儿美术周末班",
            [
                (
                    "EDU-CLS-ART-16",
                    "少儿美术周末班 16课时",
                    "16课时",
                    "期",
                    D("2400"),
                    D("900"),
                    D("6"),
                    "课时",
                    16,
                    180,
                    2,
                ),
            ],
        ),
    ],
    ("家政服务", "日常保洁"): [
        (
            "HOME-CLEAN",
            "日常保洁",
            [
                (
                    "HOME-CLEAN-1",
                    "日常保洁 单次",
                    "3小时",
                    "次",
                    D("180"),
                    D("95"),
                    D("6"),
                    "",
                    0,
                    0,
                    0,
                ),
                (
                    "HOME-CLEAN-12",
                    "日常保洁 12次卡",
                    "每次3小时",
                    "卡",
                    D("1980"),
                    D("1140"),
                    D("6"),
                    "保洁次数",
                    12,
                    365,
                    2,
                ),
            ],
        ),
    ],
    ("家政服务", "家电清洗"): [
        (
            "HOME-AC",
            "空调深度清洗",
            [
                (
                    "HOME-AC-1",
                    "挂机空调清洗",
                    "挂机",
                    "台",
                    D("120"),
                    D("55"),
                    D("6"),
                    "",
                    0,
                    0,
                    0,
                ),
                (
                    "HOME-AC-4",
                    "空调清洗 4台套餐",
                    "挂机或柜机",
                    "套",
                    D("420"),
                    D("210"),
                    D("6"),
                    "清洗次数",
                    4,
                    365,
                    1,
                ),
            ],
        ),
    ],
    ("会员",): [
        (
            "MEMBER-YEAR",
            "年度会员",
            [
                (
                    "MEMBER-YEAR-1",
                    "年度会员",
                    "12个月",
                    "年",
                    D("299"),
                    D("20"),
                    D("6"),
                    "会员上门服务",
                    6,
                    365,
                    1,
                ),
            ],
        ),
    ],
}


def seed(ctx):
    admin, marketing = ctx.users["admin"], ctx.users["marketing"]
    today = timezone.localdate()
    categories = {}
    for path in CATALOGUE:
        parent = None
        for depth in range(len(path)):
            key = path[: depth + 1]
            if key not in categories:
                categories[key] = catalogue.save_category(
                    category=Category(name=path[depth], parent=parent, position=len(categories)),
                    actor=admin,
                )
            parent = categories[key]
    skus = {}
    for path, products in CATALOGUE.items():
        for code, name, rows in products:
            product = catalogue.save_product(
                product=Product(code=code, name=name, category=categories[path]),
                actor=marketing,
            )
            for (
                sku_code,
                sku_name,
                spec,
                unit,
                price,
                cost,
                tax,
                grants,
                quantity,
                days,
                threshold,
            ) in rows:
                skus[sku_code] = catalogue.save_sku(
                    sku=Sku(
                        product=product,
                        code=sku_code,
                        name=sku_name,
                        spec=spec,
                        unit=unit,
                        list_price=price,
                        cost=cost,
                        tax_rate=tax,
                        grants_name=grants,
                        grants_quantity=quantity,
                        grants_valid_days=days or 365,
                        renewal_threshold=threshold,
                    ),
                    actor=marketing,
                )
            # launched long ago (the demo's history): approved, on sale for a year
            Product.objects.filter(pk=product.pk).update(
                status=Product.Status.APPROVED,
                sale_from=today - datetime.timedelta(days=365),
            )
    # the summer class sells only in its season; the art class waits for the director's approval
    summer = Product.objects.get(code="EDU-CLS-SUMMER")
    Product.objects.filter(pk=summer.pk).update(sale_until=today + datetime.timedelta(days=60))
    art = Product.objects.get(code="EDU-CLS-ART")
    Product.objects.filter(pk=art.pk).update(status=Product.Status.DRAFT, sale_from=None)
    catalogue.request_launch(product=art, sale_from=today + datetime.timedelta(days=7), actor=marketing)

    edu, home = categories[("教育培训",)], categories[("家政服务",)]
    policies.save_policy(
        policy=SalesPolicy(
            name="新客首单 9折",
            kind=SalesPolicy.Kind.PERCENT,
            percent_off=D("10"),
            lifecycle_stage=LifecycleStage.POTENTIAL,
            priority=10,
        ),
        actor=marketing,
    )
    policies.save_policy(
        policy=SalesPolicy(
            name="小程序下单立减50元",
            kind=SalesPolicy.Kind.AMOUNT,
            amount_off=D("50"),
            category=edu,
            channel=Order.Channel.MINI_PROGRAM,
        ),
        actor=marketing,
    )
    policies.save_policy(
        policy=SalesPolicy(
            name="上海家政 95折",
            kind=SalesPolicy.Kind.PERCENT,
            percent_off=D("5"),
            category=home,
            region="310000",
        ),
        actor=marketing,
    )
    policies.save_policy(
        policy=SalesPolicy(
            name="暑期班早鸟价",
            kind=SalesPolicy.Kind.AMOUNT,
            amount_off=D("300"),
            sku=skus["EDU-CLS-SUMMER-20"],
            valid_from=today - datetime.timedelta(days=10),
            valid_until=today + datetime.timedelta(days=20),
        ),
        actor=marketing,
    )
    vip = policies.save_policy(
        policy=SalesPolicy(
            name="高价值客户价目表",
            kind=SalesPolicy.Kind.PRICE_LIST,
            value_segment=ValueSegment.HIGH,
            priority=5,
        ),
        actor=marketing,
    )
    policies.set_prices(
        policy=vip,
        prices={
            "EDU-1V1-MATH-48": D("12800"),
            "EDU-1V1-ENG-24": D("5980"),
            "HOME-CLEAN-12": D("1780"),
        },
        actor=marketing,
    )

    # entitlements of customers served by the reps, some used, one at its renewal threshold
    owned = list(
        Customer.objects.filter(owner__username__in=["rep1", "rep2"]).order_by("pk").select_related("owner")[:24]
    )
    plans = [
        "EDU-1V1-MATH-48",
        "EDU-1V1-ENG-24",
        "HOME-CLEAN-12",
        "HOME-AC-4",
        "MEMBER-YEAR-1",
        "EDU-CLS-SUMMER-20",
    ]
    rng = ctx.rng
    for index, customer in enumerate(owned):
        sku = skus[plans[index % len(plans)]]
        # granted 20–200 days ago, but never so long ago that it has run out (it is used below)
        age = min(rng.randint(20, 200), max(sku.grants_valid_days - 30, 1))
        granted = ctx.anchor - datetime.timedelta(days=age)
        entitlement = entitlements.grant(
            customer=customer,
            name=sku.grants_name,
            quantity=sku.grants_quantity,
            expires_on=granted.date() + datetime.timedelta(days=sku.grants_valid_days),
            sku=sku,
            renewal_threshold=sku.renewal_threshold,
            actor=admin,
        )
        used = sku.grants_quantity - sku.renewal_threshold if index == 0 else rng.randint(0, sku.grants_quantity // 2)
        for step in range(used):
            entitlements.consume(
                entitlement=entitlement,
                quantity=1,
                reference=f"demo-{entitlement.pk}-{step}",
                actor=customer.owner,
                note="",
            )
    linked = link_demo_orders(ctx) if ctx.size == "small" else 0
    ctx.log(
        f"catalog: {len(skus)} SKUs, {SalesPolicy.objects.count()} policies, {len(owned)} entitlements, "
        f"{linked} demo orders on catalogue SKUs"
    )


def link_demo_orders(ctx, *, chunk: int = 500) -> int:
    """The small set's orders (seeded by customers, below the catalogue) name catalogue SKUs, so
    the policy effect and the business analysis show believable figures: each order without a
    coupon gets one on-sale SKU (picked from its id, without touching the shared random source),
    priced as ``place_order`` prices it — the winning policy for the customer, channel and day,
    its price and the SKU's cost — and the order's amount and cost follow its line. The
    customers' figures are then rebuilt from their orders."""
    today = timezone.localdate()
    codes = sorted(
        sku.code for sku in Sku.objects.filter(is_active=True).select_related("product") if sku.product.on_sale(today)
    )
    orders = list(
        Order.objects.filter(external_id__startswith="DEMO-", discount=0)
        .select_related("customer")
        .prefetch_related("lines")
        .order_by("pk")
    )
    orders = [order for order in orders if len(order.lines.all()) == 1]
    touched_lines, customers = [], set()
    for start in range(0, len(orders), chunk):
        part = orders[start : start + chunk]
        priced = pricing.price_orders(
            orders=[
                {
                    "lines": [{"sku": codes[order.pk % len(codes)], "quantity": 1}],
                    "customer": order.customer,
                    "channel": order.channel,
                    "on": timezone.localdate(order.placed_at),
                }
                for order in part
            ]
        )
        for order, (line_data,) in zip(part, priced, strict=True):
            line = order.lines.all()[0]
            for field in ("sku", "category", "quantity", "price", "policy_id", "policy_name", "policy_price", "cost"):
                setattr(line, field, line_data[field])
            order.amount, order.cost = line.price, line.cost
            touched_lines.append(line)
            customers.add(order.customer_id)
    OrderLine.objects.bulk_update(
        touched_lines,
        ["sku", "category", "quantity", "price", "policy_id", "policy_name", "policy_price", "cost"],
        batch_size=500,
    )
    Order.objects.bulk_update(orders, ["amount", "cost"], batch_size=500)
    rebuild_value_figures(customer_ids=sorted(customers))
    return len(orders)
