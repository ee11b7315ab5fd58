import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from contracts.models import DunningNotice
from contracts.services import payments
from contracts.services.dunning import dispatch_overdue
from contracts.tasks import dispatch_dunning
from crm.models import Notification

from .factories import make_contract


@pytest.fixture
def overdue(org, won_stage):
    org.sales1.manager = org.manager1
    org.sales1.save()
    # first instalment due 10 days ago, the next 20 days from now
    return make_contract(org.rep1, won_stage, first_due=timezone.localdate() - datetime.timedelta(days=10))


def test_an_overdue_instalment_reminds_its_owner_once(org, overdue):
    assert dispatch_overdue() == 1
    assert dispatch_overdue() == 0
    dispatch_dunning.delay()
    notices = Notification.objects.filter(kind="dunning")
    assert [(n.recipient_id, n.title) for n in notices] == [
        (org.rep1.pk, f"Overdue 10 days: {overdue.number} instalment 1, 10,000.00 outstanding")
    ]
    # first seen 10 days late: one notice (7 days), the 1-day marker written with it
    assert sorted(DunningNotice.objects.values_list("offset_days", flat=True)) == [1, 7]


def test_it_escalates_to_the_manager_at_fifteen_days(org, overdue):
    today = timezone.localdate()
    dispatch_overdue(today=today)
    sent = dispatch_overdue(today=today + datetime.timedelta(days=5))
    recipients = list(
        Notification.objects.filter(kind="dunning").order_by("id").values_list("recipient__username", flat=True)
    )
    assert (sent, recipients) == (2, ["rep1", "rep1", "manager1"])


def test_a_settling_payment_stops_the_reminders(org, overdue):
    dispatch_overdue()
    payments.record_payment(contract=overdue, amount=Decimal("10000"), received_on=timezone.localdate(), actor=org.rep1)
    assert dispatch_overdue(today=timezone.localdate() + datetime.timedelta(days=10)) == 0


def test_a_partial_payment_keeps_reminding(org, overdue):
    dispatch_overdue()
    payments.record_payment(contract=overdue, amount=Decimal("5000"), received_on=timezone.localdate(), actor=org.rep1)
    assert dispatch_overdue(today=timezone.localdate() + datetime.timedelta(days=5)) == 2


def test_reminding_one_instalment_never_silences_another(org, won_stage, overdue):
    other = make_contract(org.rep2, won_stage, first_due=timezone.localdate() - datetime.timedelta(days=1))
    assert dispatch_overdue() == 2
    titles = sorted(Notification.objects.filter(kind="dunning").values_list("title", flat=True))
    assert titles == sorted(
        [
            f"Overdue 10 days: {overdue.number} instalment 1, 10,000.00 outstanding",
            f"Overdue 1 days: {other.number} instalment 1, 10,000.00 outstanding",
        ]
    )


def test_the_beat_schedules_the_dunning(settings):
    assert settings.CELERY_BEAT_SCHEDULE["contracts-dispatch-dunning"]["task"] == "contracts.tasks.dispatch_dunning"


def test_an_instalments_own_levels_remind_before_due_on_their_channel_and_to_the_named_person(org, won_stage):
    from contracts.models import DunningLevel
    from contracts.services.dunning import Level, set_levels
    from crm.models import Delivery

    org.admin.email = "finance@example.com"
    org.admin.save()
    today = timezone.localdate()
    contract = make_contract(org.rep1, won_stage, first_due=today + datetime.timedelta(days=3))
    first = contract.instalments.get(sequence=1)
    set_levels(
        instalment=first,
        levels=[
            Level(-3, channel=DunningLevel.Channel.IN_APP),
            Level(0, channel=DunningLevel.Channel.EMAIL, responsible="user", user_id=org.admin.pk),
        ],
        actor=org.manager1,
    )
    assert dispatch_overdue(today=today) == 1
    assert dispatch_overdue(today=today) == 0
    assert dispatch_overdue(today=today + datetime.timedelta(days=3)) == 2
    notices = Notification.objects.filter(kind="dunning").order_by("id")
    assert [(n.recipient.username, n.title) for n in notices] == [
        ("rep1", f"Due in 3 days: {contract.number} instalment 1, 10,000.00 outstanding"),
        ("rep1", f"Due today: {contract.number} instalment 1, 10,000.00 outstanding"),
        ("admin", f"Escalated: Due today: {contract.number} instalment 1, 10,000.00 outstanding ({org.rep1})"),
    ]
    # the in-app level (3 days before) sent nothing outside; the e-mail level mails both people
    assert sorted(Delivery.objects.values_list("channel", "target")) == [
        ("email", "finance@example.com"),
        ("email", org.rep1.email),
    ]


def test_an_instalments_own_levels_leave_the_others_on_the_defaults(org, won_stage, overdue):
    from contracts.services.dunning import Level, set_levels

    other = make_contract(org.rep2, won_stage, first_due=timezone.localdate() - datetime.timedelta(days=10))
    set_levels(instalment=other.instalments.get(sequence=1), levels=[Level(30)], actor=org.manager1)
    assert dispatch_overdue() == 1
    assert list(Notification.objects.filter(kind="dunning").values_list("recipient__username", flat=True)) == ["rep1"]


def test_default_levels_replace_the_settings(org, overdue):
    from contracts.services.dunning import Level, set_levels

    set_levels(instalment=None, levels=[Level(5, responsible="manager")], actor=org.admin)
    assert dispatch_overdue() == 2
    recipients = (
        Notification.objects.filter(kind="dunning").order_by("id").values_list("recipient__username", flat=True)
    )
    assert list(recipients) == ["rep1", "manager1"]


def test_a_credit_offset_against_an_instalment_stops_its_reminders_and_no_others(org, won_stage, overdue):
    other = make_contract(org.rep2, won_stage, first_due=timezone.localdate() - datetime.timedelta(days=10))
    payments.record_payment(
        contract=overdue, amount=Decimal("10000"), received_on=timezone.localdate(), actor=org.rep1, prepayment=True
    )
    assert dispatch_overdue() == 2  # a credit not yet offset settles nothing
    payments.apply_credit(contract=overdue, actor=org.rep1)
    later = timezone.localdate() + datetime.timedelta(days=5)
    assert dispatch_overdue(today=later) == 2  # rep2's instalment: rep2 and the manager
    titles = Notification.objects.filter(kind="dunning").order_by("-id").values_list("title", flat=True)[:2]
    assert all(other.number in title for title in titles)
