"""Sending touches: opt-outs, resting, frequency caps and addresses hold people back; one message
per person however often Send is pressed; every channel goes through its backend."""

import datetime

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from crm.models import Notification
from customers.tests.factories import CustomerFactory
from marketing.channels import LoggingBackend
from marketing.models import Campaign, MarketingSettings, Message, OptOut, Touch
from marketing.services import sending
from marketing.services.campaigns import opt_out
from sales.models import FollowUp, SalesSettings

from .factories import make_campaign, make_segment, make_touch


@pytest.fixture
def audience(org):
    everyone = [CustomerFactory(name=f"P{i}", owner=org.rep1, email=f"p{i}@example.com") for i in range(6)]
    segment = make_segment(org)  # everyone in scope
    campaign = make_campaign(org, segment=segment)
    return everyone, segment, campaign


def test_send_reaches_everyone_and_holds_back_the_protected(org, audience, send):
    people, segment, campaign = audience
    p0, p1, p2, p3 = people[:4]
    opt_out(customer=p0, channel="sms")
    OptOut.objects.create(customer=p1, channel=OptOut.ALL)
    p2.resting_since = timezone.now()
    p2.save()
    p3.mobile = ""
    p3.save()
    touch = make_touch(campaign)
    estimate = sending.estimate(touch)
    assert estimate["recipients"] == 2
    assert estimate["held"] == {"no_address": 1, "opted_out": 2, "resting": 1, "capped": 0}

    touch = send(touch)
    assert touch.recipients == 2
    sent = Message.objects.filter(touch=touch, status=Message.Status.SENT)
    assert sorted(sent.values_list("customer__name", flat=True)) == ["P4", "P5"]
    assert len(LoggingBackend.outbox) == 2
    first = LoggingBackend.outbox[0]
    assert first.to.startswith("139") and "开放日" in first.text and "/m/" in first.link
    assert Touch.objects.get(pk=touch.pk).status == Touch.Status.SENT
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.RUNNING
    with pytest.raises(ValidationError):
        sending.start_send(actor=org.marketing, touch=touch)
    assert Message.objects.filter(touch=touch).count() == 2


def test_frequency_cap_counts_recent_pushes_and_rep_touches(org, audience):
    people, segment, campaign = audience
    settings = MarketingSettings.current()
    settings.push_cap, settings.push_window_days = 1, 7
    settings.save()
    earlier = make_touch(campaign)
    Message.objects.create(
        touch=earlier,
        campaign=campaign,
        customer=people[0],
        channel="sms",
        status=Message.Status.SENT,
        sent_at=timezone.now() - datetime.timedelta(days=2),
    )
    Message.objects.create(
        touch=earlier,
        campaign=campaign,
        customer=people[1],
        channel="sms",
        status=Message.Status.SENT,
        sent_at=timezone.now() - datetime.timedelta(days=20),
    )
    sales = SalesSettings.current()
    for _ in range(sales.touch_cap):
        FollowUp.objects.create(
            customer=people[2], content="call", created_by=org.rep1, direction=FollowUp.Direction.OUTBOUND
        )
    estimate = sending.estimate(make_touch(campaign))
    assert estimate["held"]["capped"] == 2  # people[0] by pushes, people[2] by rep touches; people[1] is old
    assert estimate["recipients"] == 4


def test_not_approved_campaign_sends_nothing(org, audience, send):
    people, segment, campaign = audience
    campaign.status = Campaign.Status.SUBMITTED
    campaign.save()
    with pytest.raises(ValidationError):
        sending.start_send(actor=org.marketing, touch=make_touch(campaign))
    assert not Message.objects.exists()


def test_email_and_wecom_channels(org, audience, send):
    people, segment, campaign = audience
    send(make_touch(campaign, channel="email", subject="邀请函"))
    assert len(mail.outbox) == 6 and mail.outbox[0].subject == "邀请函"
    touch = send(make_touch(campaign, channel="wecom"))
    assert touch.recipients == 6
    forwarded = Notification.objects.filter(recipient=org.rep1, kind="marketing")
    assert forwarded.count() == 6 and "/m/" in forwarded.first().body


def test_provider_refusal_marks_the_message_failed(org, audience, settings, send):
    settings.MARKETING_CHANNEL_BACKENDS = {"sms": "marketing.tests.test_sending.RefusingBackend"}
    people, segment, campaign = audience
    touch = send(make_touch(campaign))
    assert Message.objects.filter(touch=touch, status=Message.Status.FAILED).count() == 6
    assert Message.objects.filter(touch=touch).first().error == "quota exceeded"


class RefusingBackend:
    def send(self, outgoing):
        from marketing.channels import ChannelError

        raise ChannelError("quota exceeded")


def test_scheduled_touch_goes_out_when_due(org, audience):
    people, segment, campaign = audience
    touch = make_touch(
        campaign, status=Touch.Status.SCHEDULED, scheduled_at=timezone.now() + datetime.timedelta(hours=2)
    )
    assert sending.send_due_touches() == 0
    assert sending.send_due_touches(now=timezone.now() + datetime.timedelta(hours=3)) == 1
    assert Touch.objects.get(pk=touch.pk).status == Touch.Status.SENT


def test_event_audiences(org, audience, send):
    from marketing.services.campaigns import register

    from .factories import make_event

    people, segment, campaign = audience
    event = make_event(campaign)
    register(event=event, customer=people[0], attended=True)
    register(event=event, customer=people[1])
    absent = make_touch(campaign, event=event, audience=Touch.Audience.ABSENT, phase=Touch.Phase.AFTER)
    assert sending.estimate(absent)["recipients"] == 1
    attended = make_touch(campaign, event=event, audience=Touch.Audience.ATTENDED, kind=Touch.Kind.SURVEY)
    touch = send(attended)
    assert list(touch.messages.values_list("customer", flat=True)) == [people[0].pk]


