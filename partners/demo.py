"""Demo partners: one at every stage of the pipeline, of each type, with contacts, follow-ups
and the moves that brought them there (the large set adds 500 partners)."""

import datetime
from decimal import Decimal

from django.utils import timezone

from crm.demo import DEMO_PASSWORD
from customers.models import Customer, Order

from .models import (
    Attribution,
    CommissionRule,
    DealerStore,
    GradeChange,
    LeadRegistration,
    Partner,
    PartnerContact,
    PartnerFollowUp,
    PartnerStatus,
    PartnerStatusChange,
    RebatePlan,
    RebateTier,
    Statement,
)
from .services.portal import create_portal_user
from .services.registrations import register_lead
from .services.statements import generate_statement

#: the partners' own sign-ins (password as every demo user): (username, name, partner's index)
PORTAL_USERS = [("partner1", "云帆渠道专员", 0), ("partner2", "恒通渠道专员", 1)]

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
    quarterly = RebatePlan.objects.create(name="季度销量返点", period="quarter", mode="retroactive")
    for threshold, rate in (("100000", "1"), ("1000000", "3")):
        RebateTier.objects.create(plan=quarterly, threshold=Decimal(threshold), rate=Decimal(rate))
    seed_portal(ctx)
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


def _month(day: datetime.date, back: int) -> datetime.date:
    first = day.replace(day=1)
    for _ in range(back):
        first = (first - datetime.timedelta(days=1)).replace(day=1)
    return first


def seed_portal(ctx):
    """What the partner portal and the channel managers' month need: orders of the last three
    months attributed to the two active partners, their statements (the two months before last paid
    and waiting for the partner's confirmation, last month's a draft for the channel manager), the
    partners' sign-ins, registrations (one protected, one about to expire, one expired and a
    conflict), a grade history, and the dealer 苏州恒通 with its stores and a sub-dealer's."""
    today = ctx.anchor.date()
    partners = list(Partner.objects.filter(code__in=["DEMO0001", "DEMO0002"]).order_by("code"))
    orders = []
    for back in (3, 2, 1):  # ten orders of each of the last three months
        start, end = (
            timezone.make_aware(datetime.datetime.combine(_month(today, n), datetime.time.min))
            for n in (back, back - 1)
        )
        month = Order.objects.filter(status=Order.Status.PAID, placed_at__gte=start, placed_at__lt=end)
        orders += list(month.order_by("placed_at", "pk")[:20:2])
    for index, order in enumerate(orders):
        partner = partners[index % 2]
        by_code = index % 3 != 2
        Attribution.objects.create(
            order=order,
            partner=partner,
            at=order.placed_at,
            reason=Attribution.Reason.CODE if by_code else Attribution.Reason.MANUAL,
            note=partner.code if by_code else "客户到店时出示了合作伙伴的介绍信",
            by=None if by_code else partner.owner,
        )
    manager = ctx.users["manager1"]
    for back in (3, 2, 1):
        period = _month(today, back)
        for partner in partners:
            statement = generate_statement(partner_id=partner.pk, period=period)
            if back > 1:  # settled months: prepared by the manager, approved by the director, paid
                closed = timezone.make_aware(datetime.datetime.combine(_month(today, back - 1), datetime.time(10)))
                Statement.objects.filter(pk=statement.pk).update(
                    status=Statement.Status.PAID,
                    prepared_by=manager,
                    approved_at=closed + datetime.timedelta(days=2),
                    paid_at=closed + datetime.timedelta(days=5),
                )
    for username, name, index in PORTAL_USERS:
        create_portal_user(partner=partners[index], username=username, name=name, password=DEMO_PASSWORD)
    for n, name in enumerate(["钱多多", "孙悦", "周宁"]):
        registration = register_lead(partner=partners[0], name=name, mobile=ctx.mobile(950_000 + n))
        if n == 1:  # about to expire: the warning goes out on day one
            LeadRegistration.objects.filter(pk=registration.pk).update(
                created_at=ctx.anchor - datetime.timedelta(days=85),
                protected_until=ctx.anchor + datetime.timedelta(days=5),
            )
        if n == 2:
            LeadRegistration.objects.filter(pk=registration.pk).update(
                status=LeadRegistration.Status.EXPIRED,
                created_at=ctx.anchor - datetime.timedelta(days=120),
                protected_until=ctx.anchor - datetime.timedelta(days=30),
            )
    register_lead(partner=partners[1], name="钱多多", mobile=ctx.mobile(950_000))  # a conflict
    for partner, history in ((partners[0], ("B", "A")), (partners[1], ("C", "B"))):
        GradeChange.objects.create(
            partner=partner,
            effective_from=_month(today, 2),
            from_grade=history[0],
            to_grade=history[1],
            gmv=Decimal("1250000.00") if history[1] == "A" else Decimal("420000.00"),
            conversion_rate=Decimal("33.33"),
        )
    dealer = partners[1]
    sub = Partner.objects.get(code="DEMO0005")
    Partner.objects.filter(pk=sub.pk).update(parent=dealer)
    stores = list(Customer.objects.filter(kind=Customer.Kind.ORGANIZATION).order_by("pk")[:11])
    DealerStore.objects.bulk_create(
        [
            DealerStore(customer=store, dealer=dealer if n < 8 else sub, since=today - datetime.timedelta(days=90))
            for n, store in enumerate(stores)
        ]
    )
