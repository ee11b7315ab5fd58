"""Opportunity pages through the browser's eyes: scope (404), control points (409 / 403), the
approval round trip, the board and the list within a query budget, time in stage, no inline script."""

import datetime
import re
from decimal import Decimal

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from crm.models import ApprovalRequest, Notification
from crm.tests.browser import chromium, signed_in_page  # noqa: F401 (chromium: a fixture)
from customers.tests.factories import CustomerFactory
from sales import services
from sales.models import Opportunity, OpportunityStage

pytestmark = pytest.mark.django_db

JSON = {"HTTP_ACCEPT": "application/json"}


def stages():
    services.opportunities.ensure_default_stages()
    return list(OpportunityStage.objects.order_by("position"))


def open_for(user, *, name="全年课程", amount=12000, at_stage=0):
    customer = CustomerFactory(owner=user)
    opportunity = services.open_opportunity(actor=user, customer=customer, name=name, amount=amount)
    if at_stage:
        opportunity = services.move_stage(actor=user, opportunity=opportunity, stage=stages()[at_stage])
    return opportunity


def at_control_point(org):
    """rep1's opportunity at "方案/试听课", which needs a director's approval to move on (asked of
    rep1's manager first, then of the director)."""
    opportunity = open_for(org.rep1, at_stage=2)
    assert opportunity.stage.approval_role == "director"
    return opportunity


def login(client, user):
    client.force_login(user)
    return client


# --- scope ----------------------------------------------------------------------------------


def test_rep_gets_404_for_another_reps_opportunity_on_every_url(client, org):
    opportunity = open_for(org.rep2, at_stage=2)
    approval = services.request_approval(actor=org.rep2, opportunity=opportunity)
    login(client, org.rep1)
    target = stages()[3]
    assert client.get(reverse("sales:opportunity", args=[opportunity.pk])).status_code == 404
    assert client.get(reverse("sales:opportunity_edit", args=[opportunity.pk])).status_code == 404
    assert (
        client.post(reverse("sales:opportunity_move", args=[opportunity.pk]), {"stage": target.pk}, **JSON).status_code
        == 404
    )
    assert client.post(reverse("sales:opportunity_request_approval", args=[opportunity.pk])).status_code == 404
    assert (
        client.post(
            reverse("approvals:decide", args=[approval.pk]), {"decision": "approve", "comment": "ok"}
        ).status_code
        == 404
    )
    assert client.get(reverse("approvals:detail", args=[approval.pk])).status_code == 404
    # and it is on neither the list nor the board
    assert opportunity.name not in client.get(reverse("sales:opportunities")).content.decode()
    assert f'data-id="{opportunity.pk}"' not in client.get(reverse("sales:board")).content.decode()
    approval.refresh_from_db()
    assert approval.status == ApprovalRequest.Status.PENDING
    assert Opportunity.objects.get(pk=opportunity.pk).stage.position == 2


def test_rep_cannot_open_an_opportunity_for_another_reps_customer(client, org):
    theirs = CustomerFactory(owner=org.rep2)
    login(client, org.rep1)
    url = reverse("sales:opportunity_create") + f"?customer={theirs.pk}"
    assert client.get(url).status_code == 404
    assert client.post(url, {"name": "偷单", "amount": "100"}).status_code == 404
    assert not Opportunity.objects.exists()


def test_rep_opens_an_opportunity_from_their_customer(client, org):
    customer = CustomerFactory(owner=org.rep1)
    login(client, org.rep1)
    url = reverse("sales:opportunity_create") + f"?customer={customer.pk}"
    page = client.get(url)
    assert page.status_code == 200 and customer.name in page.content.decode()
    response = client.post(
        url, {"name": "暑期班", "amount": "8800.50", "expected_close": "2031-07-01", "products": "暑期数学"}
    )
    opportunity = Opportunity.objects.get()
    assert response.status_code == 302 and response.url == opportunity.get_absolute_url()
    assert (opportunity.customer, opportunity.owner, opportunity.amount) == (customer, org.rep1, Decimal("8800.50"))
    assert opportunity.stage.position == 0 and opportunity.stage_history.count() == 1


def test_edit_changes_the_fields_but_not_the_stage(client, org):
    opportunity = open_for(org.rep1)
    login(client, org.rep1)
    url = reverse("sales:opportunity_edit", args=[opportunity.pk])
    response = client.post(
        url,
        {
            "name": "全年课程（加）",
            "amount": "15000",
            "probability": "40",
            "expected_close": "2031-01-31",
            "products": "数学, 英语",
            "stage": stages()[4].pk,
        },
    )
    assert response.status_code == 302
    opportunity.refresh_from_db()
    assert (opportunity.name, opportunity.amount, opportunity.probability) == ("全年课程（加）", Decimal("15000"), 40)
    assert opportunity.stage.position == 0
    bad = client.post(url, {"name": "x", "amount": "1", "probability": "120"})
    assert bad.status_code == 200 and "is-invalid" in bad.content.decode()


