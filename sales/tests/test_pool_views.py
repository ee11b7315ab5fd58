import datetime

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from customers.models import Customer
from customers.tests.factories import CustomerFactory
from sales import services
from sales.models import AssignmentRule, Lead, OpportunityStage, PoolMove, PoolRule, SalesSettings, ScoringRule
from sales.tests.factories import LeadFactory

URL = "/sales/pool/"


@pytest.fixture
def client(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def rule(org):
    return PoolRule.objects.create(
        department=org.region,
        days_without_followup=15,
        days_without_deal=90,
        warn_days=3,
        cap=3,
        reclaim_cooldown_days=7,
    )


def claim(client, lead, **extra):
    return client.post(f"{URL}leads/{lead.pk}/claim/", extra, follow=True)


def test_pool_lists_only_unowned_records_of_the_users_departments(client, org, rule):
    PoolRule.objects.create(department=org.sales2)  # 销售二部 keeps a pool of its own
    LeadFactory(owner=None, department=org.team1, name="一组公海线索", mobile="13911112222")
    LeadFactory(owner=None, department=org.sales2, name="二部公海线索")
    LeadFactory(owner=org.rep2, name="有主的线索")
    LeadFactory(owner=None, department=org.team1, name="已转化的线索", status=Lead.Status.CONVERTED)
    CustomerFactory(owner=None, department=org.team1, name="一组公海客户")
    CustomerFactory(owner=None, department=org.sales2, name="二部公海客户")
    client.force_login(org.rep1)
    page = client.get(URL).content.decode()
    assert "一组公海线索" in page and "139****2222" in page and "13911112222" not in page
    assert "二部公海线索" not in page and "有主的线索" not in page and "已转化的线索" not in page
    page = client.get(URL, {"tab": "customers"}).content.decode()
    assert "一组公海客户" in page and "二部公海客户" not in page
    client.force_login(org.manager2)
    page = client.get(URL).content.decode()
    assert "二部公海线索" in page and "一组公海线索" not in page


def test_pool_shows_time_in_pool_and_the_last_owner(client, org, rule):
    lead = LeadFactory(owner=org.rep2, name="被退回的线索")
    services.release_lead(user=org.rep2, lead=lead)
    client.force_login(org.rep2)
    page = client.get(URL).content.decode()
    assert "被退回的线索" in page and str(org.rep2) in page


def test_claim_from_the_pool_makes_the_rep_the_owner(client, org, rule):
    lead = LeadFactory(owner=None, department=org.team1, name="公海线索")
    client.force_login(org.rep1)
    response = claim(client, lead, next=URL)
    assert "公海线索 is yours now." in response.content.decode()
    lead.refresh_from_db()
    assert lead.owner == org.rep1
    assert PoolMove.objects.get(lead=lead).reason == PoolMove.Reason.CLAIMED
    assert client.get(f"/sales/leads/{lead.pk}/").status_code == 200


def test_second_claim_of_the_same_lead_reads_taken(client, org, rule):
    lead = LeadFactory(owner=None, department=org.team1)
    client.force_login(org.rep1)
    claim(client, lead)
    client.force_login(org.rep2)
    response = claim(client, lead)
    assert response.status_code == 200
    assert "Someone else claimed this lead first." in response.content.decode()
    lead.refresh_from_db()
    assert lead.owner == org.rep1


def test_claiming_twice_oneself_says_it_is_yours(client, org, rule):
    lead = LeadFactory(owner=None, department=org.team1)
    client.force_login(org.rep1)
    claim(client, lead)
    assert "This lead is yours already." in claim(client, lead).content.decode()


def test_claim_outside_the_users_pool_is_404(client, org, rule):
    PoolRule.objects.create(department=org.sales2)  # 销售二部 keeps a pool of its own
    lead = LeadFactory(owner=None, department=org.sales2)
    client.force_login(org.rep1)
    assert client.post(f"{URL}leads/{lead.pk}/claim/").status_code == 404
    customer = CustomerFactory(owner=None, department=org.sales2)
    assert client.post(f"{URL}customers/{customer.pk}/claim/").status_code == 404
    lead.refresh_from_db()
    customer.refresh_from_db()
    assert lead.owner is None and customer.owner is None


def test_cap_refusal_is_shown_and_the_count_against_the_cap(client, org, rule):
    LeadFactory.create_batch(3, owner=org.rep1)
    lead = LeadFactory(owner=None, department=org.team1)
    client.force_login(org.rep1)
    page = client.get(URL).content.decode()
    assert "3 / 3 private records" in page
    assert "claimed back after 7 days" in page
    response = claim(client, lead)
    assert "You already hold 3 private records, the most allowed." in response.content.decode()
    lead.refresh_from_db()
    assert lead.owner is None


def test_cooldown_refusal_is_shown_and_marked_on_the_row(client, org, rule):
    now = timezone.now()
    lead = LeadFactory(owner=org.rep1, assigned_at=now - datetime.timedelta(days=20), name="回收的线索")
    services.recycle(now=now - datetime.timedelta(days=3))  # the owner is warned first
    services.recycle(now=now)
    lead.refresh_from_db()
    assert lead.owner is None
    client.force_login(org.rep1)
    page = client.get(URL).content.decode()
    assert "回收的线索" in page and 'data-testid="cooldown"' in page
    response = claim(client, lead)
    assert "You let go of this record recently" in response.content.decode()
    client.force_login(org.rep2)  # another rep may take it
    assert "回收的线索 is yours now." in claim(client, lead).content.decode()


def test_cooldown_ends_after_x_days(client, org, rule):
    start = datetime.datetime(2026, 3, 2, 2, 0, tzinfo=datetime.UTC)
    lead = LeadFactory(owner=org.rep1, assigned_at=start - datetime.timedelta(days=20))
    services.recycle(now=start - datetime.timedelta(days=3))
    services.recycle(now=start)
    lead.refresh_from_db()
    assert lead.owner is None
    client.force_login(org.rep1)
    with time_machine.travel(start + datetime.timedelta(days=7, minutes=1), tick=False):
        claim(client, lead)
    lead.refresh_from_db()
    assert lead.owner == org.rep1


def test_customer_claim_from_the_pool(client, org, rule):
    customer = CustomerFactory(owner=None, department=org.team1, name="公海客户")
    client.force_login(org.rep1)
    response = client.post(f"{URL}customers/{customer.pk}/claim/", follow=True)
    assert "公海客户 is yours now." in response.content.decode()
    customer.refresh_from_db()
    assert customer.owner == org.rep1 and customer.ownership_changes.get().reason == "claimed"
    client.force_login(org.rep2)
    response = client.post(f"{URL}customers/{customer.pk}/claim/", follow=True)
    assert "Someone else claimed this customer first." in response.content.decode()


def test_manager_claims_from_the_lead_page_and_returns_there(client, org, rule):
    lead = LeadFactory(owner=None, department=org.sales1)
    client.force_login(org.manager1)
    page = client.get(f"/sales/leads/{lead.pk}/").content.decode()
    assert f'action="/sales/pool/leads/{lead.pk}/claim/"' in page
    response = client.post(f"{URL}leads/{lead.pk}/claim/", {"next": f"/sales/leads/{lead.pk}/"})
    assert response["Location"] == f"/sales/leads/{lead.pk}/"
    response = client.post(f"{URL}leads/{lead.pk}/claim/", {"next": "https://evil.example.com/"})
    assert response["Location"] == URL


def test_marketing_has_no_pool(client, org):
    client.force_login(org.marketing)
    assert client.get(URL).status_code == 403


@pytest.mark.parametrize("rows", [5, 100])
@pytest.mark.parametrize("tab", ["leads", "customers"])
def test_pool_page_runs_a_bounded_number_of_queries(client, org, rule, rows, tab, django_assert_max_num_queries):
    leads = LeadFactory.create_batch(rows, owner=org.rep2)
    customers = CustomerFactory.create_batch(rows, owner=org.rep2)
    for lead in leads:
        services.release_lead(user=org.rep2, lead=lead)
    Customer.objects.filter(pk__in=[c.pk for c in customers]).update(owner=None, department=org.team1)
    client.force_login(org.rep2)
    with django_assert_max_num_queries(16):
        response = client.get(URL, {"tab": tab, "per_page": 100})
    assert response.status_code == 200
    assert f'data-testid="count-{tab}">{rows}<' in response.content.decode()


# --- rules pages ----------------------------------------------------------------------------

RULE_URLS = [
    "/sales/rules/",
    "/sales/rules/scoring/new/",
    "/sales/rules/settings/",
    "/sales/rules/assignment/new/",
    "/sales/rules/pool/new/",
]


@pytest.mark.parametrize("who", ["rep1", "manager1", "marketing"])
def test_rules_pages_are_403_for_reps_and_managers(client, org, who):
    scoring = ScoringRule.objects.create(criterion="has_need", points=20)
    client.force_login(getattr(org, who))
    for url in RULE_URLS:
        assert client.get(url).status_code == 403, url
    assert client.post("/sales/rules/scoring/new/", {"criterion": "has_need", "points": 99}).status_code == 403
    assert client.post(f"/sales/rules/scoring/{scoring.pk}/delete/").status_code == 403
    assert ScoringRule.objects.count() == 1


def test_director_and_admin_open_the_rules_pages(client, org):
    for who in ("director", "admin"):
        client.force_login(getattr(org, who))
        for url in RULE_URLS:
            assert client.get(url).status_code == 200, url


def test_admin_saves_scoring_rules_and_sees_an_example_score(client, org):
    client.force_login(org.admin)
    response = client.post(
        "/sales/rules/scoring/new/", {"criterion": "source", "value": "referral", "points": 40, "is_active": "on"}
    )
    assert response.status_code == 302
    response = client.post("/sales/rules/scoring/new/", {"criterion": "source", "value": "nowhere", "points": 5})
    assert response.status_code == 200 and "Unknown or inactive source nowhere." in response.content.decode()
    client.post("/sales/rules/scoring/new/", {"criterion": "visits", "value": "2", "points": 15, "is_active": "on"})
    assert ScoringRule.objects.count() == 2
    page = client.get("/sales/rules/", {"source": "referral", "visits": 3, "events": 0}).content.decode()
    assert "This lead scores 55 points: grade B." in page
    rule = ScoringRule.objects.get(criterion="visits")
    client.post(
        f"/sales/rules/scoring/{rule.pk}/edit/", {"criterion": "visits", "value": "2", "points": 30, "is_active": "on"}
    )
    rule.refresh_from_db()
    assert rule.points == 30
    client.post(f"/sales/rules/scoring/{rule.pk}/delete/")
    assert not ScoringRule.objects.filter(pk=rule.pk).exists()


def test_admin_saves_grade_thresholds_and_contact_protection(client, org):
    client.force_login(org.admin)
    data = {
        "grade_a": 80,
        "grade_b": 50,
        "grade_c": 20,
        "touch_cap": 2,
        "touch_window_days": 7,
        "rest_after_touches": 4,
        "reminder_offsets": "60, 1440",
        "escalate_after_minutes": 120,
    }
    assert client.post("/sales/rules/settings/", data).status_code == 302
    current = SalesSettings.current()
    assert (current.grade_a, current.touch_cap, current.reminder_offsets) == (80, 2, "1440,60")
    response = client.post("/sales/rules/settings/", {**data, "grade_b": 90})
    assert response.status_code == 200 and "A &gt; B &gt; C" in response.content.decode()


def test_admin_saves_assignment_rules_with_a_team_or_a_user(client, org):
    client.force_login(org.admin)
    response = client.post(
        "/sales/rules/assignment/new/", {"position": 1, "grade": "A", "source": "", "region": "", "is_active": "on"}
    )
    assert response.status_code == 200 and not AssignmentRule.objects.exists()
    response = client.post(
        "/sales/rules/assignment/new/",
        {"position": 1, "grade": "A", "source": "", "region": "", "team": org.sales1.pk, "is_active": "on"},
    )
    assert response.status_code == 302
    client.post(
        "/sales/rules/assignment/new/",
        {
            "position": 2,
            "grade": "",
            "source": "referral",
            "region_0": "310000",
            "user": org.rep3.pk,
            "is_active": "on",
        },
    )
    assert list(AssignmentRule.objects.values_list("position", "team", "user")) == [
        (1, org.sales1.pk, None),
        (2, None, org.rep3.pk),
    ]
    assert AssignmentRule.objects.get(position=2).region == "310000"
    assert str(org.rep3) in client.get("/sales/rules/").content.decode()


def test_admin_saves_a_pool_rule_with_an_exempt_stage(client, org):
    client.force_login(org.admin)
    page = client.get("/sales/rules/pool/new/").content.decode()
    stage = OpportunityStage.objects.get(position=2)
    assert stage.name in page
    data = {
        "department": org.sales1.pk,
        "days_without_followup": 10,
        "days_without_deal": 60,
        "exempt_stage": stage.pk,
        "warn_days": 2,
        "cap": 50,
        "reclaim_cooldown_days": 5,
        "is_active": "on",
    }
    assert client.post("/sales/rules/pool/new/", data).status_code == 302
    rule = PoolRule.objects.get(department=org.sales1)
    assert rule.exempt_stage == stage and rule.cap == 50
    response = client.post("/sales/rules/pool/new/", data)  # one rule per department
    assert response.status_code == 200 and PoolRule.objects.count() == 1
    response = client.post(f"/sales/rules/pool/{rule.pk}/edit/", {**data, "warn_days": 10})
    assert response.status_code == 200 and "Warn fewer days ahead" in response.content.decode()
    client.force_login(org.rep2)
    assert "0 / 50 private records" in client.get(URL).content.decode()
