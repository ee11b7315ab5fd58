"""Follow-ups due on the calendar: each customer's and lead's next follow-up time (its latest
follow-up's), on its owner's calendar and in the team view, in flat queries, phone list included."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.tests.factories import CustomerFactory
from sales.models import FollowUp
from sales.services.followups import record_followup
from sales.tests.factories import LeadFactory

DAY = timezone.localdate() + datetime.timedelta(days=3)


def at(hour, day=DAY):
    return datetime.datetime.combine(day, datetime.time(hour, 0), timezone.get_current_timezone())


def due(subject, hour, *, by, **extra):
    """A follow-up as an import or the simulation stores it: its next time, no reminder."""
    kind = "lead" if subject.__class__.__name__ == "Lead" else "customer"
    return FollowUp.objects.create(
        **{kind: subject}, content="电话沟通", next_followup_at=at(hour), created_by=by, **extra
    )


def phone_list(page):
    """The phone list of the page (the calendar's list of days under the grid)."""
    return page.content.decode().split('data-testid="calendar-days"', 1)[1].split("</div></div>", 1)[0]


@pytest.fixture
def wang(org):
    return CustomerFactory(name="王女士", owner=org.rep1, department=org.team1)


def test_a_rep_sees_the_follow_up_due_of_a_customer_on_the_phone_list_linked_to_it(client, org, wang):
    followup = due(wang, 15, by=org.rep1)
    client.force_login(org.rep1)
    page = client.get(f"/calendar/?view=day&date={DAY:%Y-%m-%d}")
    listed = phone_list(page)
    assert f'data-key="followup:{followup.pk}"' in listed
    assert f'<a href="{reverse("customers:detail", args=[wang.pk])}">待跟进：王女士</a>' in listed
    assert "15:00" in listed


def test_a_later_follow_up_replaces_the_next_time_of_an_earlier_one(org, wang):
    from crm import calendar

    due(wang, 9, by=org.rep1, at=timezone.now() - datetime.timedelta(days=2))
    latest = due(wang, 16, by=org.rep1, at=timezone.now() - datetime.timedelta(days=1))
    items = [i for i in calendar.items_for([org.rep1], at(0), at(23)) if i.source == "followup"]
    assert [(i.pk, timezone.localtime(i.start).hour) for i in items] == [(latest.pk, 16)]


def test_a_follow_up_with_its_open_reminder_is_shown_once(client, org, wang):
    record_followup(actor=org.rep1, customer=wang, content="约了试听", next_followup_at=at(11))
    client.force_login(org.rep1)
    listed = phone_list(client.get(f"/calendar/?view=day&date={DAY:%Y-%m-%d}"))
    assert (listed.count("王女士"), listed.count('data-key="reminder:'), listed.count('data-key="followup:')) == (
        1,
        1,
        0,
    )


def test_a_leads_follow_up_due_links_to_the_lead(org):
    from crm import calendar

    lead = LeadFactory(name="张先生", owner=org.rep1)
    due(lead, 10, by=org.rep1)
    converted = LeadFactory(name="已转化", owner=org.rep1, status="converted")
    due(converted, 10, by=org.rep1)
    items = [i for i in calendar.items_for([org.rep1], at(0), at(23)) if i.source == "followup"]
    assert [(i.title, i.url, i.owner_id) for i in items] == [
        ("待跟进：张先生", reverse("sales:lead", args=[lead.pk]), org.rep1.pk)
    ]


def test_the_follow_up_is_on_the_current_owners_calendar(org, wang):
    from crm import calendar

    due(wang, 15, by=org.rep2)  # written by a colleague before the hand-over
    keys = lambda user: [i.source for i in calendar.items_for([user], at(0), at(23))]  # noqa: E731
    assert (keys(org.rep1), keys(org.rep2)) == (["followup"], [])


def test_the_team_view_shows_the_teams_follow_ups_due_and_a_rep_cannot_ask_for_it(client, org, wang):
    due(wang, 15, by=org.rep1)
    day = f"{DAY:%Y-%m-%d}"
    client.force_login(org.manager1)
    assert "待跟进：王女士" in phone_list(client.get(f"/calendar/?view=day&date={day}&team=1"))
    client.force_login(org.rep2)
    assert "待跟进：王女士" not in client.get(f"/calendar/?view=day&date={day}&team=1").content.decode()


def test_a_week_of_follow_ups_due_costs_the_same_queries_as_one(client, org, django_assert_max_num_queries):
    client.force_login(org.manager1)
    url = f"/calendar/?view=week&date={DAY:%Y-%m-%d}&team=1"
    due(CustomerFactory(owner=org.rep1, department=org.team1), 9, by=org.rep1)
    with django_assert_max_num_queries(14) as one:
        client.get(url)
    for index in range(40):
        owner = org.rep1 if index % 2 else org.rep2
        due(CustomerFactory(owner=owner, department=owner.department), 8 + index % 10, by=owner)
    with django_assert_max_num_queries(len(one.captured_queries)):
        page = client.get(url)
    assert page.context["count"] == 41