# --- control points -------------------------------------------------------------------------


def test_moving_past_a_control_point_answers_409_and_keeps_the_stage(client, org):
    opportunity = at_control_point(org)
    login(client, org.rep1)
    url = reverse("sales:opportunity_move", args=[opportunity.pk])
    response = client.post(url, {"stage": stages()[3].pk}, **JSON)
    assert response.status_code == 409
    data = response.json()
    assert data["ok"] is False and data["code"] == "approval_required"
    assert "方案/试听课" in data["message"]
    # the detail page's plain form: the same 409, the message beside the form
    page = client.post(url, {"stage": stages()[3].pk})
    assert page.status_code == 409
    assert "needs an approval" in page.content.decode() or "审批" in page.content.decode()
    assert 'data-testid="move-error"' in page.content.decode()
    opportunity.refresh_from_db()
    assert opportunity.stage.position == 2
    assert opportunity.stage_history.count() == 2


def test_lost_needs_a_reason(client, org):
    opportunity = open_for(org.rep1, at_stage=1)
    lost = next(s for s in stages() if s.is_lost)
    login(client, org.rep1)
    url = reverse("sales:opportunity_move", args=[opportunity.pk])
    refused = client.post(url, {"stage": lost.pk, "lost_reason": "  "}, **JSON)
    assert refused.status_code == 409 and refused.json()["message"]
    assert Opportunity.objects.get(pk=opportunity.pk).stage.position == 1
    done = client.post(url, {"stage": lost.pk, "lost_reason": "选了竞品"}, **JSON)
    assert done.status_code == 200 and done.json()["ok"] is True
    opportunity.refresh_from_db()
    assert opportunity.stage.is_lost and opportunity.lost_reason == "选了竞品" and opportunity.closed_at
    # closed: a further move is refused
    again = client.post(url, {"stage": stages()[0].pk}, **JSON)
    assert again.status_code == 409
    page = client.post(url, {"stage": stages()[0].pk})
    assert page.status_code == 409 and 'data-testid="move-error"' in page.content.decode()
    assert Opportunity.objects.get(pk=opportunity.pk).stage_id == lost.pk


def test_manager_then_director_approve_in_the_browser_then_the_move_succeeds(client, org):
    """Routed: rep1's manager first (his team's request is in his 待我审批), then the director (the
    stage's role); the rep sees who approves next; the decisions are on the record."""
    opportunity = at_control_point(org)
    detail = reverse("sales:opportunity", args=[opportunity.pk])
    rep = login(Client(), org.rep1)
    page = rep.get(detail).content.decode()
    assert reverse("sales:opportunity_request_approval", args=[opportunity.pk]) in page
    assert rep.post(reverse("sales:opportunity_request_approval", args=[opportunity.pk])).status_code == 302
    approval = ApprovalRequest.objects.get()
    decide_url = reverse("approvals:decide", args=[approval.pk])
    assert Notification.objects.filter(recipient=org.manager1, kind="approval").count() == 1
    assert Notification.objects.filter(recipient=org.director, kind="approval").count() == 0
    # the rep sees it waiting, and who decides next, and cannot decide it
    page = rep.get(detail).content.decode()
    assert 'data-testid="decision"' not in page and decide_url not in page
    assert f'data-testid="next-approver">下一位审批人：{org.manager1}' in page

    manager = login(Client(), org.manager1)
    inbox = manager.get(reverse("approvals:inbox")).content.decode()
    assert opportunity.name in inbox and decide_url in inbox and 'data-testid="inbox-count">1<' in inbox
    response = manager.post(decide_url, {"decision": "approve", "comment": "同意", "next": reverse("approvals:inbox")})
    assert response.status_code == 302 and response.url == reverse("approvals:inbox")
    assert 'data-testid="approval-row"' not in manager.get(reverse("approvals:inbox")).content.decode()
    assert f'data-testid="next-approver">下一位审批人：{org.director}' in rep.get(detail).content.decode()

    director = login(Client(), org.director)
    page = director.get(detail).content.decode()
    assert 'data-testid="decision"' in page
    response = director.post(decide_url, {"decision": "approve", "comment": "方案可行", "next": detail})
    assert response.status_code == 302 and response.url == detail
    approval.refresh_from_db()
    assert (approval.status, approval.decided_by, approval.comment) == ("approved", org.director, "方案可行")

    # the decisions are on the record, and the move now goes through
    page = rep.get(detail).content.decode()
    assert "方案可行" in page and "同意" in page and str(org.director) in page
    moved = rep.post(reverse("sales:opportunity_move", args=[opportunity.pk]), {"stage": stages()[3].pk}, **JSON)
    assert moved.status_code == 200 and moved.json()["ok"] is True
    assert Opportunity.objects.get(pk=opportunity.pk).stage.position == 3


