"""Campaign approval, events with registration and check-in (by hand, import, API), attribution
(last touch within the window) and the campaign figures."""

import datetime
import json
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from coupons.models import Redemption
from coupons.tests.factories import make_batch
from crm.models import ApiClient
from crm.services import create_api_client, issue_token
from customers.models import Customer
from customers.tests.factories import CustomerFactory, make_order
from marketing.models import Attribution, Campaign, Event, MarketingSettings, Message, Registration
from marketing.services import campaigns as rules
from marketing.services import stats
from sales.models import Lead

from .factories import make_campaign, make_event, make_segment, make_touch


def test_approval_flow(org):
    segment = make_segment(org)
    campaign = make_campaign(org, segment=segment, status=Campaign.Status.DRAFT)
    rules.change_status(actor=org.marketing, campaign=campaign, action="submit")
    with pytest.raises(PermissionDenied):
        rules.change_status(actor=org.marketing, campaign=campaign, action="approve")  # not one's own
    with pytest.raises(PermissionDenied):
        rules.change_status(actor=org.rep1, campaign=campaign, action="approve")
    # routed to one approver: head office's marketing has no manager above it, so the director
    assert rules.can_approve(org.director, campaign) is True and rules.can_approve(org.admin, campaign) is False
    with pytest.raises(ValidationError):
        rules.change_status(actor=org.director, campaign=campaign, action="reject", reason=" ")
    rules.change_status(actor=org.director, campaign=campaign, action="reject", reason="预算过高")
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.REJECTED
    rules.change_status(actor=org.marketing, campaign=campaign, action="submit")
    campaign = rules.change_status(actor=org.director, campaign=campaign, action="approve")
    assert campaign.status == Campaign.Status.APPROVED and campaign.approved_by == org.director


def test_campaign_changes_are_audited(client, org):
    from auditlog.models import LogEntry

    client.force_login(org.marketing)
    response = client.post(
        reverse("marketing:campaign_create"),
        {
            "name": "春季开放日",
            "kind": "meeting",
            "start": "2026-12-01",
            "end": "2026-12-20",
            "budget": "5000",
            "spent": "0",
            "goal_reach": "1000",
            "goal_registrations": "100",
            "goal_leads": "50",
            "goal_deals": "10",
            "goal_gmv": "50000",
            "channels": ["sms", "wecom"],
        },
    )
    campaign = Campaign.objects.get()
    assert response.status_code == 302 and campaign.channels == ["sms", "wecom"]
    assert LogEntry.objects.get_for_object(campaign).count() == 1
    bad = client.post(
        reverse("marketing:campaign_create"),
        {
            "name": "x",
            "kind": "meeting",
            "start": "2026-12-20",
            "end": "2026-12-01",
            "budget": "0",
            "spent": "0",
            "goal_reach": 0,
            "goal_registrations": 0,
            "goal_leads": 0,
            "goal_deals": 0,
            "goal_gmv": 0,
        },
    )
    assert bad.status_code == 200 and "invalid-feedback" in bad.content.decode()


def test_register_known_and_new_people(org):
    campaign = make_campaign(org)
    event = make_event(campaign, capacity=2)
    known = CustomerFactory(name="老客户", mobile="13900000001", owner=org.rep1)
    first = rules.register(event=event, mobile="139 0000 0001")
    assert first.customer == known and first.lead is None
    again = rules.register(event=event, customer=known)
    assert again.pk == first.pk
    new = rules.register(event=event, mobile="13700000009", name="新家长")
    assert new.customer is None and new.lead.name == "新家长" and new.lead.source == Customer.Source.EVENT
    with pytest.raises(ValidationError) as exc:
        rules.register(event=event, mobile="13700000010", name="第三位")
    assert "full" in str(exc.value).lower() or "满" in str(exc.value)
    assert Event.objects.get(pk=event.pk).registered_count == 2


def test_check_in_lifts_resting_and_scores_the_lead(org):
    campaign = make_campaign(org)
    event = make_event(campaign)
    resting = CustomerFactory(owner=org.rep1, resting_since=timezone.now())
    registration = rules.register(event=event, customer=resting)
    assert rules.check_in(registration=registration)
    assert not rules.check_in(registration=registration)  # once
    resting.refresh_from_db()
    assert resting.resting_since is None and resting.last_inbound_at is not None
    event.refresh_from_db()
    assert event.attended_count == 1
    lead_registration = rules.register(event=event, mobile="13700000011", name="新人", attended=True)
    assert Lead.objects.get(pk=lead_registration.lead_id).events_attended == 1


