"""Rescoring the open leads when the scoring rules or the grade thresholds change."""

import pytest
from django.conf import settings
from django.core.cache import cache

from customers.tests.factories import TagFactory
from sales import tasks
from sales.models import Lead, SalesSettings, ScoringRule
from sales.services.leads import grade_of, score_of
from sales.services.scoring import STATUS_KEY, rescore_open_leads
from sales.tests.factories import LeadFactory


@pytest.fixture
def client(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture(autouse=True)
def clear_status():
    cache.delete(STATUS_KEY)
    yield
    cache.delete(STATUS_KEY)


def every_criterion():
    tag = TagFactory(name="高意向")
    rules = [
        ScoringRule.objects.create(criterion="source", value="referral", points=30),
        ScoringRule.objects.create(criterion="has_mobile", points=5),
        ScoringRule.objects.create(criterion="has_email", points=7),
        ScoringRule.objects.create(criterion="has_region", points=3),
        ScoringRule.objects.create(criterion="has_need", points=20),
        ScoringRule.objects.create(criterion="visits", value="3", points=11),
        ScoringRule.objects.create(criterion="events", value="1", points=13),
        ScoringRule.objects.create(criterion="tag", value="高意向", points=17),
        ScoringRule.objects.create(criterion="has_email", points=-2, is_active=False),
    ]
    return tag, rules


def test_task_rescores_open_leads_exactly_like_score_of(org):
    leads = [
        LeadFactory(
            owner=org.rep1,
            source="referral",
            email="a@example.com",
            region="上海",
            need="数学",
            visits=3,
            events_attended=1,
        ),
        LeadFactory(owner=org.rep1, source="website", mobile="", email="b@example.com", need="   ", visits=2),
        LeadFactory(owner=None, source="event", region="杭州", need="\n英语 ", events_attended=4),
        LeadFactory(owner=org.rep3, source="referral", visits=9),
    ]
    tag, _rules = every_criterion()
    leads[2].tags.add(tag)
    leads[3].tags.add(tag)
    converted = LeadFactory(owner=org.rep1, status=Lead.Status.CONVERTED, source="referral", score=1, grade="D")
    assert all(lead.score == 0 for lead in leads)

    tasks.rescore_leads()

    thresholds = SalesSettings.current()
    for lead in leads:
        lead.refresh_from_db()
        expected = score_of(lead)
        assert lead.score == expected and lead.grade == grade_of(expected, thresholds), lead.name
    assert [lead.score for lead in leads] == [30 + 5 + 7 + 3 + 20 + 11 + 13, 7, 5 + 3 + 20 + 13 + 17, 30 + 5 + 11 + 17]
    assert [lead.grade for lead in leads] == ["A", "D", "B", "B"]
    converted.refresh_from_db()
    assert (converted.score, converted.grade) == (1, "D")  # only open leads are rescored
    status = cache.get(STATUS_KEY)
    assert status["state"] == "done" and status["changed"] == 4


def test_rescore_writes_only_what_changed_and_works_in_chunks(org, monkeypatch):
    from sales.services import scoring

    monkeypatch.setattr(scoring, "CHUNK", 2)
    ScoringRule.objects.create(criterion="has_mobile", points=50)
    leads = [LeadFactory(owner=org.rep1) for _ in range(5)]
    Lead.objects.filter(pk=leads[0].pk).update(score=50, grade="B")
    assert rescore_open_leads() == 4
    assert set(Lead.objects.values_list("score", "grade")) == {(50, "B")}
    assert rescore_open_leads() == 0


def test_changing_a_rule_in_the_browser_rescores_and_says_so(client, org, django_capture_on_commit_callbacks):
    lead = LeadFactory(owner=org.rep1, source="referral")
    client.force_login(org.director)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(
            "/sales/rules/scoring/new/", {"criterion": "source", "value": "referral", "points": "80", "is_active": "on"}
        )
    assert response.status_code == 302 and len(callbacks) == 1
    lead.refresh_from_db()
    assert (lead.score, lead.grade) == (80, "A")
    page = client.get(response.url).content.decode()
    assert "being rescored" in page
    assert 'data-testid="rescore-status"' in page and "Open leads rescored at" in page and "1 lead changed" in page

    rule = ScoringRule.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            f"/sales/rules/scoring/{rule.pk}/edit/",
            {"criterion": "source", "value": "referral", "points": "30", "is_active": "on"},
        )
    lead.refresh_from_db()
    assert (lead.score, lead.grade) == (30, "C")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/sales/rules/scoring/{rule.pk}/delete/")
    lead.refresh_from_db()
    assert (lead.score, lead.grade) == (0, "D")


def test_new_thresholds_regrade_the_open_leads(client, org, django_capture_on_commit_callbacks):
    lead = LeadFactory(owner=org.rep1)
    with django_capture_on_commit_callbacks(execute=True):
        ScoringRule.objects.create(criterion="has_mobile", points=35)
    lead.refresh_from_db()
    assert (lead.score, lead.grade) == (35, "C")
    data = {
        "grade_a": 40,
        "grade_b": 30,
        "grade_c": 10,
        "touch_cap": 3,
        "touch_window_days": 14,
        "rest_after_touches": 5,
        "reminder_offsets": "1440,60",
        "escalate_after_minutes": 60,
    }
    client.force_login(org.director)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post("/sales/rules/settings/", data)
    assert response.status_code == 302 and len(callbacks) == 1
    lead.refresh_from_db()
    assert (lead.score, lead.grade) == (35, "B")  # graded with the new thresholds
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        client.post("/sales/rules/settings/", {**data, "touch_cap": 4})
    assert callbacks == []  # nothing about grades changed: no rescore


def test_many_rule_changes_in_one_transaction_queue_one_rescore(org, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        for points in (10, 20, 30):
            ScoringRule.objects.create(criterion="has_mobile", points=points)
    assert len(callbacks) == 1


def test_running_status_is_polled(client, org):
    cache.set(STATUS_KEY, {"state": "running", "token": "x", "processed": 5000, "total": 10000})
    client.force_login(org.director)
    page = client.get("/sales/rules/rescore/").content.decode()
    assert "Rescoring the open leads… 50%" in page and "hx-get" in page
    page = client.get("/sales/rules/").content.decode()
    assert "Rescoring the open leads" in page
    client.force_login(org.rep1)
    assert client.get("/sales/rules/rescore/").status_code == 403
