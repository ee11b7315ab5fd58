"""Nurture plans: enrolment from the segment, steps on their days, stop rules, contact protection,
exactly one message per step."""

import datetime

import pytest
import time_machine
from django.urls import reverse

from customers.tests.factories import CustomerFactory, make_order
from marketing.channels import LoggingBackend
from marketing.models import Enrollment, MarketingSettings, Message, NurturePlan, NurtureStep
from marketing.services import nurture
from marketing.services.campaigns import opt_out
from sales.services.followups import mark_inbound

from .factories import make_segment

START = datetime.datetime(2026, 11, 2, 10, 0, tzinfo=datetime.UTC)


@pytest.fixture
def plan(org):
    with time_machine.travel(START, tick=False):
        people = [CustomerFactory(name=f"N{i}", owner=org.rep1) for i in range(3)]
        segment = make_segment(org)
        plan = NurturePlan.objects.create(name="新客培育", segment=segment, channel="sms", owner=org.marketing)
        for day, body in ((0, "欢迎{name}"), (3, "育儿文章"), (10, "试听课邀请")):
            NurtureStep.objects.create(plan=plan, day=day, body=body)
        nurture.start(plan=plan)
    return plan, people


def run_at(days, hours=0):
    with time_machine.travel(START + datetime.timedelta(days=days, hours=hours), tick=False):
        return nurture.run()


def steps_sent(customer):
    return sorted(
        Message.objects.filter(enrollment__customer=customer, status=Message.Status.SENT).values_list(
            "step_index", flat=True
        )
    )


def test_steps_go_out_on_their_days(org, plan):
    plan, people = plan
    assert Enrollment.objects.filter(plan=plan).count() == 3
    assert run_at(0)["sent"] == 3
    assert run_at(1)["sent"] == 0
    assert run_at(3)["sent"] == 3
    assert run_at(10)["sent"] == 3
    assert [steps_sent(p) for p in people] == [[0, 1, 2]] * 3
    assert set(Enrollment.objects.values_list("status", flat=True)) == {Enrollment.Status.COMPLETED}
    assert any("欢迎N0" in o.text for o in LoggingBackend.outbox)


def test_running_twice_sends_each_step_once(org, plan):
    plan, people = plan
    run_at(0)
    run_at(0, hours=1)
    run_at(3)
    run_at(3)
    assert Message.objects.filter(enrollment__plan=plan).count() == 6


def test_reply_order_and_opt_out_stop_the_plan(org, plan):
    plan, (replied, ordered, opted) = plan
    run_at(0)
    with time_machine.travel(START + datetime.timedelta(days=1), tick=False):
        mark_inbound(customer=replied)
        make_order(ordered, "99.00")
        opt_out(customer=opted, channel="sms")
    run_at(3)
    reasons = dict(Enrollment.objects.values_list("customer__name", "stop_reason"))
    assert reasons == {"N0": "replied", "N1": "ordered", "N2": "opted_out"}
    assert Message.objects.filter(enrollment__plan=plan).count() == 3  # only day 0


def test_resting_and_capped_people_wait_a_day(org, plan):
    plan, people = plan
    settings = MarketingSettings.current()
    settings.push_cap = 1
    settings.save()
    run_at(0)
    people[0].resting_since = START
    people[0].save()
    outcome = run_at(3)  # people[1..2] got day 0 within the 7-day window: capped
    assert outcome["deferred"] == 3 and outcome["sent"] == 0
    outcome = run_at(8)  # day 0 message now outside the window; people[0] still rests
    assert outcome["sent"] == 2 and outcome["deferred"] == 1


def test_new_segment_members_join_the_next_day(org, plan):
    plan, people = plan
    with time_machine.travel(START + datetime.timedelta(hours=5), tick=False):
        CustomerFactory(name="late", owner=org.rep1)
    run_at(0, hours=6)
    assert Enrollment.objects.filter(plan=plan).count() == 3
    run_at(1, hours=1)
    assert Enrollment.objects.filter(plan=plan).count() == 4


def test_stopping_the_plan_stops_everyone(org, plan):
    plan, people = plan
    nurture.stop(plan=plan)
    assert run_at(0)["sent"] == 0
    assert set(Enrollment.objects.values_list("stop_reason", flat=True)) == {"plan_stopped"}


def test_plan_pages(client, org, plan, django_assert_max_num_queries):
    plan, people = plan
    run_at(0)
    client.force_login(org.marketing)
    with django_assert_max_num_queries(15):
        page = client.get(plan.get_absolute_url())
    assert 'data-testid="plan-active">3<' in page.content.decode()
    assert client.get(reverse("marketing:plans")).status_code == 200
    form = client.get(reverse("marketing:plan_edit", args=[plan.pk]))
    assert form.content.decode().count('data-testid="step-form"') == 5  # 3 steps + 2 empty


def test_create_plan_through_the_form(client, org):
    segment = make_segment(org)
    client.force_login(org.marketing)
    data = {
        "name": "试听培育",
        "segment": segment.pk,
        "channel": "sms",
        "stop_on_reply": "on",
        "stop_on_order": "on",
        "steps-TOTAL_FORMS": "2",
        "steps-INITIAL_FORMS": "0",
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "1000",
        "steps-0-day": "0",
        "steps-0-body": "欢迎",
        "steps-1-day": "",
        "steps-1-body": "",
    }
    response = client.post(reverse("marketing:plan_create"), data)
    plan = NurturePlan.objects.get()
    assert response.status_code == 302 and plan.steps.count() == 1 and not plan.active
