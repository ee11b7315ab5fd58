import datetime

import pytest
import time_machine

from crm.errors import DomainError
from resources.models import TrialLesson
from resources.services import enrolments, schedule, trials
from sales.models import Opportunity, Task
from sales.services.opportunities import ensure_default_stages, open_opportunity

from .conftest import MONDAY, local


@pytest.fixture
def opportunity(org, students):
    ensure_default_stages()
    return open_opportunity(actor=org.rep1, customer=students[4], name="陈小东 数学课")


@pytest.fixture
def session(make_class):
    return schedule.generate_sessions(school_class=make_class(capacity=2), count=1)[0]


@time_machine.travel(local(MONDAY - datetime.timedelta(days=1), 9), tick=False)
def test_a_trial_takes_a_seat_and_a_full_session_refuses_the_next(opportunity, session, students, org):
    enrolments.enrol(school_class=session.school_class, customer=students[0])
    trials.book_trial(opportunity=opportunity, session=session, actor=org.rep1)
    other = open_opportunity(actor=org.rep1, customer=students[3], name="赵小燕 数学课")
    with pytest.raises(DomainError) as refused:
        trials.book_trial(opportunity=other, session=session, actor=org.rep1)
    assert refused.value.code == "no_free_seat"
    assert trials.free_seats(session) == 0


@time_machine.travel(local(MONDAY - datetime.timedelta(days=1), 9), tick=False)
def test_attending_moves_the_opportunity_on_and_lifts_resting(opportunity, session, org):
    customer = opportunity.customer
    customer.resting_since = local(MONDAY - datetime.timedelta(days=30), 9)
    customer.save()
    trial = trials.book_trial(opportunity=opportunity, session=session, actor=org.rep1)
    trials.mark_trial(trial=trial, attended=True, actor=org.rep1)
    opportunity.refresh_from_db()
    customer.refresh_from_db()
    assert (opportunity.stage.name, customer.resting_since) == ("需求分析", None)
    assert TrialLesson.objects.get().status == "attended"


@time_machine.travel(local(MONDAY - datetime.timedelta(days=1), 9), tick=False)
def test_a_no_show_gives_the_rep_a_task_to_call(opportunity, session, org):
    trial = trials.book_trial(opportunity=opportunity, session=session, actor=org.rep1)
    trials.mark_trial(trial=trial, attended=False, actor=org.rep1)
    task = Task.objects.get()
    assert (task.assignee, task.title, task.customer.name) == (org.rep1, "试听未到：致电 陈小东", "陈小东")
    assert Opportunity.objects.get().stage.name == "初步接触"


@time_machine.travel(local(MONDAY, 11), tick=False)
def test_a_session_that_has_started_cannot_be_booked(opportunity, session):
    with pytest.raises(DomainError) as refused:
        trials.book_trial(opportunity=opportunity, session=session)
    assert refused.value.code == "past"


def _to_trial_stage(opportunity, org):
    from sales.models import OpportunityStage

    stage = OpportunityStage.objects.get(name="方案/试听课")
    Opportunity.objects.filter(pk=opportunity.pk).update(stage=stage)
    opportunity.refresh_from_db()
    return opportunity


def test_the_opportunity_page_offers_a_trial_only_at_the_trial_stage(client, opportunity, org):
    from django.urls import reverse

    client.force_login(org.rep1)
    before = client.get(opportunity.get_absolute_url()).content.decode()
    _to_trial_stage(opportunity, org)
    after = client.get(opportunity.get_absolute_url()).content.decode()
    link = reverse("resources:trial_book", args=[opportunity.pk])
    assert (link in before, link in after, "预约试听课" in after) == (False, True, True)


@time_machine.travel(local(MONDAY - datetime.timedelta(days=1), 9), tick=False)
def test_attending_at_the_trial_stage_asks_for_the_control_point_approval(opportunity, session, org):
    from crm.models import ApprovalRequest

    _to_trial_stage(opportunity, org)
    trial = trials.book_trial(opportunity=opportunity, session=session, actor=org.rep1)
    trials.mark_trial(trial=trial, attended=True, actor=org.rep1)
    approval = ApprovalRequest.objects.get()
    assert (approval.status, approval.key, Opportunity.objects.get().stage.name) == (
        "pending",
        f"stage:{opportunity.stage_id}",
        "方案/试听课",
    )


@time_machine.travel(local(MONDAY - datetime.timedelta(days=1), 9), tick=False)
def test_a_no_show_notifies_the_rep_with_a_link_to_the_opportunity(opportunity, session, org):
    from crm.models import Notification

    trial = trials.book_trial(opportunity=opportunity, session=session, actor=org.rep1)
    trials.mark_trial(trial=trial, attended=False, actor=org.rep1)
    note = Notification.objects.get(kind="trial_no_show")
    assert (note.recipient, note.title, note.url) == (org.rep1, "试听未到：陈小东", opportunity.get_absolute_url())


@time_machine.travel(local(MONDAY - datetime.timedelta(days=1), 9), tick=False)
def test_the_booking_page_no_longer_offers_a_session_the_opportunity_already_booked(
    client, opportunity, org, make_class
):
    from django.urls import reverse

    first, second = schedule.generate_sessions(school_class=make_class(), count=2)
    trials.book_trial(opportunity=opportunity, session=first, actor=org.rep1)
    client.force_login(org.rep1)
    page = client.get(reverse("resources:trial_book", args=[opportunity.pk]))
    offered = [s.pk for s in page.context["sessions"]]
    assert (first.pk in offered, second.pk in offered) == (False, True)