def test_registration_import_is_all_or_nothing(client, org):
    campaign = make_campaign(org)
    event = make_event(campaign)
    client.force_login(org.marketing)
    bad = "mobile,name,attended\n13700000001,甲,yes\n12345,乙,no\n".encode()
    response = client.post(
        reverse("marketing:registration_import", args=[event.pk]),
        {"file": SimpleUploadedFile("r.csv", bad, "text/csv")},
        follow=True,
    )
    assert not Registration.objects.exists()
    assert "3" in response.content.decode()  # the bad row is named
    good = "手机号,姓名,签到\n13700000001,甲,是\n13700000002,乙,\n".encode("gb18030")
    client.post(
        reverse("marketing:registration_import", args=[event.pk]),
        {"file": SimpleUploadedFile("r.csv", good, "text/csv")},
    )
    assert Registration.objects.count() == 2
    assert Registration.objects.filter(status=Registration.Status.ATTENDED).count() == 1


def test_event_page_registers_and_checks_in(client, org, django_assert_max_num_queries):
    campaign = make_campaign(org)
    event = make_event(campaign)
    client.force_login(org.marketing)
    client.post(reverse("marketing:registration_add", args=[event.pk]), {"mobile": "13700000005", "name": "丙"})
    registration = Registration.objects.get()
    client.post(reverse("marketing:registration_action", args=[registration.pk, "check_in"]))
    with django_assert_max_num_queries(15):
        page = client.get(event.get_absolute_url())
    assert 'data-testid="event-attended">1<' in page.content.decode()


@pytest.fixture
def api(org):
    client_ = create_api_client(name="签到机", description="")
    token, raw = issue_token(client=client_, scopes=["marketing"], name="t")
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_api_registers_and_checks_in(client, org, api):
    campaign = make_campaign(org)
    event = make_event(campaign, capacity=1)
    url = reverse("api-event-registrations", args=[event.pk])
    body = {"customer": {"mobile": "13700000021", "name": "API家长"}, "attended": False}
    first = client.post(url, json.dumps(body), content_type="application/json", **api)
    assert first.status_code == 201 and first.json()["status"] == "registered" and first.json()["lead"]
    again = client.post(url, json.dumps({**body, "attended": True}), content_type="application/json", **api)
    assert again.status_code == 200 and again.json()["status"] == "attended"
    full = client.post(
        url, json.dumps({"customer": {"mobile": "13700000022", "name": "x"}}), content_type="application/json", **api
    )
    assert full.status_code == 409 and full.json()["error"]["code"] == "event_full"
    invalid = client.post(url, json.dumps({"customer": {"mobile": "123"}}), content_type="application/json", **api)
    assert invalid.status_code == 422 and "mobile" in json.dumps(invalid.json()["error"]["fields"])
    assert (
        client.post(
            reverse("api-event-registrations", args=[999]), json.dumps(body), content_type="application/json", **api
        ).status_code
        == 404
    )


