import datetime
import threading

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from crm.models import Notification
from customers.tests.factories import CustomerFactory
from sales import services
from sales.models import Reminder, ReminderNotice

T0 = datetime.datetime(2026, 11, 24, 9, 0, tzinfo=datetime.UTC)


def titles(user):
    return list(
        Notification.objects.filter(recipient=user).order_by("created_at", "id").values_list("title", flat=True)
    )


@pytest.fixture
def reminder(org):
    with time_machine.travel(T0, tick=False):
        customer = CustomerFactory(owner=org.rep1, name="张妈妈")
        followup = services.record_followup(
            actor=org.rep1, customer=customer, content="聊了试听课", next_followup_at=T0 + datetime.timedelta(days=2)
        )
    return followup.reminders.get()


def test_followup_with_next_time_creates_a_reminder(reminder, org):
    assert reminder.owner == org.rep1 and reminder.customer.name == "张妈妈"
    assert reminder.due_at == T0 + datetime.timedelta(days=2)


def test_notices_go_out_one_day_and_one_hour_before_and_when_due_each_once(reminder, org):
    due = reminder.due_at
    for moment, expected in [
        (due - datetime.timedelta(days=1, minutes=1), 0),
        (due - datetime.timedelta(days=1), 1),
        (due - datetime.timedelta(hours=1, minutes=1), 1),
        (due - datetime.timedelta(hours=1), 2),
        (due, 3),
    ]:
        with time_machine.travel(moment, tick=False):
            services.dispatch_due()
            services.dispatch_due()  # a second tick sends nothing twice
        assert len(titles(org.rep1)) == expected, moment
    assert ReminderNotice.objects.filter(reminder=reminder).count() == 3


def test_overdue_reminder_escalates_to_the_manager_once(reminder, org):
    org.sales1.manager = org.manager1
    org.sales1.save()
    with time_machine.travel(reminder.due_at + datetime.timedelta(hours=5), tick=False):
        services.dispatch_due()
        services.dispatch_due()
    manager_titles = titles(org.manager1)
    assert len(manager_titles) == 1 and "张妈妈" in manager_titles[0]
    assert len(titles(org.rep1)) == 3  # the late notices were still sent, once each


def test_completed_reminder_sends_nothing_more(reminder, org):
    services.complete_reminder(reminder=reminder)
    with time_machine.travel(reminder.due_at + datetime.timedelta(days=1), tick=False):
        assert services.dispatch_due() == 0


def test_rescheduling_starts_the_notices_over(reminder, org):
    with time_machine.travel(reminder.due_at, tick=False):
        services.dispatch_due()
        sent = len(titles(org.rep1))
        services.reschedule_reminder(reminder=reminder, due_at=reminder.due_at + datetime.timedelta(days=3))
    with time_machine.travel(reminder.due_at + datetime.timedelta(days=3), tick=False):
        services.dispatch_due()
    assert len(titles(org.rep1)) == sent + 3


def test_a_worker_killed_mid_batch_loses_nothing_and_duplicates_nothing(reminder, org, monkeypatch):
    from crm import notifications

    real = notifications.notify_many
    calls = {"n": 0}

    def crash_once(items):
        calls["n"] += 1
        if calls["n"] == 1:
            raise SystemExit("worker killed")
        return real(items)

    import sales.services.reminders as module

    monkeypatch.setattr(module, "notify_many", crash_once)
    with time_machine.travel(reminder.due_at, tick=False):
        with pytest.raises(SystemExit):
            services.dispatch_due()
        assert titles(org.rep1) == [] and not ReminderNotice.objects.exists()
        services.dispatch_due()
    assert len(titles(org.rep1)) == 3


def test_broker_down_does_not_lose_notices(reminder, org, monkeypatch):
    """Notices are rows written by the dispatcher itself; outside channels wait in the outbox."""
    from unittest import mock

    org.rep1.notify_by_email = True
    org.rep1.save()
    with mock.patch("crm.tasks.send_delivery.apply_async", side_effect=ConnectionError("broker down")):
        with time_machine.travel(reminder.due_at, tick=False):
            services.dispatch_due()
    assert len(titles(org.rep1)) == 3
    from crm.models import Delivery

    assert Delivery.objects.filter(status="pending").count() == 3


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_at_once_send_each_notice_once(postgres):
    from crm.tests.factories import OrgFixture

    org = OrgFixture()
    with time_machine.travel(T0, tick=False):
        for n in range(60):
            customer = CustomerFactory(owner=org.rep1)
            services.create_reminder(
                owner=org.rep1, title=f"r{n}", due_at=T0 + datetime.timedelta(hours=2), customer=customer
            )
    barrier = threading.Barrier(4)
    errors = []

    def run():
        try:
            barrier.wait()
            with time_machine.travel(T0 + datetime.timedelta(hours=3), tick=False):
                services.dispatch_due(batch_size=7)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert errors == []
    # each reminder: 1 hour before and due (the 1-day offset was before it existed)
    assert Notification.objects.filter(recipient=org.rep1).count() == 120
    assert ReminderNotice.objects.count() == 120
    assert Reminder.objects.filter(next_notice_at__lte=T0 + datetime.timedelta(hours=3)).count() == 0


def test_reminder_offsets_validation(org):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.create_reminder(owner=org.rep1, title="x", due_at=timezone.now(), offsets="abc")
