"""The approval engine (crm.approvals): routing up the department tree (manager → director, the
amount condition, never the requester), the one inbox and its counts, the history on the record,
the database's refusal of a decision by the requester, one winner when two approvers decide at
once (PostgreSQL), and the board's drop → request → the manager approves in Chromium."""

import threading
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from coupons import services as coupon_services
from coupons.models import Batch, Compensation, CompensationRule
from coupons.services import compensation as compensation_rules
from coupons.tests.factories import make_batch, make_budget
from crm.approvals import selectors
from crm.approvals import services as approvals
from crm.models import ApprovalAssignee, ApprovalRequest, ApprovalRule, ApprovalStep, Role
from crm.tests.browser import VIEWPORTS, chromium, drop, signed_in_page  # noqa: F401 (chromium: a fixture)
from crm.tests.factories import UserFactory
from customers.tests.factories import CustomerFactory
from marketing.models import Campaign, Touch
from marketing.services import campaigns as campaign_rules
from marketing.tests.factories import make_campaign, make_segment
from sales import services as sales_services
from sales.models import Opportunity, OpportunityStage


def at_control_point(user, name="全年课程"):
    """``user``'s opportunity at 方案/试听课 (a director's control point)."""
    sales_services.opportunities.ensure_default_stages()
    stages = list(OpportunityStage.objects.order_by("position"))
    opportunity = sales_services.open_opportunity(
        actor=user, customer=CustomerFactory(owner=user), name=name, amount=12000
    )
    return sales_services.move_stage(actor=user, opportunity=opportunity, stage=stages[2]), stages


def requested(user, name="全年课程"):
    """``user``'s opportunity at the control point with its approval requested: (opportunity, stages, request)."""
    opportunity, stages = at_control_point(user, name)
    return opportunity, stages, sales_services.request_approval(actor=user, opportunity=opportunity)


def approvers(request):
    return [[a.approver.username for a in step.assignees.order_by("pk")] for step in request.steps.order_by("position")]


# --- routing -----------------------------------------------------------------------------------


def test_a_reps_control_point_goes_to_his_manager_then_up_to_the_director(org):
    opportunity, stages, request = requested(org.rep1)
    assert approvers(request) == [["manager1"], ["director"]]
    assert [s.status for s in request.steps.order_by("position")] == ["pending", "waiting"]
    assert selectors.inbox_count(org.manager1) == 1 and selectors.inbox_count(org.director) == 0
    sales_services.decide_approval(actor=org.manager1, approval=request, approve=True, comment="同意")
    assert selectors.inbox_count(org.manager1) == 0 and selectors.inbox_count(org.director) == 1
    sales_services.decide_approval(actor=org.director, approval=request, approve=True)
    request.refresh_from_db()
    assert (request.status, request.decided_by) == ("approved", org.director)
    moved = sales_services.move_stage(actor=org.rep1, opportunity=opportunity, stage=stages[3])
    assert moved.stage == stages[3]


def test_a_managers_own_stage_is_not_asked_of_him_twice(org):
    opportunity, stages = at_control_point(org.rep1)
    OpportunityStage.objects.filter(pk=stages[2].pk).update(approval_role=Role.MANAGER)
    request = sales_services.request_approval(actor=org.rep1, opportunity=opportunity)
    assert approvers(request) == [["manager1"], ["manager1"]]
    sales_services.decide_approval(actor=org.manager1, approval=request, approve=True)
    request.refresh_from_db()
    assert request.status == "approved"
    assert [(s.status, s.decided_by) for s in request.steps.order_by("position")] == [
        ("approved", org.manager1),
        ("approved", org.manager1),
    ]


def test_a_batch_over_50000_also_needs_a_director(org):
    account = make_budget(org, total="200000.00")
    small = make_batch(org, account=account, status="draft", quantity=100)  # ¥20 × 100 = ¥2,000
    big = make_batch(org, account=account, status="draft", quantity=3000)  # ¥20 × 3,000 = ¥60,000
    org.sales1.manager = org.manager1
    org.sales1.save()
    coupon_services.submit(actor=org.rep2, batch=small)  # a requester in 销售一部: its manager
    coupon_services.submit(actor=org.rep2, batch=big)
    small_request = ApprovalRequest.objects.get(object_id=small.pk, kind="coupon_batch")
    big_request = ApprovalRequest.objects.get(object_id=big.pk, kind="coupon_batch")
    assert (small_request.amount, big_request.amount) == (Decimal("2000.00"), Decimal("60000.00"))
    assert approvers(small_request) == [["manager1"]]
    assert approvers(big_request) == [["manager1"], ["director"]]
    coupon_services.approve(actor=org.manager1, batch=big)
    assert Batch.objects.get(pk=big.pk).status == "submitted"  # the director's step is next
    coupon_services.approve(actor=org.director, batch=big)
    assert Batch.objects.get(pk=big.pk).status == "approved"


