"""Demo marketing data: content, segments, campaigns in every state with events, touches sent through
the real services, registrations, attendance, a nurture plan, and attribution of what followed.

The large set adds a push to every customer of the big segment (about 50,000 messages) so the
campaign pages and statistics are measured at that size."""

import datetime
from decimal import Decimal

from django.db.models import Min
from django.utils import timezone

from coupons.models import Batch
from customers.models import Customer, Order, Tag
from customers.services import record_order

from .models import (
    Campaign,
    ContentItem,
    Event,
    MarketingSettings,
    Message,
    NurturePlan,
    NurtureStep,
    Registration,
    Segment,
    Touch,
)
from .services import campaigns as campaign_rules
from .services import nurture, segments, stats
from .services.sending import _insert_messages, audience, screen, subject_of

CONTENT = [
    (
        "幼小衔接：家长必读的 5 件事",
        "article",
        "https://example.com/articles/bridge",
        ["potential", "first_order"],
        ["学龄前"],
    ),
    ("小学数学思维训练公开课（回放）", "video", "https://example.com/videos/math", ["developing"], ["数学", "小学"]),
    ("少儿英语分级阅读书单", "article", "https://example.com/articles/reading", ["developing", "stable"], ["英语"]),
    ("寒假编程营海报", "poster", "https://example.com/posters/coding", ["potential", "at_risk"], ["编程"]),
    ("老带新推荐有礼", "poster", "https://example.com/posters/referral", ["stable"], []),
    ("钢琴考级常见问题", "article", "https://example.com/articles/piano", ["developing"], ["钢琴"]),
]


def _tags(names):
    return {t.name: t.pk for t in Tag.objects.filter(name__in=names)}


def _segments(ctx):
    owner = ctx.users["marketing"]
    tags = _tags(["高意向", "学龄前", "小学", "初中"])
    parent_tags = [tags[n] for n in ("学龄前", "小学", "初中") if n in tags]
    definitions = {
        "高意向家长 · 60天未下单": {
            "match": "all",
            "groups": [
                {
                    "match": "all",
                    "conditions": [
                        {"field": "tags", "op": "any", "value": [tags["高意向"]] if "高意向" in tags else []},
                        {"field": "tags", "op": "any", "value": parent_tags},
                        {"field": "days_since_order", "op": "more_than", "value": 60},
                    ],
                }
            ],
        },
        "沉睡与流失客户": {
            "match": "all",
            "groups": [
                {
                    "match": "all",
                    "conditions": [{"field": "lifecycle_stage", "op": "in", "value": ["at_risk", "churned"]}],
                }
            ],
        },
        "上海高价值客户": {
            "match": "all",
            "groups": [
                {
                    "match": "all",
                    "conditions": [
                        {"field": "value_segment", "op": "in", "value": ["high", "high_aov"]},
                        {"field": "region", "op": "in_region", "value": "310000"},
                    ],
                }
            ],
        },
    }
    made = {}
    for name, definition in definitions.items():
        definition["groups"][0]["conditions"] = [c for c in definition["groups"][0]["conditions"] if c["value"]]
        made[name] = segments.save_segment(actor=owner, segment=Segment(name=name), definition=definition)
    made["A级线索"] = segments.save_segment(
        actor=owner,
        segment=Segment(name="A级线索", subject=Segment.Subject.LEADS),
        definition={
            "match": "all",
            "groups": [{"match": "all", "conditions": [{"field": "grade", "op": "in", "value": ["A"]}]}],
        },
    )
    return made


def _content(ctx):
    tags = _tags({t for *_rest, names in CONTENT for t in names})
    items = []
    for title, kind, url, stages, tag_names in CONTENT:
        item = ContentItem.objects.create(
            title=title, kind=kind, url=url, stages=stages, created_by=ctx.users["marketing"]
        )
        item.tags.set([tags[n] for n in tag_names if n in tags])
        items.append(item)
    return items


def _campaign(ctx, **values):
    values.setdefault("owner", ctx.users["marketing"])
    values.setdefault("department", ctx.users["marketing"].department)
    values.setdefault("created_by", ctx.users["marketing"])
    return Campaign.objects.create(**values)


