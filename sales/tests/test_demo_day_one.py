"""Day one of ``make run``: the small demo set is a living business, so the first run of every
beat job returns only the handful of records the demo left stale, warns a few owners, sends no
notice for a time already past, and a few reminders are due today."""

import datetime
import importlib
import io

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from config.celery import app as celery_app
from crm.models import Notification
from sales import demo
from sales.models import Lead, PoolMove, PoolWarning, Reminder, ReminderNotice

DAY_ONE = datetime.datetime(2026, 11, 24, 3, 20, tzinfo=datetime.UTC)  # 11:20 in Shanghai


@pytest.mark.django_db(transaction=True)
def test_first_run_of_every_beat_job_on_the_small_demo_set():
    with time_machine.travel(DAY_ONE, tick=False):
        call_command("seed_demo", "--size", "small", stdout=io.StringIO())
        notices_before = ReminderNotice.objects.count()
        results = {}
        for entry in settings.CELERY_BEAT_SCHEDULE.values():  # each job once, as beat starts them
            importlib.import_module(entry["task"].rsplit(".", 1)[0])
            results[entry["task"]] = celery_app.tasks[entry["task"]].apply().get()

    recycled = results["sales.tasks.recycle_pool"]
    assert recycled == {
        "leads": demo.STALE["leads"],
        "customers": demo.STALE["customers"],
        "warned": demo.DUE_SOON["leads"] + demo.DUE_SOON["customers"],
    }
    # every record returned had its owner warned at least three days before; none had bought
    moves = PoolMove.objects.filter(reason__in=("no_followup", "no_deal"))
    assert moves.count() == demo.STALE["leads"] + demo.STALE["customers"]
    for move in moves:
        record = {"lead": move.lead_id} if move.lead_id else {"customer": move.customer_id}
        warning = PoolWarning.objects.get(owner=move.from_owner, **record)
        assert move.at - warning.sent_at >= datetime.timedelta(days=3)
        assert move.customer is None or move.customer.last_order_at is None
    # a few owners warned today, each once
    warned_today = Notification.objects.filter(kind="pool_warning", created_at=DAY_ONE)
    fresh = PoolWarning.objects.filter(sent_at=DAY_ONE)
    assert fresh.count() == demo.DUE_SOON["leads"] + demo.DUE_SOON["customers"]
    assert warned_today.count() == len(set(fresh.values_list("owner_id", flat=True))) == 3
    # due in two days, but a record returns no sooner than three days after its owner is warned
    assert set(fresh.values_list("deadline", flat=True)) == {timezone.localdate(DAY_ONE) + datetime.timedelta(days=3)}
    # no reminder notice goes out for a time that had passed: nothing was due in this minute
    assert results["sales.tasks.dispatch_reminders"] == 0
    assert ReminderNotice.objects.count() == notices_before
    assert Notification.objects.filter(kind="reminder").count() == 0
    # a few reminders due today, some overdue from the last two days, none older
    today = timezone.localtime(DAY_ONE).replace(hour=0, minute=0, second=0, microsecond=0)
    open_reminders = Reminder.objects.filter(status=Reminder.Status.OPEN)
    assert (
        open_reminders.filter(due_at__gte=today, due_at__lt=today + datetime.timedelta(days=1)).count()
        == demo.REMINDERS_DUE_TODAY
    )
    assert open_reminders.filter(due_at__lt=today - datetime.timedelta(days=2)).count() == 0
    assert open_reminders.filter(next_notice_at__lt=DAY_ONE).count() == 0
    # the owned open leads were all touched lately: nothing else is near the pool
    assert (
        Lead.objects.filter(
            owner__isnull=False,
            status__in=Lead.OPEN_STATUSES,
            last_followup_at__lt=DAY_ONE - datetime.timedelta(days=25),
        ).count()
        == demo.DUE_SOON["leads"]
    )
