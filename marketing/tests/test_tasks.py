"""The beat jobs, called as Celery tasks."""

import datetime

from django.utils import timezone

from customers.tests.factories import CustomerFactory, make_order
from marketing import tasks
from marketing.models import Attribution, CampaignStats, Message, NurturePlan, NurtureStep, SegmentSize, Touch

from .factories import make_campaign, make_segment, make_touch


def test_beat_jobs(org):
    people = [CustomerFactory(owner=org.rep1) for _ in range(3)]
    segment = make_segment(org)
    SegmentSize.objects.all().delete()
    tasks.record_segment_sizes.delay()
    assert SegmentSize.objects.get(segment=segment).size == 3

    campaign = make_campaign(org, segment=segment)
    touch = make_touch(
        campaign, status=Touch.Status.SCHEDULED, scheduled_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    tasks.send_due_touches.delay()
    assert Touch.objects.get(pk=touch.pk).status == Touch.Status.SENT
    assert Message.objects.filter(touch=touch, status=Message.Status.SENT).count() == 3

    plan = NurturePlan.objects.create(name="p", segment=segment, channel="sms", owner=org.marketing, active=True)
    NurtureStep.objects.create(plan=plan, day=0, body="hi")
    tasks.run_nurture_plans.delay()
    assert Message.objects.filter(enrollment__plan=plan).count() == 3

    make_order(people[0], "880.00")
    tasks.refresh_campaign_stats.delay()
    assert Attribution.objects.filter(campaign=campaign, kind="order").count() == 1
    assert CampaignStats.objects.get(campaign=campaign).figures["gmv"] == "880.00"
