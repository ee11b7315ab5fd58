"""The manager's home: the customer figures from one grouped scan, the team figures from indexed
counts — the same numbers as counting the scope directly, in a bounded number of queries."""

import datetime
import re

import pytest
import time_machine
from django.conf import settings

from crm import permissions
from customers.models import Customer
from customers.tests.factories import CustomerFactory
from sales import services
from sales.home import count_in_scope, month_start_of
from sales.models import FollowUp, Opportunity, Reminder

T0 = datetime.datetime(2026, 11, 24, 1, 0, tzinfo=datetime.UTC)


@pytest.fixture
def client(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def data(org, clock):
    old = T0 - datetime.timedelta(days=90)
    with time_machine.travel(old, tick=False):
        for _ in range(3):
            CustomerFactory(owner=org.rep1)
        CustomerFactory(owner=org.rep3)
        CustomerFactory(owner=None, department=org.sales1)  # in the pool of sales1
        services.open_opportunity(
            actor=org.rep1, customer=Customer.objects.filter(owner=org.rep1).first(), name="老商机"
        )
    for _ in range(2):
        CustomerFactory(owner=org.rep1)
    CustomerFactory(owner=org.rep2)
    CustomerFactory(owner=org.manager1, department=org.sales2)  # the manager's own, outside their departments
    customer = Customer.objects.filter(owner=org.rep1).first()
    services.record_followup(actor=org.rep1, customer=customer, content="电话沟通")
    services.record_followup(actor=org.rep3, customer=Customer.objects.filter(owner=org.rep3).first(), content="微信")
    services.create_reminder(owner=org.rep1, title="逾期", due_at=T0 - datetime.timedelta(hours=2), customer=customer)
    services.create_reminder(
        owner=org.manager1, title="我的逾期", due_at=T0 - datetime.timedelta(hours=1), customer=customer
    )
    return org


def _stat(page, testid):
    return re.search(rf'data-testid="{testid}">([^<]*)<', page).group(1)


@pytest.mark.parametrize("username", ["manager1", "director", "admin"])
def test_home_figures_match_counting_the_scope(client, data, username, django_assert_max_num_queries):
    org = data
    user = getattr(org, username)
    visible = permissions.visible(user, Customer.objects.all())
    since = T0 - datetime.timedelta(days=30)
    client.force_login(user)
    with django_assert_max_num_queries(30):
        page = client.get("/").content.decode()
    assert _stat(page, "customer-total") == str(visible.count())
    owners = re.findall(r"<tr><td>([^<]*)</td><td class=\"text-end\">(\d+)</td><td class=\"text-end\">(\d+)</td>", page)
    expected = {}
    for customer in visible.select_related("owner"):
        name = (
            (f"{customer.owner.last_name}{customer.owner.first_name}" or customer.owner.username)
            if customer.owner
            else "Public pool"
        )
        total, recent = expected.get(name, (0, 0))
        expected[name] = (total + 1, recent + (customer.created_at >= since))
    assert {name: (int(total), int(recent)) for name, total, recent in owners} == expected
    assert [int(total) for _name, total, _recent in owners] == sorted((t for t, _r in expected.values()), reverse=True)
    assert f'New in the last 30 days</div><div class="value">{visible.filter(created_at__gte=since).count()}<' in page


@pytest.mark.parametrize("username", ["rep1", "manager1", "manager2", "director", "admin"])
def test_indexed_counts_equal_the_scope_counts(data, username):
    user = getattr(data, username)
    start = month_start_of(T0)
    for queryset in (
        FollowUp.objects.filter(at__gte=start),
        Opportunity.objects.all(),
        Customer.objects.all(),
        Reminder.objects.filter(due_at__lt=T0),
    ):
        assert count_in_scope(user, queryset) == permissions.visible(user, queryset).count(), queryset.model


def test_team_figures_on_the_manager_home(client, data):
    org = data
    client.force_login(org.manager1)
    page = client.get("/").content.decode()
    team = page.split('data-testid="panel-team"')[1].split('data-testid="panel-approvals"')[0]
    scope = permissions.visible(org.manager1, Customer.objects.all())
    new = scope.filter(created_at__gte=month_start_of(T0)).count()
    followups = permissions.visible(org.manager1, FollowUp.objects.filter(at__gte=month_start_of(T0))).count()
    overdue = permissions.visible(org.manager1, Reminder.objects.filter(status="open", due_at__lt=T0)).count()
    values = re.findall(r'<div class="value[^"]*">([^<]*)</div>', team)
    assert values[1:] == [str(new), str(followups), str(overdue)]  # after the deals won
    assert (new, followups, overdue) == (4, 1, 2)  # rep3's follow-up is outside sales1
    stuck = page.split('data-testid="panel-stuck"')[1]
    assert "老商机" in stuck and re.search(r'text-bg-warning">1<', stuck)
