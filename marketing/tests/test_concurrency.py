"""Parallel requests on PostgreSQL: an event never takes more people than its capacity, a touch is
built and sent once however many press Send, a nurture step goes out once with two runners."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from crm.tests.parallel import run_parallel as _run_parallel
from customers.tests.factories import CustomerFactory
from marketing.channels import LoggingBackend
from marketing.models import Enrollment, Event, Message, NurturePlan, NurtureStep, Registration, Touch
from marketing.services import campaigns as rules
from marketing.services import nurture, sending

from .factories import make_campaign, make_event, make_segment, make_touch

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def run_parallel(targets):
    return _run_parallel(targets, refusals=[(ValidationError, lambda exc: "refused: " + " ".join(exc.messages))])


@pytest.fixture
def org(postgres):
    from crm.tests.factories import OrgFixture

    return OrgFixture()


def test_capacity_holds_under_parallel_registrations(org):
    event = make_event(make_campaign(org), capacity=5)
    people = [CustomerFactory(owner=org.rep1) for _ in range(16)]
    results = run_parallel([lambda c=c: rules.register(event=event, customer=c) for c in people])
    assert sum(1 for r in results if isinstance(r, Registration)) == 5
    assert Registration.objects.filter(event=event).count() == 5
    assert Event.objects.get(pk=event.pk).registered_count == 5


def test_same_person_registers_once(org):
    event = make_event(make_campaign(org))
    results = run_parallel([lambda: rules.register(event=event, mobile="13700000077", name="同一人") for _ in range(8)])
    assert Registration.objects.filter(event=event).count() == 1
    assert Event.objects.get(pk=event.pk).registered_count == 1
    assert len(results) == 8


def test_pressing_send_twice_sends_once(org):
    for _ in range(20):
        CustomerFactory(owner=org.rep1)
    campaign = make_campaign(org, segment=make_segment(org))
    touch = make_touch(campaign)
    results = run_parallel([lambda: sending.start_send(actor=org.marketing, touch=touch) for _ in range(4)])
    assert sum(1 for r in results if isinstance(r, Touch)) == 1
    sending.deliver_touch(touch.pk)
    assert Message.objects.filter(touch=touch).count() == 20
    assert Message.objects.filter(touch=touch, status=Message.Status.SENT).count() == 20
    assert len(LoggingBackend.outbox) == 20


def test_two_nurture_runners_send_each_step_once(org):
    for _ in range(30):
        CustomerFactory(owner=org.rep1)
    plan = NurturePlan.objects.create(name="p", segment=make_segment(org), channel="sms", owner=org.marketing)
    NurtureStep.objects.create(plan=plan, day=0, body="hello")
    NurtureStep.objects.create(plan=plan, day=2, body="again")
    nurture.start(plan=plan)
    run_parallel([nurture.run for _ in range(3)])
    later = timezone.now() + datetime.timedelta(days=2, minutes=1)
    run_parallel([lambda: nurture.run(now=later) for _ in range(3)])
    assert Message.objects.filter(enrollment__plan=plan).count() == 60
    assert len(LoggingBackend.outbox) == 60
    assert Enrollment.objects.filter(plan=plan, status=Enrollment.Status.COMPLETED).count() == 30
