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
