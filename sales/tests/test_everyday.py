"""What a rep relies on every day: the follow-up button on every record page, conversion keeping
reminders and tasks, a truthful ownership history, and reminders that never announce the past."""

import datetime

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from crm.models import Notification
from customers.tests.factories import CustomerFactory
from sales import services
from sales.models import Lead, Reminder, Task
from sales.tests.factories import LeadFactory

T0 = datetime.datetime(2026, 11, 24, 1, 0, tzinfo=datetime.UTC)


@pytest.fixture
def zh(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    return client


# --- 写跟进 on every record page ----------------------------------------------------------------


def _followup_link(page):
    start = page.index('data-testid="write-followup"')
    tag = page[page.rindex("<a", 0, start) : page.index(">", start)]
    return tag, page[start : page.index("</a>", start)]


def test_lead_customer_and_opportunity_pages_each_offer_write_a_followup(zh, org):
    lead = LeadFactory(owner=org.rep1)
    customer = CustomerFactory(owner=org.rep1)
    opportunity = services.open_opportunity(actor=org.rep1, customer=customer, name="暑期班")
    zh.force_login(org.rep1)
    for url, target in [
        (f"/sales/leads/{lead.pk}/", f"/sales/followups/new/?lead={lead.pk}"),
        (f"/customers/{customer.pk}/", f"/sales/followups/new/?customer={customer.pk}"),
        (
            f"/sales/opportunities/{opportunity.pk}/",
            f"/sales/followups/new/?customer={customer.pk}&amp;opportunity={opportunity.pk}",
        ),
    ]:
        tag, text = _followup_link(zh.get(url).content.decode())
        assert f'href="{target}"' in tag, url
        assert "写跟进" in text, url
    assert zh.get(f"/sales/followups/new/?lead={lead.pk}").status_code == 200


def test_marketing_sees_no_followup_button_on_a_customer(zh, org):
    customer = CustomerFactory(owner=org.rep1)
    zh.force_login(org.marketing)
    assert 'data-testid="write-followup"' not in zh.get(f"/customers/{customer.pk}/").content.decode()


# --- conversion keeps the lead's reminders and tasks ---------------------------------------------


def test_converting_a_lead_carries_its_open_reminders_and_tasks_to_the_customer(zh, org):
    lead = services.capture_lead(name="周女士", mobile="13900001234", source="website", owner=org.rep1)
    services.record_followup(
        actor=org.rep1, lead=lead, content="约了试听", next_followup_at=timezone.now() + datetime.timedelta(days=2)
    )
    services.create_task(
        actor=org.rep1,
        assignee=org.rep1,
        title="寄送课程资料",
        lead=lead,
        due_at=timezone.now() + datetime.timedelta(days=1),
    )
    customer, _opportunity = services.convert_lead(lead=Lead.objects.get(pk=lead.pk), actor=org.rep1)
    assert Reminder.objects.filter(customer=customer, status=Reminder.Status.OPEN).count() == 2
    assert list(Task.objects.filter(customer=customer).values_list("title", flat=True)) == ["寄送课程资料"]
    zh.force_login(org.rep1)
    page = zh.get(f"/customers/{customer.pk}/").content.decode()
    assert "寄送课程资料" in page and "跟进周女士" in page.replace(" ", "")


# --- the ownership history says "public pool" only when the record was in it ------------------


def test_a_lead_assigned_on_arrival_and_converted_never_shows_the_pool_in_its_history(zh, org):
    lead = services.capture_lead(name="郑先生", mobile="13900004321", source="website", owner=org.rep1)
    customer, _opportunity = services.convert_lead(lead=lead, actor=org.rep1)
    zh.force_login(org.rep1)
    customer_page = zh.get(f"/customers/{customer.pk}/").content.decode()
    assert "公海 →" not in customer_page
    lead_page = zh.get(f"/sales/leads/{lead.pk}/").content.decode()
    moves = lead_page[lead_page.index('data-testid="moves"') :]
    assert "公海" not in moves[: moves.index("</table>")]


def test_a_claimed_customer_shows_the_pool_in_its_history(zh, org):
    from sales.models import PoolRule

    PoolRule.objects.create(department=org.region)
    customer = CustomerFactory(owner=None, department=org.team1, name="公海客户")
    services.claim_customer(user=org.rep1, customer_id=customer.pk)
    zh.force_login(org.rep1)
    assert "公海 →" in zh.get(f"/customers/{customer.pk}/").content.decode()


# --- reminders never announce a time already past -----------------------------------------------


def _titles(user):
    return list(Notification.objects.filter(recipient=user).order_by("id").values_list("title", flat=True))


def test_a_reminder_created_overdue_sends_no_advance_notice(org):
    customer = CustomerFactory(owner=org.rep1, name="钱妈妈")
    with time_machine.travel(T0, tick=False):
        services.create_reminder(
            owner=org.rep1, title="回访钱妈妈", due_at=T0 - datetime.timedelta(hours=2), customer=customer
        )
        services.dispatch_due()
    assert _titles(org.rep1) == []


def test_a_reminder_created_thirty_minutes_ahead_skips_the_day_and_hour_notices(org):
    customer = CustomerFactory(owner=org.rep1)
    with time_machine.travel(T0, tick=False):
        services.create_reminder(
            owner=org.rep1, title="回访", due_at=T0 + datetime.timedelta(minutes=30), customer=customer
        )
        services.dispatch_due()
    with time_machine.travel(T0 + datetime.timedelta(minutes=30), tick=False):
        services.dispatch_due()
    assert len(_titles(org.rep1)) == 1
    assert _titles(org.rep1)[0].startswith("已到期：回访")


def test_a_rescheduled_reminder_skips_offsets_already_past_at_the_reschedule(org):
    customer = CustomerFactory(owner=org.rep1)
    with time_machine.travel(T0, tick=False):
        reminder = services.create_reminder(
            owner=org.rep1, title="回访", customer=customer, due_at=T0 + datetime.timedelta(days=5)
        )
    with time_machine.travel(T0 + datetime.timedelta(days=1), tick=False):
        services.reschedule_reminder(reminder=reminder, due_at=T0 + datetime.timedelta(days=1, hours=3))
        services.dispatch_due()
    assert _titles(org.rep1) == []  # "in 1 day" was already past when it was moved
    with time_machine.travel(T0 + datetime.timedelta(days=1, hours=2), tick=False):
        services.dispatch_due()
    assert len(_titles(org.rep1)) == 1