def test_director_cannot_approve_before_the_managers_step(client, org):
    opportunity = at_control_point(org)
    approval = services.request_approval(actor=org.rep1, opportunity=opportunity)
    login(client, org.director)
    page = client.get(reverse("sales:opportunity", args=[opportunity.pk]))
    assert page.status_code == 200  # in the director's scope, but not his step yet
    assert 'data-testid="decision"' not in page.content.decode()
    assert 'data-testid="approval-row"' not in client.get(reverse("approvals:inbox")).content.decode()
    response = client.post(reverse("approvals:decide", args=[approval.pk]), {"decision": "approve", "comment": ""})
    assert response.status_code == 403
    approval.refresh_from_db()
    assert approval.status == ApprovalRequest.Status.PENDING


def test_reject_without_a_comment_shows_an_error_beside_the_field(client, org):
    opportunity = at_control_point(org)
    approval = services.request_approval(actor=org.rep1, opportunity=opportunity)
    login(client, org.manager1)
    url = reverse("approvals:decide", args=[approval.pk])
    response = client.post(url, {"decision": "reject", "comment": "  ", "next": reverse("approvals:inbox")})
    assert response.status_code == 200  # the page again, not a bare error page
    body = response.content.decode()
    assert 'data-testid="comment-error">请填写驳回原因。<' in body and 'data-testid="decision"' in body
    approval.refresh_from_db()
    assert approval.status == ApprovalRequest.Status.PENDING
    assert client.post(url, {"decision": "reject", "comment": "价格太低"}).status_code == 302
    approval.refresh_from_db()
    assert approval.status == ApprovalRequest.Status.REJECTED
    rep = login(Client(), org.rep1)
    page = rep.get(reverse("sales:opportunity", args=[opportunity.pk])).content.decode()
    assert "价格太低" in page
    assert reverse("sales:opportunity_request_approval", args=[opportunity.pk]) in page  # may ask again


# --- board and list -------------------------------------------------------------------------


def _many(org, count):
    open_stages = [s for s in stages() if not s.is_closed]
    customers = [CustomerFactory(owner=org.rep1) for _ in range(5)]
    for i in range(count):
        stage = open_stages[i % len(open_stages)]
        opportunity = Opportunity.objects.create(
            name=f"商机{i}",
            customer=customers[i % 5],
            owner=org.rep1,
            department=org.rep1.department,
            stage=stage,
            amount=Decimal("1000.00") + i,
            stage_entered_at=timezone.now() - datetime.timedelta(days=i),
        )
        opportunity.stage_history.create(stage=stage, by=org.rep1)


@pytest.mark.parametrize("count", [5, 100])
def test_board_and_list_run_a_bounded_number_of_queries(client, org, count, django_assert_max_num_queries):
    _many(org, count)
    login(client, org.manager1)
    with django_assert_max_num_queries(14):
        board = client.get(reverse("sales:board"))
    assert board.status_code == 200
    assert board.content.decode().count('class="kanban-card card"') == count
    with django_assert_max_num_queries(14):
        assert client.get(reverse("sales:board") + "?partial=1").status_code == 200
    with django_assert_max_num_queries(14):
        listing = client.get(reverse("sales:opportunities") + "?per_page=100")
    assert listing.status_code == 200
    with django_assert_max_num_queries(16):
        assert client.get(reverse("approvals:inbox")).status_code == 200


def test_board_columns_show_counts_sums_locks_and_cap_the_cards(client, org, monkeypatch):
    from sales.views import opportunities as views

    monkeypatch.setattr(views, "BOARD_LIMIT", 3)
    first = stages()[0]
    customer = CustomerFactory(owner=org.rep1)
    for i in range(5):
        services.open_opportunity(actor=org.rep1, customer=customer, name=f"卡片{i}", amount=Decimal("100.50"))
    login(client, org.rep1)
    body = client.get(reverse("sales:board")).content.decode()
    column = body.split(f'data-stage="{first.pk}"')[1].split("</section>")[0]
    assert column.count('class="kanban-card card"') == 3
    assert re.search(r'data-testid="column-count"[^>]*>5<', column)
    assert "¥502.50" in column
    assert "opportunities/?stage=" in column  # "2 more in the list"
    lock_stage = stages()[2]
    locked_column = body.split(f'data-stage="{lock_stage.pk}"')[1].split("</section>")[0]
    assert 'data-testid="lock"' in locked_column