def _push(touch, *, sent_at, limit=None):
    """Build the recipient list through the real service, then mark it delivered at ``sent_at``
    (demo data does not go through a provider)."""
    subject = subject_of(touch)
    eligible, held = screen(audience(touch), subject, touch.channel, now=sent_at)
    if limit:
        eligible = eligible.filter(pk__in=eligible.order_by("pk").values("pk")[:limit])
    _insert_messages(touch, eligible, subject, sent_at)
    Message.objects.filter(touch=touch).update(status=Message.Status.SENT, sent_at=sent_at)
    Touch.objects.filter(pk=touch.pk).update(
        status=Touch.Status.SENT, sent_at=sent_at, held_back=held, recipients=touch.messages.count()
    )


def seed(ctx):
    rng = ctx.rng
    large = ctx.size == "large"
    items = _content(ctx)
    made = _segments(ctx)
    anchor = ctx.anchor
    approver = ctx.users["director"]
    big = made["高意向家长 · 60天未下单"]

    # a finished open day: invitation, registrations, attendance, a survey after
    open_day = _campaign(
        ctx,
        name="秋季开放日",
        kind=Campaign.Kind.MEETING,
        segment=big,
        status=Campaign.Status.FINISHED,
        start=(anchor - datetime.timedelta(days=25)).date(),
        end=(anchor - datetime.timedelta(days=5)).date(),
        channels=["sms", "wecom"],
        budget=Decimal("20000"),
        spent=Decimal("12800"),
        goal_reach=40_000 if large else 60,
        goal_registrations=2_000 if large else 20,
        goal_leads=300 if large else 5,
        goal_deals=500 if large else 5,
        goal_gmv=Decimal(2_000_000 if large else 20_000),
        approved_by=approver,
        approved_at=anchor - datetime.timedelta(days=26),
        description="各校区同步开放，体验课 + 家长讲座",
    )
    event = Event.objects.create(
        campaign=open_day,
        name="徐汇校区开放日",
        starts_at=anchor - datetime.timedelta(days=10),
        ends_at=anchor - datetime.timedelta(days=10, hours=-3),
        location="徐汇校区 3 楼",
        capacity=5_000 if large else 80,
    )
    invitation = Touch.objects.create(
        campaign=open_day,
        event=event,
        kind=Touch.Kind.INVITATION,
        channel="sms",
        body="{name}家长您好，秋季开放日邀您和孩子来体验课堂，点击报名：",
        created_by=ctx.users["marketing"],
    )
    _push(invitation, sent_at=anchor - datetime.timedelta(days=20), limit=None if large else 40)
    reached = list(invitation.messages.values_list("pk", "customer_id"))
    clicked = [pk for pk, _c in reached if rng.random() < 0.25]
    Message.objects.filter(pk__in=clicked).update(
        opened_at=anchor - datetime.timedelta(days=19), clicked_at=anchor - datetime.timedelta(days=19)
    )
    customers = {c.pk: c for c in Customer.objects.filter(pk__in=[c for _pk, c in reached][: 4_000 if large else 20])}
    for index, customer in enumerate(customers.values()):
        if rng.random() < 0.6:
            registration = campaign_rules.register(
                event=event,
                customer=customer,
                source=Registration.Source.LINK,
                at=anchor - datetime.timedelta(days=18 - index % 5),
            )
            if rng.random() < 0.6:
                campaign_rules.check_in(registration=registration, at=event.starts_at)

    attended = list(
        Registration.objects.filter(
            event=event, status=Registration.Status.ATTENDED, customer__isnull=False
        ).select_related("customer")
    )
    for index, registration in enumerate(attended):  # what the open day produced: orders within days of it
        if index % 3 == 0 or rng.random() < 0.3:
            record_order(
                customer=registration.customer,
                amount=Decimal(rng.choice([1980, 2680, 3600, 4800, 6900])),
                cost=None,
                placed_at=event.starts_at + datetime.timedelta(days=rng.uniform(0.2, 8)),
                lines=[
                    {
                        "sku": "TRIAL-PKG",
                        "category": "课程包",
                        "quantity": 1,
                        "price": Decimal(rng.choice([1980, 2680, 3600])),
                    }
                ][:0],
            )

    batch = Batch.objects.filter(status__in=["active", "approved", "ended"]).select_related("campaign").first()
    if batch is not None:
        open_day.batches.add(batch)
        Campaign.objects.filter(pk=open_day.pk).update(budget_account=batch.campaign.budget_account_id)
    for index in range(300 if large else 6):  # new families who heard of it: they become leads
        campaign_rules.register(
            event=event,
            mobile=ctx.mobile(3_000_000 + index),
            name=ctx.name(),
            attended=rng.random() < 0.5,
            source=Registration.Source.IMPORT,
            at=anchor - datetime.timedelta(days=12),
        )
    Touch.objects.create(
        campaign=open_day,
        event=event,
        phase=Touch.Phase.AFTER,
        kind=Touch.Kind.SURVEY,
        audience=Touch.Audience.ATTENDED,
        channel="wecom",
        body="{name}家长，感谢参加开放日，请留下您的建议：",
        created_by=ctx.users["marketing"],
    )

    # a running live stream with content and a scheduled reminder
    live = _campaign(
        ctx,
        name="小学数学思维直播课",
        kind=Campaign.Kind.LIVE,
        segment=made["沉睡与流失客户"],
        status=Campaign.Status.RUNNING,
        start=(anchor - datetime.timedelta(days=3)).date(),
        end=(anchor + datetime.timedelta(days=14)).date(),
        channels=["sms", "wechat_oa"],
        budget=Decimal("5000"),
        spent=Decimal("1500"),
        goal_reach=5_000 if large else 20,
        goal_leads=100 if large else 3,
        approved_by=approver,
        approved_at=anchor - datetime.timedelta(days=4),
    )
    Event.objects.create(
        campaign=live,
        name="直播：数学思维第一课",
        starts_at=anchor + datetime.timedelta(days=2),
        ends_at=anchor + datetime.timedelta(days=2, hours=1),
        location="视频号直播间",
    )
    push = Touch.objects.create(
        campaign=live,
        kind=Touch.Kind.CONTENT,
        channel="sms",
        content=items[1],
        body="{name}您好，数学思维公开课回放已上线：",
        created_by=ctx.users["marketing"],
    )
    _push(push, sent_at=anchor - datetime.timedelta(days=2), limit=5_000 if large else 15)
    Touch.objects.create(
        campaign=live,
        kind=Touch.Kind.REMINDER,
        channel="sms",
        status=Touch.Status.SCHEDULED,
        scheduled_at=anchor + datetime.timedelta(days=1, hours=10),
        body="{name}您好，明晚 8 点直播，记得来看：",
        created_by=ctx.users["marketing"],
    )

    # one awaiting approval, one draft
    _campaign(
        ctx,
        name="老带新推荐季",
        kind=Campaign.Kind.REFERRAL,
        segment=made["上海高价值客户"],
        status=Campaign.Status.SUBMITTED,
        start=anchor.date(),
        end=(anchor + datetime.timedelta(days=45)).date(),
        channels=["wecom"],
        budget=Decimal("8000"),
        goal_leads=200 if large else 5,
        submitted_at=anchor - datetime.timedelta(hours=5),
    )
    _campaign(
        ctx,
        name="寒假编程营推送",
        kind=Campaign.Kind.PUSH,
        segment=big,
        status=Campaign.Status.DRAFT,
        start=(anchor + datetime.timedelta(days=7)).date(),
        end=(anchor + datetime.timedelta(days=30)).date(),
        channels=["sms"],
    )

    plan = NurturePlan.objects.create(
        name="新线索 14 天培育",
        segment=made["沉睡与流失客户"],
        channel="wecom",
        owner=ctx.users["marketing"],
        department=ctx.users["marketing"].department,
        campaign=live,
    )
    for day, content, body in (
        (0, None, "{name}您好，我是您的课程顾问，有问题随时找我。"),
        (3, items[0], "{name}您好，给您分享一篇家长关心的文章："),
        (10, items[3], "{name}您好，寒假编程营开始报名，欢迎来试听："),
    ):
        NurtureStep.objects.create(plan=plan, day=day, content=content, body=body)
    if not large:
        nurture.start(plan=plan)

    # attribute what followed the touches, then roll up the figures
    first = Message.objects.aggregate(first=Min("sent_at"))["first"] or anchor
    settings = MarketingSettings.current()
    settings.attributed_until = first
    settings.save(update_fields=["attributed_until"])
    window = datetime.timedelta(days=settings.attribution_days)
    touched = Message.objects.values("customer_id")
    orders = (
        Order.objects.filter(customer_id__in=touched, placed_at__gte=first, status=Order.Status.PAID)
        .values_list("pk", "customer_id", "placed_at", "amount")
        .order_by("pk")
    )
    stats._chunked(orders, "order", window)
    stats.attribute(now=timezone.now())
    for campaign in Campaign.objects.all():
        stats.refresh(campaign.pk)
    ctx.log(
        f"  marketing: {Campaign.objects.count()} campaigns, {Message.objects.count()} messages, "
        f"{Registration.objects.count()} registrations, {len(items)} content items"
    )