def test_tracked_link_click_opens_content_and_counts(client, org, audience, send):
    from marketing.models import ContentItem

    people, segment, campaign = audience
    content = ContentItem.objects.create(title="幼小衔接指南", url="https://example.com/guide")
    touch = send(make_touch(campaign, content=content, kind="content"))
    message = touch.messages.first()
    response = client.get(sending.message_link(message.pk))
    assert response.status_code == 302 and response.url == "https://example.com/guide"
    message.refresh_from_db()
    assert message.clicked_at is not None
    assert ContentItem.objects.get(pk=content.pk).clicks == 1
    assert client.get(sending.message_link(message.pk)[:-2] + "xx").status_code == 404  # forged code


def test_invitation_link_signs_up_and_stop_link_opts_out(client, org, audience, send):
    from marketing.models import Registration

    from .factories import make_event

    people, segment, campaign = audience
    event = make_event(campaign)
    touch = send(make_touch(campaign, event=event))
    message = touch.messages.order_by("pk").first()
    link = sending.message_link(message.pk)
    page = client.get(link)
    assert event.name in page.content.decode()
    token = link.rstrip("/").split("/")[-1]
    done = client.post(reverse("track:signup", args=[token]))
    assert done.status_code == 200
    registration = Registration.objects.get(event=event)
    assert registration.customer_id == message.customer_id and registration.source == "link"
    client.post(sending.stop_link(message.pk))
    assert OptOut.objects.filter(customer=message.customer, channel="sms").exists()


def test_send_page_previews_and_sends(client, org, audience, django_capture_on_commit_callbacks):
    people, segment, campaign = audience
    touch = make_touch(campaign)
    client.force_login(org.marketing)
    page = client.get(reverse("marketing:touch_send", args=[touch.pk]))
    assert 'data-testid="send-recipients">6<' in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("marketing:touch_send", args=[touch.pk]), {"preview": page.context["preview"]["token"]}
        )
    assert response.status_code == 302
    assert Message.objects.filter(touch=touch, status=Message.Status.SENT).count() == 6


def test_a_lead_segment_gets_messages_too(org, send):
    from marketing.models import Segment
    from sales.tests.factories import LeadFactory

    LeadFactory(name="L1", owner=org.rep1)
    LeadFactory(name="L2", owner=org.rep1, mobile="")
    segment = make_segment(org, subject=Segment.Subject.LEADS, name="线索")
    campaign = make_campaign(org, segment=segment)
    touch = send(make_touch(campaign))
    assert touch.recipients == 1 and touch.held_back["no_address"] == 1
    message = Message.objects.get(touch=touch)
    assert message.lead.name == "L1" and message.status == Message.Status.SENT
    assert LoggingBackend.outbox[-1].person_name == "L1"


def cap_reached(campaign, person):
    """``person`` got as many pushes in the window as the cap allows."""
    for _ in range(MarketingSettings.current().push_cap):
        Message.objects.create(
            touch=make_touch(campaign),
            campaign=campaign,
            customer=person,
            channel="sms",
            status=Message.Status.SENT,
            sent_at=timezone.now() - datetime.timedelta(days=1),
        )


def test_send_page_names_every_recipient_and_every_held_back_person_with_the_reason_before_sending(
    client, org, audience, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    people, segment, campaign = audience
    cap_reached(campaign, people[0])
    cap_reached(campaign, people[1])
    touch = make_touch(campaign)
    client.force_login(org.marketing)
    with django_assert_max_num_queries(25):
        page = client.get(reverse("marketing:touch_send", args=[touch.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans")
    html = page.content.decode()
    preview = page.context["preview"]
    assert [p.name for p in preview["recipients"]] == ["P2", "P3", "P4", "P5"]
    assert [(p.name, str(reason)) for p, reason in preview["held"]] == [
        ("P0", "已达触达频次上限"),
        ("P1", "已达触达频次上限"),
    ]
    assert 'data-testid="send-recipients">4<' in html
    assert "发送给 4 人" in html
    assert 'data-confirm="确定立即向 4 人发送此消息吗' in html
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("marketing:touch_send", args=[touch.pk]), {"preview": preview["token"]})
    assert response.status_code == 302
    sent = Message.objects.filter(touch=touch, status=Message.Status.SENT)
    assert sorted(sent.values_list("customer__name", flat=True)) == ["P2", "P3", "P4", "P5"]
    assert Touch.objects.get(pk=touch.pk).recipients == 4


def test_a_change_between_preview_and_send_sends_nothing_and_names_who_changed(
    client, org, audience, django_capture_on_commit_callbacks
):
    people, segment, campaign = audience
    touch = make_touch(campaign)
    client.force_login(org.marketing)
    page = client.get(reverse("marketing:touch_send", args=[touch.pk]))
    assert page.context["preview"]["recipient_count"] == 6
    cap_reached(campaign, people[3])  # another campaign reached P3 meanwhile
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("marketing:touch_send", args=[touch.pk]),
            {"preview": page.context["preview"]["token"]},
            HTTP_ACCEPT_LANGUAGE="zh-hans",
        )
    assert response.status_code == 409
    assert Message.objects.filter(touch=touch).count() == 0
    assert Touch.objects.get(pk=touch.pk).status == Touch.Status.DRAFT
    html = response.content.decode()
    assert "预览之后，所示人员中有 1 人已不能接收，另有 0 人现在会收到" in html
    assert "不再收到： P3" in html
    again = response.context["preview"]
    assert again["recipient_count"] == 5
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("marketing:touch_send", args=[touch.pk]), {"preview": again["token"]})
    assert Message.objects.filter(touch=touch, status=Message.Status.SENT).count() == 5