def test_api_needs_the_marketing_scope(client, org):
    client_ = ApiClient.objects.create(name="shop") if False else create_api_client(name="shop", description="")
    token, raw = issue_token(client=client_, scopes=["orders"], name="t")
    event = make_event(make_campaign(org))
    response = client.post(
        reverse("api-event-registrations", args=[event.pk]),
        json.dumps({"customer": {"mobile": "13700000021"}}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert response.status_code == 403


# -- attribution and figures ---------------------------------------------------------------------


def _sent(campaign, customer, at):
    touch = make_touch(campaign)
    return Message.objects.create(
        touch=touch, campaign=campaign, customer=customer, channel="sms", status=Message.Status.SENT, sent_at=at
    )


def test_last_touch_within_the_window_wins(org):
    now = timezone.now()
    settings = MarketingSettings.current()
    settings.attributed_until = now - datetime.timedelta(days=60)
    settings.save()
    first = make_campaign(org, name="直播")
    second = make_campaign(org, name="开放日")
    customer = CustomerFactory(owner=org.rep1)
    _sent(first, customer, now - datetime.timedelta(days=20))
    _sent(second, customer, now - datetime.timedelta(days=10))
    recent = make_order(customer, "500.00", placed_at=now - datetime.timedelta(days=5))
    before_any = make_order(customer, "70.00", placed_at=now - datetime.timedelta(days=25))
    lonely = CustomerFactory(owner=org.rep1)
    _sent(first, lonely, now - datetime.timedelta(days=50))
    too_late = make_order(lonely, "200.00", placed_at=now - datetime.timedelta(days=5))  # 45 days after the touch
    stats.attribute()
    assert Attribution.objects.get(object_id=recent.pk, kind="order").campaign == second
    assert not Attribution.objects.filter(object_id=before_any.pk).exists()
    assert not Attribution.objects.filter(object_id=too_late.pk).exists()
    stats.attribute()  # nothing twice
    assert Attribution.objects.count() == 1


def test_campaign_figures_match_a_hand_count(org):
    """Reached 3, 1 click, 2 registered, 1 attended, 1 new lead from the event, 1 deal of 500 from a
    touched customer; coupon subsidy 20 and 300 spent: cost 320, ROI (500 - 320) / 320 = 0.56."""
    now = timezone.now()
    settings = MarketingSettings.current()
    settings.attributed_until = now - datetime.timedelta(days=5)
    settings.save()
    batch = make_batch(org)
    campaign = make_campaign(org, spent=Decimal("300.00"))
    campaign.batches.add(batch)
    people = [CustomerFactory(owner=org.rep1) for _ in range(3)]
    messages = [_sent(campaign, p, now - datetime.timedelta(days=3)) for p in people]
    Message.objects.filter(pk=messages[0].pk).update(clicked_at=now - datetime.timedelta(days=2))
    event = make_event(campaign)
    rules.register(event=event, customer=people[0], attended=True)
    rules.register(event=event, mobile="13700000031", name="新家长")
    order = make_order(people[0], "500.00", placed_at=now - datetime.timedelta(days=1))
    from coupons.models import Coupon

    coupon = Coupon.objects.create(batch=batch, code="C1", status="redeemed", customer=people[0], amount=20)
    Redemption.objects.create(
        coupon=coupon,
        order=order,
        account=batch.campaign.budget_account,
        order_amount=Decimal("500"),
        discount=Decimal("20"),
        subsidy=Decimal("20"),
    )
    stats.attribute()
    figures = stats.refresh(campaign.pk)
    assert (figures["reached"], figures["clicked"], figures["registered"], figures["attended"]) == (3, 1, 2, 1)
    assert (figures["leads"], figures["deals"], figures["gmv"]) == (1, 1, "500.00")
    assert (figures["coupon_cost"], figures["cost"], figures["roi"]) == ("20.00", "320.00", "0.56")
    assert figures["cost_per_lead"] == "320.00" and figures["cost_per_deal"] == "320.00"


def test_campaign_pages(client, org, django_assert_max_num_queries):
    segment = make_segment(org)
    campaign = make_campaign(org, segment=segment)
    make_event(campaign)
    make_touch(campaign)
    stats.refresh(campaign.pk)
    client.force_login(org.marketing)
    with django_assert_max_num_queries(25):
        page = client.get(campaign.get_absolute_url())
    body = page.content.decode()
    assert 'data-testid="fig-reached">0<' in body and "campaign-funnel" in body
    with django_assert_max_num_queries(15):
        listing = client.get(reverse("marketing:campaigns"))
    assert campaign.name in listing.content.decode()
    export = client.get(reverse("marketing:campaigns") + "?export=csv")
    assert export.status_code == 200 and campaign.name in b"".join(export.streaming_content).decode("utf-8-sig")


def test_scope_and_roles(client, org):
    other = make_campaign(org, owner=org.manager2, department=org.sales2, name="二部活动")
    mine = make_campaign(org, owner=org.manager1, department=org.sales1, name="一部活动")
    client.force_login(org.manager1)
    assert client.get(mine.get_absolute_url()).status_code == 200
    assert client.get(other.get_absolute_url()).status_code == 404
    assert "二部活动" not in client.get(reverse("marketing:campaigns")).content.decode()
    assert client.get(reverse("marketing:campaign_create")).status_code == 403  # managers approve, not manage
    client.force_login(org.rep1)
    assert client.get(reverse("marketing:campaigns")).status_code == 403
    assert client.get(mine.get_absolute_url()).status_code == 403
    event = make_event(mine)
    assert (
        client.post(reverse("marketing:registration_add", args=[event.pk]), {"mobile": "13700000001"}).status_code
        == 403
    )


def test_home_shows_running_campaigns_and_approvals(client, org, django_assert_max_num_queries):
    running = make_campaign(org, name="进行中的活动", status=Campaign.Status.RUNNING)
    stats.refresh(running.pk)
    waiting = make_campaign(org, name="待审批活动", status=Campaign.Status.DRAFT, segment=make_segment(org))
    rules.change_status(actor=org.marketing, campaign=waiting, action="submit")
    client.force_login(org.marketing)
    body = client.get("/").content.decode()
    assert "进行中的活动" in body and "待审批活动" not in body  # one's own campaigns are approved by others
    client.force_login(org.director)  # the approver it was routed to
    body = client.get("/").content.decode()
    assert "待审批活动" in body
    client.force_login(org.rep1)
    assert "进行中的活动" not in client.get("/").content.decode()


def test_an_approved_campaign_keeps_what_was_approved(client, org):
    segment = make_segment(org)
    other = make_segment(org, name="别的分群")
    campaign = make_campaign(org, segment=segment, budget=Decimal("1000.00"))
    client.force_login(org.marketing)
    data = {
        "name": "改名",
        "kind": "live",
        "start": "2020-01-01",
        "end": campaign.end.isoformat(),
        "segment": other.pk,
        "budget": "99999",
        "spent": "450.00",
        "goal_reach": 0,
        "goal_registrations": 0,
        "goal_leads": 0,
        "goal_deals": 0,
        "goal_gmv": 0,
    }
    response = client.post(reverse("marketing:campaign_edit", args=[campaign.pk]), data)
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert (campaign.name, campaign.segment, campaign.budget, campaign.spent) == (
        "开放日",
        segment,
        Decimal("1000.00"),
        Decimal("450.00"),
    )
