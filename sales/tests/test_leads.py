import json

import pytest
from django.core.exceptions import ValidationError

from crm import services as crm_services
from crm.models import ApprovalRequest, Notification
from customers.models import Customer
from customers.tests.factories import CustomerFactory, TagFactory
from sales import services
from sales.models import AssignmentRule, FollowUp, Lead, PoolMove, ScoringRule, Task


@pytest.fixture
def scoring(db):
    ScoringRule.objects.create(criterion="source", value="referral", points=40)
    ScoringRule.objects.create(criterion="has_need", points=20)
    ScoringRule.objects.create(criterion="has_mobile", points=10)
    ScoringRule.objects.create(criterion="events", value="1", points=15)


@pytest.fixture
def leads_api(db):
    api = crm_services.create_api_client(name="form")
    _, raw = crm_services.issue_token(client=api, scopes=["leads"])
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def post_lead(client, headers, **body):
    data = {"name": "陈女士", "mobile": "13912340000", "source": "referral", **body}
    return client.post("/api/v1/leads", json.dumps(data), content_type="application/json", **headers)


def test_score_and_grade_follow_the_rules(org, scoring):
    lead = services.capture_lead(name="甲", mobile="13900000001", source="referral", need="想报数学", assign=False)
    assert lead.score == 70 and lead.grade == "A"
    lead = services.capture_lead(name="乙", mobile="13900000002", source="website", assign=False)
    assert lead.score == 10 and lead.grade == "D"
    lead.events_attended = 1
    lead = services.update_lead(lead=lead, actor=org.rep1, need="暑假班")
    assert lead.score == 45 and lead.grade == "B"


def test_api_capture_scores_assigns_round_robin_and_reports_duplicates(client, org, scoring, leads_api):
    from crm.models import Role
    from crm.tests.factories import UserFactory

    rep5 = UserFactory(username="rep5", role=Role.REP, department=org.sales1)  # 销售一部: rep2 and rep5
    AssignmentRule.objects.create(team=org.sales1, position=1)
    first = post_lead(client, leads_api)
    assert first.status_code == 201
    body = first.json()
    assert body["grade"] == "B" and body["score"] == 50 and body["duplicate_of"] is None
    second = post_lead(client, leads_api, name="陈女士(重复)", mobile="+86 139 1234 0000")
    assert second.status_code == 201 and second.json()["duplicate_of"] == body["id"]
    assert second.json()["status"] == "duplicate"
    assert Lead.objects.get(pk=second.json()["id"]).owner is None  # never assigned twice
    third = post_lead(client, leads_api, name="周先生", mobile="13912340001")
    fourth = post_lead(client, leads_api, name="吴女士", mobile="13912340002")
    owners = [Lead.objects.get(pk=response.json()["id"]).owner for response in (first, third, fourth)]
    assert owners == [org.rep2, rep5, org.rep2]  # round-robin over the team's reps, in turn


def test_api_lead_validation_names_the_field(client, org, leads_api):
    response = post_lead(client, leads_api, mobile="12", source="nowhere")
    assert response.status_code == 422
    assert set(response.json()["error"]["fields"]) >= {"mobile", "source"}


def test_lead_matching_a_customer_goes_to_its_owner_and_lifts_resting(client, org, leads_api):
    customer = CustomerFactory(owner=org.rep3, mobile="13912340000")
    Customer.objects.filter(pk=customer.pk).update(resting_since="2026-01-01T00:00:00Z")
    body = post_lead(client, leads_api).json()
    lead = Lead.objects.get(pk=body["id"])
    assert lead.owner == org.rep3 and lead.existing_customer == customer
    customer.refresh_from_db()
    assert customer.resting_since is None


def test_a_grade_lead_gets_a_call_task(org, scoring):
    lead = services.capture_lead(name="王", mobile="13900000003", source="referral", need="一对一", owner=org.rep1)
    task = Task.objects.get(lead=lead)
    assert task.assignee == org.rep1 and task.priority == "high" and task.reminder.due_at == task.due_at


