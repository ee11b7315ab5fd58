import datetime

from django.utils import timezone

from marketing.models import Campaign, Event, Segment, Touch
from marketing.services import segments


def make_segment(org, definition=None, *, subject=Segment.Subject.CUSTOMERS, name="高意向家长"):
    segment = Segment(name=name, subject=subject)
    return segments.save_segment(actor=org.marketing, segment=segment, definition=definition or {})


def make_campaign(org, *, segment=None, status=Campaign.Status.APPROVED, **kwargs):
    today = timezone.localdate()
    values = dict(
        name="开放日",
        kind=Campaign.Kind.MEETING,
        owner=org.marketing,
        department=org.company,
        segment=segment,
        status=status,
        start=today - datetime.timedelta(days=1),
        end=today + datetime.timedelta(days=30),
        created_by=org.marketing,
        channels=["sms"],
    )
    values.update(kwargs)
    return Campaign.objects.create(**values)


def make_event(campaign, **kwargs):
    start = timezone.now() + datetime.timedelta(days=7)
    values = dict(
        campaign=campaign,
        name="周六开放日",
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=3),
        location="徐汇校区",
    )
    values.update(kwargs)
    return Event.objects.create(**values)


def make_touch(campaign, **kwargs):
    values = dict(campaign=campaign, kind=Touch.Kind.INVITATION, channel="sms", body="{name}您好，周六开放日邀您参加")
    values.update(kwargs)
    return Touch.objects.create(**values)