def test_list_filters_and_totals(client, org):
    open_for(org.rep1, name="甲", amount=1000)  # stage 0: 10%
    b = open_for(org.rep1, name="乙", amount=3000, at_stage=1)  # 25%
    lost = next(s for s in stages() if s.is_lost)
    c = open_for(org.rep1, name="丙", amount=500)
    services.move_stage(actor=org.rep1, opportunity=c, stage=lost, lost_reason="预算不足")
    login(client, org.rep1)
    body = client.get(reverse("sales:opportunities")).content.decode()
    assert "甲" in body and "乙" in body and "丙" not in body  # open by default
    totals = re.search(r'data-testid="total-count">(\d+)<', body).group(1)
    assert totals == "2"
    assert "¥4,000.00" in body or "¥4000.00" in body
    assert "¥850.00" in body  # 1000 x 10% + 3000 x 25%
    body = client.get(reverse("sales:opportunities") + f"?stage={b.stage_id}").content.decode()
    assert "乙" in body and ">甲<" not in body
    body = client.get(reverse("sales:opportunities") + "?status=closed").content.decode()
    assert "丙" in body and ">甲<" not in body
    export = client.get(reverse("sales:opportunities") + "?export=csv")
    content = b"".join(export.streaming_content).decode()
    assert "甲" in content and "乙" in content


def test_board_has_no_inline_script_and_kanban_js_is_served(client, org, settings):
    open_for(org.rep1)
    login(client, org.rep1)
    body = client.get(reverse("sales:board")).content.decode()
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", body, flags=re.S)
    assert scripts and all('src="' in attrs and not content.strip() for attrs, content in scripts)
    assert not re.search(r"\son[a-z]+\s*=", body)
    assert "/static/js/kanban.js" in body
    # only the board loads it
    opportunity = Opportunity.objects.get()
    assert "kanban.js" not in client.get(reverse("sales:opportunity", args=[opportunity.pk])).content.decode()
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True
    response = Client().get("/static/js/kanban.js")
    assert response.status_code == 200
    script = b"".join(response.streaming_content) if response.streaming else response.content
    assert b"opportunity_move" not in script and b"X-CSRFToken" in script and b"dragstart" in script


# --- time in stage --------------------------------------------------------------------------


def test_time_in_each_stage_is_shown(client, org):
    start = datetime.datetime(2030, 3, 1, 9, 0, tzinfo=datetime.UTC)
    with time_machine.travel(start, tick=False):
        opportunity = open_for(org.rep1)
    with time_machine.travel(start + datetime.timedelta(days=1, hours=2, minutes=30), tick=False):
        services.move_stage(actor=org.rep1, opportunity=opportunity, stage=stages()[1])
    with time_machine.travel(start + datetime.timedelta(days=4, hours=6, minutes=30), tick=False):
        login(client, org.rep1)
        client.cookies["django_language"] = "en"  # the durations are checked in English
        body = client.get(reverse("sales:opportunity", args=[opportunity.pk])).content.decode()
        board = client.get(reverse("sales:board")).content.decode()
        listing = client.get(reverse("sales:opportunities")).content.decode()
    durations = re.findall(r'data-testid="stage-duration">([^<]+)<', body)
    assert [d.strip() for d in durations] == ["1 d 2 h", "3 d 4 h"]
    assert "3 d 4 h" in re.search(r'data-testid="time-in-stage">([^<]+)<', body).group(1)
    assert "3 d" in board
    assert re.search(r'<td class="text-end">3</td>', listing)


# --- settings -------------------------------------------------------------------------------


def test_only_directors_and_admins_configure_stages(client, org):
    login(client, org.manager1)
    assert client.get(reverse("sales:stages")).status_code == 403
    assert client.post(reverse("sales:stage_create"), {"name": "x", "position": 9, "probability": 5}).status_code == 403
    login(client, org.director)
    page = client.get(reverse("sales:stages"))
    assert page.status_code == 200 and "方案/试听课" in page.content.decode()
    response = client.post(
        reverse("sales:stage_create"),
        {"name": "合同审核", "position": 35, "probability": 85, "approval_role": "manager"},
    )
    assert response.status_code == 302
    stage = OpportunityStage.objects.get(name="合同审核")
    assert (stage.probability, stage.approval_role) == (85, "manager")
    bad = client.post(
        reverse("sales:stage_edit", args=[stage.pk]),
        {"name": "合同审核", "position": 35, "probability": 85, "is_won": "on", "is_lost": "on"},
    )
    assert bad.status_code == 200 and "is-invalid" in bad.content.decode()