def test_an_admin_configures_the_chain(client, org):
    client.force_login(org.admin)
    assert client.get(reverse("approvals:chains")).status_code == 200
    url = reverse("approvals:chain_edit", args=["compensation"])
    page = client.get(url).content.decode()
    assert page.count('data-testid="rule-form"') == 2  # the default step and an empty one
    rule = ApprovalRule.objects.get(kind="compensation")
    data = {
        "rules-TOTAL_FORMS": "2",
        "rules-INITIAL_FORMS": "1",
        "rules-MIN_NUM_FORMS": "0",
        "rules-MAX_NUM_FORMS": "1000",
        "rules-0-id": str(rule.pk),
        "rules-0-position": "1",
        "rules-0-relation": "requester_manager",
        "rules-0-role": "manager",
        "rules-0-min_amount": "",
        "rules-1-position": "2",
        "rules-1-relation": "role",
        "rules-1-role": "",
        "rules-1-min_amount": "100",
    }
    refused = client.post(url, data)
    assert refused.status_code == 200 and "请选择这一步审批的角色。" in refused.content.decode()
    data["rules-1-role"] = "director"
    assert client.post(url, data).status_code == 302
    assert list(ApprovalRule.objects.filter(kind="compensation").values_list("relation", "role", "min_amount")) == [
        ("requester_manager", "manager", None),
        ("role", "director", Decimal("100.00")),
    ]
    client.force_login(org.manager1)
    assert client.get(reverse("approvals:chains")).status_code == 403


# --- nobody approves their own request -----------------------------------------------------------


def test_a_director_cannot_approve_his_own_control_point_it_goes_up(org):
    _opportunity, _stages, request = requested(org.director)
    # nobody above the director holds a manager's or a director's seat: the system admin decides
    assert approvers(request) == [["admin"], ["admin"]]
    with pytest.raises(PermissionDenied):
        sales_services.decide_approval(actor=org.director, approval=request, approve=True)
    sales_services.decide_approval(actor=org.admin, approval=request, approve=True)
    request.refresh_from_db()
    assert (request.status, request.decided_by) == ("approved", org.admin)


def test_a_second_director_above_takes_a_directors_request(org):
    above = UserFactory(username="vp", role=Role.DIRECTOR, department=org.company)
    _opportunity, _stages, request = requested(org.director)
    assert approvers(request) == [["vp"], ["vp"]]
    assert selectors.inbox_count(above) == 1 and selectors.inbox_count(org.director) == 0


def test_a_manager_cannot_approve_his_own_batch(org):
    batch = make_batch(org, status="draft")
    coupon_services.submit(actor=org.manager1, batch=batch)
    with pytest.raises(PermissionDenied):
        coupon_services.approve(actor=org.manager1, batch=batch)
    assert approvers(ApprovalRequest.objects.get(kind="coupon_batch")) == [["director"]]


def test_a_manager_cannot_decide_his_own_compensation(org):
    account = make_budget(org)
    batch = make_batch(org, account=account, code="comp", quantity=100)
    CompensationRule.objects.create(department=org.region, batch=batch, max_amount_per_coupon=Decimal("50"))
    item = compensation_rules.request_compensation(
        actor=org.manager1, customer=CustomerFactory(owner=org.rep1), amount=Decimal("80"), reason="严重投诉"
    )
    assert item.status == Compensation.Status.REVIEW
    with pytest.raises(PermissionDenied):
        compensation_rules.decide(actor=org.manager1, compensation=item, approve=True)
    with pytest.raises(ValidationError) as exc:
        compensation_rules.decide(actor=org.director, compensation=item, approve=False)
    assert exc.value.message_dict == {"comment": ["请填写驳回原因。"]}
    compensation_rules.decide(actor=org.director, compensation=item, approve=False, comment="超出标准")
    assert Compensation.objects.get(pk=item.pk).status == Compensation.Status.REJECTED


