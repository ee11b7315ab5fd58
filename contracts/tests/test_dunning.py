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
