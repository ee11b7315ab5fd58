"""A month of operation, short (``bench/simulation``; the full run is ``make simulate``): two days
of the demo business with every beat job and the scripted people, every rule checked each day —
and the checks themselves, each shown to catch what it promises on a planted record."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from bench.simulation import dashboards, invariants
from bench.simulation.beat import Beat
from bench.simulation.engine import Simulation
from bench.simulation.invariants import Journal, Org
from config.celery import app
from customers.models import Order
from customers.tests.factories import CustomerFactory
from sales.models import FollowUp, PoolMove, PoolRule, PoolWarning, Reminder, ReminderNotice
from sales.tests.factories import LeadFactory

DAYS = 2
#: Tuesday 31 March: the second day is the first of a new month and quarter
START = datetime.date(2026, 3, 31)
#: what the people must have done for the run to mean something
ACTIVITY = [
    "follow-ups",
    "reminders created",
    "reminders completed",
    "reminders snoozed",
    "warnings answered",
    "pool claims",
    "claims back tried",
    "leads released",
    "leads captured",
    "orders",
    "coupon claims",
    "coupons redeemed",
    "batches configured",
    "batches approved",
    "pushes sent",
    "plans fitted",
]
NOW = timezone.make_aware(datetime.datetime(2026, 12, 7, 10, 0))


@pytest.mark.django_db(transaction=True)
def test_two_days_of_operation_keep_every_rule():
    lines = []
    outcome = Simulation(days=DAYS, seed=1, start=START, out=lines.append).run()
    assert outcome.report() == f"{DAYS} days, all invariants hold", "\n".join(lines)
    assert [name for name in ACTIVITY if outcome.activity[name] == 0] == []


def test_every_beat_entry_of_the_celery_configuration_runs_at_its_times():
    start = timezone.make_aware(datetime.datetime(2026, 12, 7))
    beat = Beat(app, started=start)
    assert sorted(job.name for job in beat.jobs) == sorted(settings.CELERY_BEAT_SCHEDULE)
    moments = beat.moments(start, start + datetime.timedelta(days=1))
    recycle = [timezone.localtime(m).strftime("%H:%M") for m, job, _last in moments if job.name == "sales-recycle-pool"]
    assert recycle == [f"{hour:02d}:15" for hour in range(24)]
    reports = [
        timezone.localtime(m).strftime("%H:%M") for m, job, _last in moments if job.name == "sales-daily-reports"
    ]
    assert reports == ["20:00"]
    assert sum(1 for _m, job, _last in moments if job.name == "sales-dispatch-reminders") == 1440


# --- each check catches what it promises -------------------------------------------------------------


def _rule(org, **values):
    return PoolRule.objects.create(
        department=org.sales1,
        **{"days_without_followup": 15, "days_without_deal": 90, "warn_days": 3, "reclaim_cooldown_days": 7, **values},
    )


def _window():
    return NOW - datetime.timedelta(hours=1), NOW + datetime.timedelta(hours=1)


@pytest.mark.parametrize("days_before, broken", [(10, 1), (100, 0)])
def test_recycling_a_customer_who_bought_inside_the_deal_period_is_reported(org, days_before, broken):
    _rule(org)
    customer = CustomerFactory(owner=None, department=org.sales1, name="王伟")
    placed = NOW - datetime.timedelta(days=days_before)
    Order.objects.create(customer=customer, amount=Decimal("2980.00"), placed_at=placed, created_at=placed)
    PoolWarning.objects.create(
        customer=customer, owner=org.rep2, deadline=NOW.date(), sent_at=NOW - datetime.timedelta(days=4)
    )
    PoolMove.objects.create(customer=customer, from_owner=org.rep2, reason=PoolMove.Reason.RECYCLED_NO_FOLLOWUP, at=NOW)
    found = invariants.check_deal_protection(Org(), *_window())
    assert [(v.rule, v.record) for v in found] == [("deal_protected", f"customer {customer.pk} (王伟)")] * broken


@pytest.mark.parametrize("days_before, broken", [(2, 1), (3, 0)])
def test_recycling_without_a_warning_k_days_before_is_reported(org, days_before, broken):
    _rule(org)
    lead = LeadFactory(owner=None, department=org.sales1, name="李娜")
    PoolWarning.objects.create(
        lead=lead, owner=org.rep2, deadline=NOW.date(), sent_at=NOW - datetime.timedelta(days=days_before)
    )
    PoolMove.objects.create(lead=lead, from_owner=org.rep2, reason=PoolMove.Reason.RECYCLED_NO_FOLLOWUP, at=NOW)
    found = invariants.check_warning_before_recycle(Org(), *_window())
    assert [(v.rule, v.record) for v in found] == [("warned_before_recycle", f"lead {lead.pk} (李娜)")] * broken


@pytest.mark.parametrize("followed_up, broken", [(False, 1), (True, 0)])
def test_a_second_warning_for_the_same_return_date_is_reported(org, followed_up, broken):
    _rule(org)
    lead = LeadFactory(owner=org.rep2, name="张敏")
    PoolWarning.objects.create(
        lead=lead, owner=org.rep2, deadline=datetime.date(2026, 12, 9), sent_at=NOW - datetime.timedelta(days=1)
    )
    if followed_up:
        FollowUp.objects.create(lead=lead, content="回访", created_by=org.rep2, at=NOW - datetime.timedelta(hours=5))
    PoolWarning.objects.create(lead=lead, owner=org.rep2, deadline=datetime.date(2026, 12, 10), sent_at=NOW)
    found = invariants.check_one_warning_per_return_date(Org(), *_window())
    assert [(v.rule, v.record) for v in found] == [("one_warning", f"lead {lead.pk} (张敏)")] * broken


@pytest.mark.parametrize("days_before, broken", [(2, 1), (8, 0)])
def test_claiming_back_a_released_lead_inside_the_cooldown_is_reported(org, days_before, broken):
    _rule(org)
    lead = LeadFactory(owner=org.rep2, name="赵强")
    PoolMove.objects.create(
        lead=lead, from_owner=org.rep2, reason=PoolMove.Reason.RELEASED, at=NOW - datetime.timedelta(days=days_before)
    )
    PoolMove.objects.create(lead=lead, to_owner=org.rep2, reason=PoolMove.Reason.CLAIMED, at=NOW)
    found = invariants.check_cooldown(Org(), *_window())
    assert [(v.rule, v.record) for v in found] == [("cooldown", f"lead {lead.pk} (赵强)")] * broken


def _notice(reminder, offset, sent_at):
    return ReminderNotice.objects.create(reminder=reminder, offset=offset, due_at=reminder.due_at, sent_at=sent_at)


def _notified(user, at, times=1):
    from crm.models import Notification

    for _ in range(times):
        Notification.objects.create(recipient=user, title="提醒", kind="reminder", created_at=at)


def test_a_day_before_notice_sent_once_the_reminder_is_due_is_reported(org):
    reminder = Reminder.objects.create(
        owner=org.rep1,
        title="回访客户",
        due_at=NOW - datetime.timedelta(hours=2),
        created_at=NOW - datetime.timedelta(days=3),
    )
    _notice(reminder, 1440, NOW)
    _notified(org.rep1, NOW)
    found = invariants.check_reminder_notices(Org(), *_window())
    assert [(v.rule, v.record) for v in found] == [
        (
            "notice_not_past",
            f"reminder {reminder.pk} (回访客户, owner rep1 ({org.rep1.last_name}{org.rep1.first_name}))",
        )
    ]


def test_a_notice_for_an_offset_past_when_the_reminder_was_snoozed_is_reported(org):
    snoozed_at = NOW - datetime.timedelta(hours=1)
    due = NOW + datetime.timedelta(minutes=30)
    reminder = Reminder.objects.create(
        owner=org.rep1, title="回访客户", due_at=due, created_at=NOW - datetime.timedelta(days=3)
    )
    journal = Journal()
    journal.reminder_due(reminder.pk, due, snoozed_at)
    sent = NOW - datetime.timedelta(minutes=30)
    _notice(reminder, 120, sent)  # 2 hours before due: already past when it was snoozed
    _notified(org.rep1, sent)
    found = invariants.check_reminder_notices(Org(), *_window(), journal)
    when = invariants.when
    assert [(v.rule, v.detail) for v in found] == [
        (
            "notice_not_past",
            f"notice 120 min before the due time {when(due)} sent {when(sent)}: its time "
            f"{when(due - datetime.timedelta(hours=2))} had already passed when the reminder got that "
            f"due time (set {when(snoozed_at)})",
        )
    ]


def test_a_notice_notified_twice_is_reported(org):
    reminder = Reminder.objects.create(
        owner=org.rep1,
        title="回访客户",
        due_at=NOW + datetime.timedelta(hours=1),
        created_at=NOW - datetime.timedelta(days=3),
    )
    _notice(reminder, 60, NOW)
    _notified(org.rep1, NOW, times=2)
    found = invariants.check_reminder_notices(Org(), *_window())
    assert [(v.rule, v.detail.split(" in ")[0]) for v in found] == [
        ("notice_once", "2 in-app reminder notifications for 1 notices")
    ]


def test_a_coupon_worth_nothing_is_reported(org):
    from coupons.models import Coupon
    from coupons.tests.factories import make_batch

    batch = make_batch(org, discount_type="fixed", amount=Decimal("2.00"), threshold=Decimal("10.00"))
    customer = CustomerFactory(owner=org.rep1)
    coupon = Coupon.objects.create(
        batch=batch,
        code="ZERO0000001",
        status=Coupon.Status.CLAIMED,
        customer=customer,
        channel="app",
        amount=Decimal("0.00"),
        claimed_at=NOW,
    )
    found = invariants.check_coupons(Org(), *_window())
    assert [(v.rule, v.record) for v in found] == [
        ("coupon_not_zero", f"coupon {coupon.pk} (ZERO0000001) of batch {batch.code}")
    ]


def test_a_budget_counter_that_no_row_explains_shows_on_the_coupons_dashboard_recount(org):
    from coupons.models import BudgetAccount
    from coupons.tests.factories import make_budget

    with time_machine.travel(NOW, tick=False):
        account = make_budget(org)
        BudgetAccount.objects.filter(pk=account.pk).update(used=Decimal("5.00"))
        ledger = Org()
        admin = next(u for u in ledger.users.values() if u["username"] == "admin")
        found = dashboards.check_coupons(ledger, admin, timezone.now())
    where = "coupons dashboard of admin (2026-12-01 … 2026-12-31): budget 销售一部 · 2026Q4"
    assert [(v.rule, v.record, v.detail) for v in found] == [
        ("dashboard_recount", f"{where} used", "shows 5.00, the raw rows give 0.00"),
        ("dashboard_recount", f"{where} balance", "shows 9,995.00, the raw rows give 10,000.00"),
    ]


def test_a_stage_stay_that_ends_before_it_starts_is_reported(org):
    from sales import services
    from sales.models import StageHistory

    customer = CustomerFactory(owner=org.rep1)
    opportunity = services.open_opportunity(
        actor=org.rep1, customer=customer, name="数学提高班", amount=Decimal("3600")
    )
    stay = StageHistory.objects.get(opportunity=opportunity)
    StageHistory.objects.filter(pk=stay.pk).update(left_at=stay.entered_at - datetime.timedelta(days=2))
    found = invariants.check_durations(Org(), timezone.now())
    assert [(v.rule, v.record) for v in found] == [
        ("no_negative_duration", f"opportunity {opportunity.pk} in stage {stay.stage.name}")
    ]