def test_the_creator_of_a_campaign_cannot_approve_it(org):
    campaign = make_campaign(org, segment=make_segment(org), status=Campaign.Status.DRAFT)
    campaign_rules.change_status(actor=org.marketing, campaign=campaign, action="submit")
    with pytest.raises(PermissionDenied):
        campaign_rules.change_status(actor=org.marketing, campaign=campaign, action="approve")
    assert campaign_rules.can_approve(org.marketing, campaign) is False


def test_the_database_refuses_a_decision_by_the_requester(org):
    _opportunity, _stages, request = requested(org.rep1)
    step = request.steps.get(position=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        ApprovalAssignee.objects.create(step=step, approver=org.rep1, requester=org.rep1)
    with pytest.raises(IntegrityError), transaction.atomic():
        ApprovalStep.objects.filter(pk=step.pk).update(status="approved", decided_by=org.rep1)
    with pytest.raises(IntegrityError), transaction.atomic():
        ApprovalRequest.objects.filter(pk=request.pk).update(status="approved", decided_by=org.rep1)


# --- the inbox, its count, the history -------------------------------------------------------------


def test_the_managers_inbox_counts_every_kind_and_the_shell_shows_it(client, org, django_assert_max_num_queries):
    requested(org.rep1)
    account = make_budget(org)
    batch = make_batch(org, account=account, code="comp", quantity=100)
    CompensationRule.objects.create(department=org.region, batch=batch, max_amount_per_coupon=Decimal("50"))
    compensation_rules.request_compensation(
        actor=org.rep1, customer=CustomerFactory(owner=org.rep1), amount=Decimal("80"), reason="严重投诉"
    )
    draft = make_batch(org, account=account, status="draft")
    coupon_services.submit(actor=org.rep2, batch=draft)
    assert selectors.inbox_count(org.manager1) == 3
    client.force_login(org.manager1)
    with django_assert_max_num_queries(14):
        page = client.get(reverse("approvals:inbox")).content.decode()
    assert page.count('data-testid="approval-row"') == 3
    assert 'data-testid="inbox-count">3<' in page and 'data-testid="nav-approvals-count">3<' in page
    for label in ("关键控制点", "赔付审核", "优惠券批次"):
        assert label in page
    home = client.get("/").content.decode()
    assert 'data-testid="approvals-count">3<' in home
    only = client.get(reverse("approvals:inbox") + "?kind=compensation").content.decode()
    assert only.count('data-testid="approval-row"') == 1
    client.force_login(org.manager2)  # another department's manager: nothing
    assert 'data-testid="inbox-count">0<' in client.get(reverse("approvals:inbox")).content.decode()


def test_history_of_the_request_is_on_the_record_and_on_its_page(client, org):
    opportunity, _stages, request = requested(org.rep1)
    sales_services.decide_approval(actor=org.manager1, approval=request, approve=True, comment="同意推进")
    sales_services.decide_approval(actor=org.director, approval=request, approve=False, comment="报价太低")
    client.force_login(org.rep1)
    page = client.get(opportunity.get_absolute_url()).content.decode()
    history = page.split('data-testid="approval-history"')[1].split('id="stage-history"')[0]
    assert history.count('data-testid="approval-step"') == 2
    assert "同意推进" in history and "报价太低" in history and "已驳回" in history
    detail = client.get(reverse("approvals:detail", args=[request.pk])).content.decode()
    assert detail.count('data-testid="approval-step"') == 2 and 'data-testid="decision"' not in detail
    client.force_login(org.rep3)  # neither asked nor in scope
    assert client.get(reverse("approvals:detail", args=[request.pk])).status_code == 404
    from auditlog.models import LogEntry

    decisions = LogEntry.objects.get_for_objects(ApprovalStep.objects.filter(request=request))
    assert [
        (entry.actor, entry.changes["comment"][1]) for entry in decisions.filter(actor__isnull=False).order_by("pk")
    ] == [(org.manager1, "同意推进"), (org.director, "报价太低")]


# --- issue 13, item 19: a director opens and approves the campaign ------------------------------------


def test_a_director_opens_and_approves_a_campaign_and_the_creator_sees_who(client, org):
    campaign = make_campaign(org, segment=make_segment(org), status=Campaign.Status.DRAFT)
    client.force_login(org.marketing)
    client.post(reverse("marketing:campaign_action", args=[campaign.pk, "submit"]))
    page = client.get(campaign.get_absolute_url()).content.decode()
    assert f'data-testid="next-approver"><i class="bi bi-hourglass-split"></i> 等待审批人： {org.director}' in page
    client.force_login(org.director)
    page = client.get(campaign.get_absolute_url())
    assert page.status_code == 200  # routed to him, though outside his scope
    assert reverse("marketing:campaign_action", args=[campaign.pk, "approve"]) in page.content.decode()
    assert client.post(reverse("marketing:campaign_action", args=[campaign.pk, "approve"])).status_code == 302
    campaign.refresh_from_db()
    assert (campaign.status, campaign.approved_by) == (Campaign.Status.APPROVED, org.director)
    client.force_login(org.manager2)  # not asked, not in scope
    assert client.get(campaign.get_absolute_url()).status_code == 404


def test_the_send_page_of_a_running_campaign_does_not_ask_for_approval(client, org):
    campaign = make_campaign(org, segment=make_segment(org), status=Campaign.Status.RUNNING)
    touch = Touch.objects.create(
        campaign=campaign, channel="sms", body="{name}您好", created_by=org.marketing, status=Touch.Status.SENT
    )
    client.force_login(org.marketing)
    page = client.get(reverse("marketing:touch_send", args=[touch.pk])).content.decode()
    assert "活动审批通过后才能发送" not in page
    assert 'data-testid="send-blocked">这条触达不能再次发送（当前状态：已发送）。<' in page


# --- two approvers at once -----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_approvers_deciding_the_same_step_at_once_one_wins(postgres):
    from crm.tests.factories import OrgFixture

    org = OrgFixture()
    second = UserFactory(username="manager1b", role=Role.MANAGER, department=org.sales1)
    _opportunity, _stages, request = requested(org.rep1)
    step = request.steps.get(position=1)
    assert sorted(a.approver.username for a in step.assignees.all()) == ["manager1", "manager1b"]
    barrier = threading.Barrier(2)
    outcomes, unexpected = [], []

    def decide(user, approve):
        from django.db import connection

        try:
            barrier.wait()
            approvals.decide(step=step, actor=user, approve=approve, comment="" if approve else "不行")
            outcomes.append(("won", user.username))
        except ValidationError as exc:
            outcomes.append((f"refused:{exc.code}", user.username))
        except Exception as exc:  # anything else fails the test
            unexpected.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=decide, args=(org.manager1, True)),
        threading.Thread(target=decide, args=(second, False)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert unexpected == []
    assert sorted(kind for kind, _who in outcomes) == ["refused:decided", "won"]
    winner = next(who for kind, who in outcomes if kind == "won")
    step.refresh_from_db()
    request.refresh_from_db()
    assert step.decided_by.username == winner
    if_approved = ("approved", "pending", 2)
    if_rejected = ("rejected", "rejected", 0)
    assert (step.status, request.status, request.position) == (if_approved if winner == "manager1" else if_rejected)
    assert ApprovalAssignee.objects.filter(step=step, is_open=True).count() == 0


# --- in a real browser: drop → request → the manager approves -----------------------------------------


@pytest.mark.browser
@pytest.mark.parametrize("viewport", list(VIEWPORTS.values()), ids=list(VIEWPORTS))
def test_drop_on_a_locked_stage_requests_the_approval_and_the_manager_approves(chromium, live_server, org, viewport):
    from playwright.sync_api import expect

    opportunity, stages = at_control_point(org.rep1, name="暑期全科班")
    OpportunityStage.objects.filter(pk=stages[2].pk).update(approval_role=Role.MANAGER)  # the manager decides
    rep = signed_in_page(chromium, live_server.url, org.rep1, viewport)
    rep.goto(f"{live_server.url}{reverse('sales:board')}")
    drop(rep, opportunity, stages[2], stages[3])
    modal = rep.locator("[data-testid=approval-modal]")
    expect(modal).to_contain_text("“方案/试听课”需要审批通过后，商机才能继续推进。")
    expect(rep.locator("[data-testid=approval-request]")).to_be_focused()
    rep.locator("[data-testid=approval-request]").click()
    expect(rep.locator("#board-alerts .alert-success")).to_contain_text(f"已提交审批；下一位审批人：{org.manager1}")
    expect(modal).to_be_hidden()
    expect(
        rep.locator(
            f".kanban-column[data-stage='{stages[2].pk}'] .kanban-card[data-id='{opportunity.pk}']"
            " .badge.text-bg-warning"
        )
    ).to_have_count(1)  # the card waits where it was
    request = ApprovalRequest.objects.get()
    assert approvers(request) == [["manager1"], ["manager1"]]
    assert rep.errors == []

    manager = signed_in_page(chromium, live_server.url, org.manager1, viewport)
    manager.goto(f"{live_server.url}/")
    expect(manager.locator("[data-testid=approvals-count]")).to_have_text("1")
    manager.goto(f"{live_server.url}{reverse('approvals:inbox')}")
    expect(manager.locator("[data-testid=approval-row]")).to_have_count(1)
    expect(manager.locator("[data-testid=approval-row]")).to_contain_text("暑期全科班")
    manager.locator("[data-testid=approval-row] [data-testid=reject]").click()  # no comment: beside the field
    expect(manager.locator("[data-testid=comment-error]")).to_have_text("请填写驳回原因。")
    manager.locator("textarea[name=comment]").fill("同意，尽快签约")
    manager.locator("[data-testid=decision] [data-testid=approve]").click()
    expect(manager.locator(".alert-success")).to_contain_text("已通过")
    assert manager.errors == []
    request.refresh_from_db()
    assert (request.status, request.decided_by, request.comment) == ("approved", org.manager1, "同意，尽快签约")

    rep.reload()
    drop(rep, opportunity, stages[2], stages[3])
    expect(rep.locator("#board-alerts .alert-success")).to_be_visible()
    assert Opportunity.objects.get(pk=opportunity.pk).stage_id == stages[3].pk


def test_the_demo_data_leaves_its_submitted_campaign_in_the_directors_inbox(client, db):
    import io

    from django.core.management import call_command

    from crm.models import User

    call_command("seed_demo", "--size", "small", stdout=io.StringIO())
    director = User.objects.get(username="director")
    campaign = Campaign.objects.get(name="老带新推荐季")
    waiting = ApprovalRequest.objects.filter(status="pending")
    assert waiting.filter(kind="marketing_campaign").count() == 1
    assert waiting.filter(kind="coupon_batch").count() == Batch.objects.filter(status="submitted").count()
    assert [
        step.request.object_id for step in selectors.inbox_for(director).filter(request__kind="marketing_campaign")
    ] == [campaign.pk]
    client.force_login(director)
    page = client.get(campaign.get_absolute_url())
    assert page.status_code == 200
    assert reverse("marketing:campaign_action", args=[campaign.pk, "approve"]) in page.content.decode()


# --- the data migration of the old control-point approvals -------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_old_control_point_approvals_become_requests():
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before = [("sales", "0010_pool_rule_paying_customers_reminder_scheduled_at"), ("crm", "0004_approval_engine")]
    after = [("sales", "0011_control_points_on_approval_engine")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    Department, User = old.get_model("crm", "Department"), old.get_model("crm", "User")
    region = Department.objects.create(name="华东", kind="region", path="")
    Department.objects.filter(pk=region.pk).update(path=f"/{region.pk}/")
    team = Department.objects.create(name="一组", kind="team", parent=region, path="")
    Department.objects.filter(pk=team.pk).update(path=f"/{region.pk}/{team.pk}/")
    director = User.objects.create(username="d", last_name="周", first_name="总监", role="director", department=region)
    rep = User.objects.create(username="r", last_name="王", first_name="小明", role="rep", department=team)
    customer = old.get_model("customers", "Customer").objects.create(name="客户", owner=rep, department=team)
    stage = old.get_model("sales", "OpportunityStage").objects.create(name="方案", position=2, approval_role="director")
    opportunity = old.get_model("sales", "Opportunity").objects.create(
        name="全年课程", customer=customer, owner=rep, department=team, stage=stage, amount=Decimal("12000")
    )
    StageApproval = old.get_model("sales", "StageApproval")
    StageApproval.objects.create(opportunity=opportunity, stage=stage, role="director", requested_by=rep)
    StageApproval.objects.create(
        opportunity=opportunity,
        stage=stage,
        role="director",
        requested_by=director,
        status="approved",
        decided_by=director,
        comment="自批",
    )
    executor = MigrationExecutor(connection)
    executor.migrate(after)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    waiting = ApprovalRequest.objects.get(status="pending")
    assert (waiting.kind, waiting.key, waiting.requested_by.username) == (
        "opportunity_control_point",
        f"stage:{stage.pk}",
        "r",
    )
    assert [[a.approver.username for a in s.assignees.all()] for s in waiting.steps.all()] == [["d"]]
    from crm.models import User as CurrentUser

    assert selectors.inbox_count(CurrentUser.objects.get(pk=director.pk)) == 1
    own = ApprovalRequest.objects.get(status="approved")
    assert (own.decided_by, own.comment) == (None, "自批 (周总监)")  # a decision by the requester is not kept as one