# --- the board in a real browser ------------------------------------------------------------


@pytest.mark.browser
def test_dragging_cards_on_the_board(chromium, live_server, org):
    from playwright.sync_api import expect

    locked = at_control_point(org)
    free = open_for(org.rep1, name="周末班", amount=5000)
    all_stages = stages()
    lost = next(s for s in all_stages if s.is_lost)
    # wide enough for every column: a board that scrolls sideways moves the cards under the pointer
    page = signed_in_page(chromium, live_server.url, org.rep1, {"width": 2200, "height": 1000})
    errors = page.errors
    page.goto(f"{live_server.url}{reverse('sales:board')}")

    def card(opportunity):
        return page.locator(f".kanban-card[data-id='{opportunity.pk}']")

    def column(stage):
        return page.locator(f".kanban-column[data-stage='{stage.pk}']")

    # past the control point: refused, the card returns, the approval is offered right there
    card(locked).drag_to(column(all_stages[3]).locator("[data-dropzone]"))
    expect(page.locator("[data-testid=approval-modal]")).to_contain_text("方案/试听课")
    expect(page.locator("[data-testid=approval-request]")).to_be_focused()  # shown: the modal may close
    page.locator("[data-testid=approval-modal] .btn-close").click()
    expect(page.locator("[data-testid=approval-modal]")).to_be_hidden()
    expect(column(all_stages[2]).locator(f".kanban-card[data-id='{locked.pk}']")).to_have_count(1)
    expect(column(all_stages[3]).locator(".kanban-card")).to_have_count(0)
    assert Opportunity.objects.get(pk=locked.pk).stage_id == all_stages[2].pk

    # an allowed move: the card stays and the counts follow
    card(free).drag_to(column(all_stages[1]).locator("[data-dropzone]"))
    expect(page.locator("#board-alerts .alert-success")).to_be_visible()
    expect(column(all_stages[1]).locator(f".kanban-card[data-id='{free.pk}']")).to_have_count(1)
    expect(column(all_stages[1]).locator("[data-testid=column-count]")).to_have_text("1")
    expect(column(all_stages[0]).locator("[data-testid=column-count]")).to_have_text("0")
    assert Opportunity.objects.get(pk=free.pk).stage_id == all_stages[1].pk

    # lost: the reason is asked for; cancelling puts the card back
    card(free).drag_to(column(lost).locator("[data-dropzone]"))
    modal = page.locator("#lost-modal")
    expect(modal).to_be_visible()
    modal.locator("button[type=submit]").click()
    expect(modal.locator("textarea")).to_have_class(re.compile("is-invalid"))
    modal.locator("button.btn-light").click()
    expect(modal).to_be_hidden()
    expect(column(all_stages[1]).locator(f".kanban-card[data-id='{free.pk}']")).to_have_count(1)
    card(free).drag_to(column(lost).locator("[data-dropzone]"))
    expect(modal).to_be_visible()
    modal.locator("textarea").fill("选了竞品")
    modal.locator("button[type=submit]").click()
    expect(column(lost).locator("[data-testid=column-count]")).to_have_text("1")  # the server's re-render
    expect(column(lost).locator(f".kanban-card[data-id='{free.pk}']")).to_have_count(1)
    free.refresh_from_db()
    assert free.stage_id == lost.pk and free.lost_reason == "选了竞品"
    assert not errors, errors
    page.context.close()


def test_a_lost_opportunity_ticks_only_the_stages_it_was_in_never_won(client, org):
    opportunity = open_for(org.rep1, at_stage=1)
    lost = next(s for s in stages() if s.is_lost)
    services.move_stage(actor=org.rep1, opportunity=opportunity, stage=lost, lost_reason="输给竞品")
    login(client, org.rep1)
    response = client.get(reverse("sales:opportunity", args=[opportunity.pk]))
    states = {step["stage"].position: step["state"] for step in response.context["path_steps"]}
    ordered = stages()
    assert states[ordered[0].position] == "done" and states[ordered[1].position] == "done"
    assert states[ordered[2].position] == "todo"
    assert states[next(s for s in ordered if s.is_won).position] == "todo"
    assert states[lost.position] == "current"
