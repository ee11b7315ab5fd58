"""Demo partners: one at every stage of the pipeline, of each type, with contacts, follow-ups
and the moves that brought them there (the large set adds 500 partners)."""

import datetime
from decimal import Decimal

from django.utils import timezone

from customers.models import Order

from .models import (
    Attribution,
    CommissionRule,
    Partner,
    PartnerContact,
    PartnerFollowUp,
    PartnerStatus,
    PartnerStatusChange,
    RebatePlan,
    RebateTier,
)
from .services.statements import generate_statements

#: (company, type, region adcode, status, grade, channel manager)
PARTNERS = [
    ("杭州云帆商贸有限公司", "agent", "330106", PartnerStatus.ACTIVE, "A", "rep1"),
    ("苏州恒通经销有限公司", "dealer", "320505", PartnerStatus.ACTIVE, "B", "rep2"),
    ("上海晨光渠道服务有限公司", "reseller", "310104", PartnerStatus.SIGNED, "C", "rep1"),
    ("南京合众信息咨询有限公司", "referral", "320106", PartnerStatus.NEGOTIATING, "D", "rep3"),
    ("宁波海润贸易有限公司", "dealer", "330203", PartnerStatus.PROSPECT, "D", "rep3"),
    ("无锡益达代理有限公司", "agent", "320213", PartnerStatus.SUSPENDED, "C", "rep2"),
    ("温州鸿运商行", "reseller", "330302", PartnerStatus.TERMINATED, "D", "rep4"),
]
CONTACTS = [("陈建国", "总经理"), ("刘芳", "渠道经理"), ("黄磊", "采购主管")]
#: the moves from prospect to each status
PATHS = {
    PartnerStatus.PROSPECT: [],
    PartnerStatus.NEGOTIATING: [PartnerStatus.NEGOTIATING],
    PartnerStatus.SIGNED: [PartnerStatus.NEGOTIATING, PartnerStatus.SIGNED],
    PartnerStatus.ACTIVE: [PartnerStatus.NEGOTIATING, PartnerStatus.SIGNED, PartnerStatus.ACTIVE],
    PartnerStatus.SUSPENDED: [
        PartnerStatus.NEGOTIATING,
        PartnerStatus.SIGNED,
        PartnerStatus.ACTIVE,
        PartnerStatus.SUSPENDED,
    ],
    PartnerStatus.TERMINATED: [PartnerStatus.TERMINATED],
}


def seed(ctx):
    today = ctx.anchor.date()
    for index, (name, kind, region, status, grade, owner_name) in enumerate(PARTNERS):
        owner = ctx.users[owner_name]
        created = ctx.anchor - datetime.timedelta(days=120 - index * 10)
        signed = status in (PartnerStatus.SIGNED, PartnerStatus.ACTIVE, PartnerStatus.SUSPENDED)
        partner = Partner.objects.create(
            name=name,
            kind=kind,
            code=f"DEMO{index + 1:04d}",
            region=region,
            owner=owner,
            department=owner.department,
            status=status,
            grade=grade,
            created_at=created,
            contract_start=today - datetime.timedelta(days=60) if signed else None,
            contract_end=today + datetime.timedelta(days=305) if signed else None,
            next_follow_up_at=ctx.anchor + datetime.timedelta(days=index + 1)
            if status != PartnerStatus.TERMINATED
            else None,
        )
        contact_name, title = CONTACTS[index % len(CONTACTS)]
        PartnerContact.objects.create(
            partner=partner, name=contact_name, title=title, mobile=ctx.mobile(900_000 + index), is_primary=True
        )
        previous = PartnerStatus.PROSPECT
        for step, to_status in enumerate(PATHS[status]):
            PartnerStatusChange.objects.create(
                partner=partner,
                from_status=previous,
                to_status=to_status,
                actor=owner,
                at=created + datetime.timedelta(days=10 * (step + 1)),
            )
            previous = to_status
        PartnerFollowUp.objects.create(
            partner=partner,
            author=owner,
            kind=PartnerFollowUp.Kind.VISIT,
            content=f"拜访{contact_name}，介绍合作政策。",
            created_at=created + datetime.timedelta(days=3),
        )
    CommissionRule.objects.create(name="通用返佣 5%", mode="percent", rate=Decimal("5.00"), cap=Decimal("2000.00"))
    CommissionRule.objects.create(
        name="新客首单加成", customer_kind="new", mode="percent", rate=Decimal("8.00"), priority=1
    )
    CommissionRule.objects.create(
        name="推荐伙伴每单固定", partner_kind="referral", mode="fixed", amount=Decimal("50.00")
    )
    # the active partners' share of last month's orders, attributed by code and by hand
    active = list(Partner.objects.filter(status=PartnerStatus.ACTIVE).order_by("pk"))
    orders = Order.objects.filter(status=Order.Status.PAID).order_by("pk")[:12]
    for index, order in enumerate(orders):
        partner = active[index % len(active)]
        by_code = index % 3 != 2
        Attribution.objects.create(
            order=order,
            partner=partner,
            at=order.placed_at,
            reason=Attribution.Reason.CODE if by_code else Attribution.Reason.MANUAL,
            note=partner.code if by_code else "客户到店时出示了合作伙伴的介绍信",
            by=None if by_code else partner.owner,
        )
    quarterly = RebatePlan.objects.create(name="季度销量返点", period="quarter", mode="retroactive")
    for threshold, rate in (("100000", "1"), ("1000000", "3")):
        RebateTier.objects.create(plan=quarterly, threshold=Decimal(threshold), rate=Decimal(rate))
    # last month's statements (the lines of every attributed order up to its end)

    generate_statements(period=(today.replace(day=1) - datetime.timedelta(days=1)).replace(day=1))
    if ctx.size == "large":
        users = ctx.reps
        statuses = list(PartnerStatus.values)
        Partner.objects.bulk_create(
            [
                Partner(
                    name=f"演示渠道{n:04d}有限公司",
                    kind=("agent", "reseller", "referral", "dealer")[n % 4],
                    code=f"BULK{n:05d}",
                    owner=users[n % len(users)],
                    department=users[n % len(users)].department,
                    status=statuses[n % len(statuses)],
                    grade="ABCD"[n % 4],
                    created_at=timezone.now() - datetime.timedelta(hours=n),
                )
                for n in range(500)
            ],
            batch_size=500,
        )
    ctx.log("partners: %d" % Partner.objects.count())