def test_conversion_carries_followups_and_tags(org):
    tag = TagFactory(name="高意向")
    lead = services.capture_lead(name="刘", mobile="13900000004", source="website", owner=org.rep1, assign=False)
    lead.tags.add(tag)
    services.record_followup(actor=org.rep1, lead=lead, content="电话沟通")
    customer, opportunity = services.convert_lead(lead=lead, actor=org.rep1, opportunity_name="刘同学 数学课")
    lead.refresh_from_db()
    assert lead.status == "converted" and lead.customer == customer
    assert customer.owner == org.rep1 and customer.tags.filter(pk=tag.pk).exists()
    assert FollowUp.objects.get().customer == customer
    assert opportunity.customer == customer and opportunity.stage.position == 0
    with pytest.raises(ValidationError):
        services.convert_lead(lead=lead, actor=org.rep1)


def test_followup_validation_and_contact_protection(org):
    from sales.models import SalesSettings

    settings = SalesSettings.current()
    settings.touch_cap, settings.rest_after_touches = 2, 3
    settings.save()
    customer = CustomerFactory(owner=org.rep1)
    with pytest.raises(ValidationError):
        services.record_followup(actor=org.rep1, customer=customer, content="  ")
    from django.utils import timezone

    with pytest.raises(ValidationError):
        services.record_followup(actor=org.rep1, customer=customer, content="x", next_followup_at=timezone.now())
    for _ in range(3):
        services.record_followup(actor=org.rep1, customer=customer, content="没接")
    customer.refresh_from_db()
    status = services.contact_status(customer)
    assert status["over_cap"] and status["resting"] and not services.may_contact(customer)
    services.record_followup(actor=org.rep1, customer=customer, content="客户回电", direction="inbound")
    customer.refresh_from_db()
    assert customer.resting_since is None and services.contact_status(customer)["touches"] == 0


def test_control_point_stops_the_opportunity_until_a_director_approves(org):
    customer = CustomerFactory(owner=org.rep1)
    opportunity = services.open_opportunity(actor=org.rep1, customer=customer, name="全年课程", amount=12000)
    stages = list(opportunity.stage.__class__.objects.order_by("position"))
    opportunity = services.move_stage(actor=org.rep1, opportunity=opportunity, stage=stages[2])
    with pytest.raises(ValidationError) as exc:
        services.move_stage(actor=org.rep1, opportunity=opportunity, stage=stages[3])
    assert exc.value.code == "approval_required"
    approval = services.request_approval(actor=org.rep1, opportunity=opportunity)
    # routed: the rep's manager first, then the stage's role (a director) up the tree
    assert Notification.objects.filter(recipient=org.manager1, kind="approval").count() == 1
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.decide_approval(actor=org.director, approval=approval, approve=True)  # not his step yet
    services.decide_approval(actor=org.manager1, approval=approval, approve=True)
    assert Notification.objects.filter(recipient=org.director, kind="approval").count() == 1
    with pytest.raises(ValidationError) as exc:
        services.move_stage(actor=org.rep1, opportunity=opportunity, stage=stages[3])
    assert exc.value.code == "approval_required"
    with pytest.raises(ValidationError):
        services.decide_approval(actor=org.director, approval=approval, approve=False, comment="")
    services.decide_approval(actor=org.director, approval=approval, approve=True, comment="方案可行")
    assert ApprovalRequest.objects.get().status == "approved"
    opportunity = services.move_stage(actor=org.rep1, opportunity=opportunity, stage=stages[4])
    assert opportunity.stage.is_won and opportunity.closed_at is not None
    assert [h.stage.position for h in opportunity.stage_history.all()] == [0, 2, 4]
    assert Notification.objects.filter(recipient=org.rep1, kind="approval").exists()


def test_manager_reassignment_keeps_history(org):
    lead = services.capture_lead(name="赵", mobile="13900000005", source="website", owner=org.rep1, assign=False)
    services.assign_leads(actor=org.manager1, leads=Lead.objects.filter(pk=lead.pk), owner=org.rep2)
    reasons = list(PoolMove.objects.filter(lead=lead).order_by("at", "id").values_list("reason", "to_owner__username"))
    assert reasons == [("assigned", "rep1"), ("reassigned", "rep2")]
    with pytest.raises(ValidationError):
        services.assign_leads(actor=org.manager1, leads=Lead.objects.filter(pk=lead.pk), owner=org.rep3)
