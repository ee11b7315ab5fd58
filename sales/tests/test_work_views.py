"""Daily work pages: follow-ups, reminders, tasks, service tickets and the workbench panels."""

import datetime
import re

import pytest
import time_machine
from django.utils import timezone

from crm.models import ApprovalRequest
from customers.models import Satisfaction
from customers.tests.factories import CustomerFactory
from sales import services
from sales.models import FollowUp, Reminder, ScoringRule, ServiceTicket, Task
from sales.services import tickets as ticket_services
from sales.tests.factories import LeadFactory

T0 = datetime.datetime(2026, 11, 24, 1, 0, tzinfo=datetime.UTC)  # 09:00 in Shanghai
LOCAL = "%Y-%m-%dT%H:%M"


def local_input(moment):
    return timezone.localtime(moment).strftime(LOCAL)


@pytest.fixture
def client(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def field_block(html, name):
    """The markup of one field of the form pattern (label, input and its errors)."""
    start = html.index(f"field-{name}")
    following = re.compile(r'class="col-[^"]*field-').search(html, start + 1)
    return html[start : following.start() if following else len(html)]


def panel(html, testid):
    """The markup of one workbench panel (its outer div, balanced)."""
    start = html.rindex("<div", 0, html.index(f'data-testid="{testid}"'))
    depth, position = 0, start
    for match in re.compile(r"<div\b|</div>").finditer(html, start):
        depth += 1 if match.group() == "<div" else -1
        if depth == 0:
            return html[start : match.end()]
    return html[start:position]


# --- follow-ups -----------------------------------------------------------------------------


def test_followup_form_shows_errors_beside_the_fields(client, org, clock):
    customer = CustomerFactory(owner=org.rep1)
    client.force_login(org.rep1)
    response = client.post(
        f"/sales/followups/new/?customer={customer.pk}",
        {
            "channel": "phone",
            "direction": "outbound",
            "outcome": "talked",
            "content": "  ",
            "next_followup_at": local_input(T0 - datetime.timedelta(hours=1)),
        },
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Write what happened." in field_block(page, "content")
    assert "The next follow-up must be in the future." in field_block(page, "next_followup_at")
    assert not FollowUp.objects.exists()


def test_bad_reminder_offsets_are_refused_beside_the_field(client, org, clock):
    customer = CustomerFactory(owner=org.rep1)
    client.force_login(org.rep1)
    page = client.post(
        f"/sales/followups/new/?customer={customer.pk}",
        {
            "channel": "phone",
            "direction": "outbound",
            "outcome": "talked",
            "content": "聊了",
            "next_followup_at": local_input(T0 + datetime.timedelta(days=1)),
            "reminder_offsets": "abc",
        },
    ).content.decode()
    assert "Use minutes, separated by commas" in field_block(page, "reminder_offsets")
    assert not FollowUp.objects.exists()


def test_followup_written_from_an_opportunity_creates_a_reminder_and_returns_to_the_opportunity(client, org, clock):
    customer = CustomerFactory(owner=org.rep1, name="张妈妈")
    opportunity = services.open_opportunity(actor=org.rep1, customer=customer, name="暑期班")
    client.force_login(org.rep1)
    url = f"/sales/followups/new/?customer={customer.pk}&opportunity={opportunity.pk}"
    assert client.get(url).status_code == 200
    nxt = T0 + datetime.timedelta(days=2)
    response = client.post(
        url,
        {
            "channel": "wechat",
            "direction": "outbound",
            "outcome": "interested",
            "content": "聊了试听课",
            "opportunity": opportunity.pk,
            "next_followup_at": local_input(nxt),
            "reminder_offsets": "60",
        },
    )
    assert response.status_code == 302 and response["Location"] == opportunity.get_absolute_url()
    followup = FollowUp.objects.get()
    assert (followup.channel, followup.outcome, followup.opportunity) == ("wechat", "interested", opportunity)
    reminder = Reminder.objects.get()
    assert reminder.owner == org.rep1 and reminder.customer == customer and reminder.due_at == nxt
    assert reminder.offsets == "60" and "张妈妈" in reminder.title


def test_followup_on_a_lead_returns_to_the_lead(client, org, clock):
    lead = LeadFactory(owner=org.rep1)
    client.force_login(org.rep1)
    response = client.post(
        f"/sales/followups/new/?lead={lead.pk}",
        {"channel": "phone", "direction": "outbound", "outcome": "no_answer", "content": "没接"},
    )
    assert response.status_code == 302 and response["Location"] == lead.get_absolute_url()
    assert lead.followups.count() == 1 and not Reminder.objects.exists()


def test_form_shows_the_last_touches_and_the_contact_cap_warning(client, org, clock, settings):
    customer = CustomerFactory(owner=org.rep1)
    client.force_login(org.rep1)
    url = f"/sales/followups/new/?customer={customer.pk}"
    for n in range(2):
        services.record_followup(
            actor=org.rep1, customer=customer, content=f"第{n}次", at=T0 - datetime.timedelta(days=3 - n)
        )
    page = client.get(url).content.decode()
    assert "第0次" in page and "第1次" in page
    assert "the cap is 3" not in page and "2 of 3 outbound touches" in page
    services.record_followup(actor=org.rep1, customer=customer, content="第2次", at=T0 - datetime.timedelta(hours=1))
    page = client.get(url).content.decode()
    assert (
        "3 outbound touches in 14 days without a reply — the cap is 3. Another push now risks driving the "
        "customer away; wait for a reply.</div>"
    ) in page
    assert 'data-testid="contact-cap"' in page and "alert-warning" in page
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    page = client.get(url).content.decode()
    assert "14 天内已主动触达 3 次未获回复，上限为 3 次。此时继续联系可能导致客户流失，请等待客户回复。</div>" in page


def test_resting_customer_shows_a_warning(client, org, clock):
    customer = CustomerFactory(owner=org.rep1, resting_since=T0 - datetime.timedelta(days=1))
    client.force_login(org.rep1)
    page = client.get(f"/sales/followups/new/?customer={customer.pk}").content.decode()
    assert "This customer is resting." in page


def test_rep_cannot_record_a_followup_on_another_reps_records(client, org, clock):
    customer = CustomerFactory(owner=org.rep2)
    lead = LeadFactory(owner=org.rep2)
    client.force_login(org.rep1)
    data = {"channel": "phone", "direction": "outbound", "outcome": "talked", "content": "偷偷跟进"}
    assert client.get(f"/sales/followups/new/?customer={customer.pk}").status_code == 404
    assert client.post(f"/sales/followups/new/?customer={customer.pk}", data).status_code == 404
    assert client.post(f"/sales/followups/new/?lead={lead.pk}", data).status_code == 404
    own = CustomerFactory(owner=org.rep1)
    other_opportunity = services.open_opportunity(actor=org.rep2, customer=customer, name="别人的")
    assert client.get(f"/sales/followups/new/?customer={own.pk}&opportunity={other_opportunity.pk}").status_code == 404
    assert not FollowUp.objects.exists()


# --- reminders ------------------------------------------------------------------------------


@pytest.fixture
def reminders(org, clock):
    customer = CustomerFactory(owner=org.rep1, name="李爸爸")
    make = lambda title, delta: services.create_reminder(  # noqa: E731
        owner=org.rep1, title=title, due_at=T0 + delta, customer=customer
    )
    return {
        "overdue": make("逾期提醒", -datetime.timedelta(hours=3)),
        "today": make("今天提醒", datetime.timedelta(hours=2)),
        "later": make("下周提醒", datetime.timedelta(days=7)),
    }


def test_reminder_list_shows_overdue_then_today_then_later(client, org, reminders):
    client.force_login(org.rep1)
    page = client.get("/sales/reminders/").content.decode()
    assert page.index("逾期提醒") < page.index("今天提醒") < page.index("下周提醒")
    assert (
        page.index('data-section="overdue"') < page.index('data-section="today"') < page.index('data-section="later"')
    )
    assert "李爸爸" in page


def test_owner_completes_snoozes_and_reschedules_a_reminder(client, org, reminders):
    client.force_login(org.rep1)
    overdue, today, later = reminders["overdue"], reminders["today"], reminders["later"]
    response = client.post(f"/sales/reminders/{overdue.pk}/complete/", {"next": "/sales/reminders/"})
    assert response.status_code == 302
    overdue.refresh_from_db()
    assert overdue.status == Reminder.Status.DONE

    client.post(f"/sales/reminders/{today.pk}/snooze/", {"until": "1h"})
    today.refresh_from_db()
    assert today.due_at == T0 + datetime.timedelta(hours=1)
    client.post(f"/sales/reminders/{today.pk}/snooze/", {"until": "tomorrow"})
    today.refresh_from_db()
    assert timezone.localtime(today.due_at).strftime("%Y-%m-%d %H:%M") == "2026-11-25 09:00"

    moved = T0 + datetime.timedelta(days=3, hours=2)
    client.post(f"/sales/reminders/{later.pk}/reschedule/", {"due_at": local_input(moved)})
    later.refresh_from_db()
    assert later.due_at == moved and later.status == Reminder.Status.OPEN


def test_rescheduling_into_the_past_is_refused(client, org, reminders):
    client.force_login(org.rep1)
    later = reminders["later"]
    response = client.post(
        f"/sales/reminders/{later.pk}/reschedule/",
        {"due_at": local_input(T0 - datetime.timedelta(days=1))},
        follow=True,
    )
    assert "Choose a time in the future." in response.content.decode()
    later.refresh_from_db()
    assert later.due_at == T0 + datetime.timedelta(days=7)


def test_reminder_actions_answer_404_to_anyone_but_the_owner(client, org, reminders):
    reminder = reminders["today"]
    for user in (org.rep2, org.manager1):
        client.force_login(user)
        assert client.post(f"/sales/reminders/{reminder.pk}/complete/").status_code == 404
        assert client.post(f"/sales/reminders/{reminder.pk}/snooze/", {"until": "1h"}).status_code == 404
        assert (
            client.post(
                f"/sales/reminders/{reminder.pk}/reschedule/", {"due_at": local_input(T0 + datetime.timedelta(days=1))}
            ).status_code
            == 404
        )
    reminder.refresh_from_db()
    assert reminder.status == Reminder.Status.OPEN and reminder.due_at == T0 + datetime.timedelta(hours=2)


def test_workbench_panel_rerenders_after_an_htmx_action(client, org, reminders):
    client.force_login(org.rep1)
    home = client.get("/").content.decode()
    assert 'id="panel-reminders"' in home and "逾期提醒" in home and "今天提醒" in home
    response = client.post(f"/sales/reminders/{reminders['overdue'].pk}/complete/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    panel = response.content.decode()
    assert panel.lstrip().startswith('<div class="card" id="panel-reminders"')
    assert "逾期提醒" not in panel and "今天提醒" in panel and "<html" not in panel
    response = client.post(
        f"/sales/reminders/{reminders['today'].pk}/reschedule/",
        {"due_at": local_input(T0 - datetime.timedelta(days=1))},
        HTTP_HX_REQUEST="true",
    )
    assert "Choose a time in the future." in response.content.decode()


def test_reminder_notices_link_to_the_customer(org, reminders):
    from crm.models import Notification

    with time_machine.travel(reminders["today"].due_at, tick=False):
        services.dispatch_due()
    note = Notification.objects.filter(recipient=org.rep1, title__contains="今天提醒").first()
    assert note.url == reminders["today"].customer.get_absolute_url()


# --- tasks ----------------------------------------------------------------------------------


def test_rep_creates_and_completes_a_task(client, org, clock):
    customer = CustomerFactory(owner=org.rep1, name="王奶奶")
    client.force_login(org.rep1)
    assert client.get(f"/sales/tasks/new/?customer={customer.pk}").status_code == 200
    due = T0 + datetime.timedelta(days=1)
    response = client.post(
        f"/sales/tasks/new/?customer={customer.pk}",
        {"title": "送资料", "assignee": org.rep1.pk, "due_at": local_input(due), "priority": "high"},
    )
    assert response.status_code == 302 and response["Location"] == customer.get_absolute_url()
    task = Task.objects.get()
    assert (task.assignee, task.customer, task.due_at, task.priority) == (org.rep1, customer, due, "high")
    assert task.reminder.due_at == due
    page = client.get("/sales/tasks/").content.decode()
    assert "送资料" in page and "王奶奶" in page
    # on a phone each task is a card; the table is for wider screens
    assert (page.count('data-testid="task-card"'), page.count('data-testid="task-complete"')) == (1, 1)
    assert '<div class="table-responsive d-none d-sm-block"><table class="table table-hover align-middle mb-0">' in page
    page = client.post(f"/sales/tasks/{task.pk}/complete/", follow=True).content.decode()
    assert "Done: 送资料" in page and "No open tasks." in page
    task.refresh_from_db()
    task.reminder.refresh_from_db()
    assert task.status == Task.Status.DONE and task.reminder.status == Reminder.Status.DONE


def test_task_form_errors_and_scope(client, org, clock):
    client.force_login(org.rep1)
    page = client.post(
        "/sales/tasks/new/",
        {
            "title": "",
            "assignee": org.rep2.pk,
            "priority": "normal",
            "due_at": local_input(T0 - datetime.timedelta(hours=1)),
        },
    ).content.decode()
    assert "This field is required." in field_block(page, "title")
    assert "Select a valid choice." in field_block(page, "assignee")  # a rep assigns only to themself
    assert "Choose a time in the future." in field_block(page, "due_at")
    other = CustomerFactory(owner=org.rep2)
    assert client.get(f"/sales/tasks/new/?customer={other.pk}").status_code == 404
    task = services.create_task(actor=org.rep2, assignee=org.rep2, title="别人的任务")
    assert client.post(f"/sales/tasks/{task.pk}/complete/").status_code == 404
    assert not Task.objects.filter(status=Task.Status.DONE).exists()


def test_manager_sees_and_assigns_the_teams_tasks(client, org, clock):
    services.create_task(actor=org.rep1, assignee=org.rep1, title="一组任务")
    services.create_task(actor=org.rep3, assignee=org.rep3, title="二部任务")
    client.force_login(org.manager1)
    page = client.get("/sales/tasks/").content.decode()
    assert "一组任务" in page and "二部任务" not in page
    response = client.post("/sales/tasks/new/", {"title": "回访", "assignee": org.rep2.pk, "priority": "normal"})
    assert response.status_code == 302
    assert Task.objects.get(title="回访").assignee == org.rep2
    response = client.post("/sales/tasks/new/", {"title": "越权", "assignee": org.rep3.pk, "priority": "normal"})
    assert response.status_code == 200 and not Task.objects.filter(title="越权").exists()


def test_a_new_a_grade_leads_24h_task_shows_on_the_reps_workbench(client, org, clock):
    ScoringRule.objects.create(criterion="source", value="referral", points=50)
    ScoringRule.objects.create(criterion="has_need", points=30)
    lead = services.capture_lead(name="王先生", mobile="13900000003", source="referral", need="一对一", owner=org.rep1)
    assert lead.grade == "A"
    client.force_login(org.rep1)
    page = client.get("/").content.decode()
    assert "24 小时内致电 A 级线索 王先生" in panel(page, "panel-tasks")  # written in the default language
    assert "王先生" in panel(page, "panel-hot-leads")


# --- service tickets ------------------------------------------------------------------------


def test_ticket_lifecycle_with_csat(client, org, clock):
    customer = CustomerFactory(owner=org.rep1, name="陈女士")
    client.force_login(org.rep1)
    assert client.get(f"/sales/tickets/new/?customer={customer.pk}").status_code == 200
    response = client.post(
        f"/sales/tickets/new/?customer={customer.pk}",
        {
            "kind": "complaint",
            "title": "老师迟到",
            "description": "两次迟到",
            "due_at": local_input(T0 + datetime.timedelta(days=2)),
        },
    )
    ticket = ServiceTicket.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/sales/tickets/{ticket.pk}/"
    assert (ticket.owner, ticket.customer, ticket.kind, ticket.status) == (org.rep1, customer, "complaint", "open")

    listing = client.get("/sales/tickets/").content.decode()
    assert "老师迟到" in listing and "陈女士" in listing

    response = client.post(
        f"/sales/tickets/{ticket.pk}/",
        {
            "kind": "complaint",
            "title": "老师迟到（已联系）",
            "description": "两次迟到",
            "status": "in_progress",
            "owner": org.rep1.pk,
            "due_at": local_input(T0 + datetime.timedelta(days=2)),
        },
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == "in_progress" and ticket.title == "老师迟到（已联系）"

    response = client.post(f"/sales/tickets/{ticket.pk}/resolve/", {"resolution": "", "csat": "4"})
    assert "Write how it was resolved." in field_block(response.content.decode(), "resolution")
    response = client.post(
        f"/sales/tickets/{ticket.pk}/resolve/", {"resolution": "换了老师，补一节课", "csat": "4", "comment": "满意"}
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == "resolved" and ticket.resolved_at == T0
    record = Satisfaction.objects.get(customer=customer)
    assert (record.kind, record.score, record.source, record.recorded_by) == ("csat", 4, "service", org.rep1)
    page = client.get(f"/sales/tickets/{ticket.pk}/").content.decode()
    assert "换了老师" in page and "Mark resolved" not in page
    # a resolved ticket is not resolved (and scored) twice
    client.post(f"/sales/tickets/{ticket.pk}/resolve/", {"resolution": "again", "csat": "1"})
    assert Satisfaction.objects.count() == 1

    client.post(
        f"/sales/tickets/{ticket.pk}/",
        {"kind": "complaint", "title": "老师迟到（已联系）", "status": "closed", "owner": org.rep1.pk},
    )
    ticket.refresh_from_db()
    assert ticket.status == "closed"


def test_resolving_without_csat_records_no_satisfaction(org, clock):
    customer = CustomerFactory(owner=org.rep1)
    ticket = ticket_services.open_ticket(actor=org.rep1, customer=customer, title="开发票")
    ticket_services.resolve_ticket(actor=org.rep1, ticket=ticket, resolution="已开")
    assert not Satisfaction.objects.exists()
    ticket.refresh_from_db()
    assert ticket.status == "resolved"


def test_ticket_status_rules(client, org, clock):
    customer = CustomerFactory(owner=org.rep1)
    ticket = ticket_services.open_ticket(actor=org.rep1, customer=customer, title="改课时")
    client.force_login(org.rep1)
    page = client.post(
        f"/sales/tickets/{ticket.pk}/", {"kind": "request", "title": "改课时", "status": "closed", "owner": org.rep1.pk}
    ).content.decode()
    assert "Select a valid choice." in field_block(page, "status")
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        ticket_services.update_ticket(actor=org.rep1, ticket=ticket, status="closed")
    with pytest.raises(ValidationError):
        ticket_services.update_ticket(actor=org.rep1, ticket=ticket, status="resolved")


def test_ticket_list_highlights_overdue_tickets(client, org, clock):
    customer = CustomerFactory(owner=org.rep1)
    late = ticket_services.open_ticket(
        actor=org.rep1, customer=customer, title="逾期工单", due_at=T0 + datetime.timedelta(hours=1)
    )
    ticket_services.open_ticket(
        actor=org.rep1, customer=customer, title="正常工单", due_at=T0 + datetime.timedelta(days=3)
    )
    client.force_login(org.rep1)
    with time_machine.travel(T0 + datetime.timedelta(hours=2), tick=False):
        page = client.get("/sales/tickets/").content.decode()
    rows = re.findall(r'<tr[^>]*data-overdue="(\d)"[^>]*>(.*?)</tr>', page, re.S)
    flags = {("逾期工单" in body): flag for flag, body in rows}
    assert flags == {True: "1", False: "0"}
    assert late.title in page


def test_tickets_are_scoped(client, org, clock):
    customer = CustomerFactory(owner=org.rep2)
    ticket = ticket_services.open_ticket(actor=org.rep2, customer=customer, title="别人的工单")
    client.force_login(org.rep1)
    assert client.get(f"/sales/tickets/{ticket.pk}/").status_code == 404
    assert client.post(f"/sales/tickets/{ticket.pk}/resolve/", {"resolution": "x"}).status_code == 404
    assert client.get(f"/sales/tickets/new/?customer={customer.pk}").status_code == 404
    assert "别人的工单" not in client.get("/sales/tickets/").content.decode()
    client.force_login(org.manager1)
    assert client.get(f"/sales/tickets/{ticket.pk}/").status_code == 200


def test_new_ticket_without_customer_searches_the_users_customers(client, org, clock):
    CustomerFactory(owner=org.rep1, name="赵同学")
    CustomerFactory(owner=org.rep2, name="赵别人")
    client.force_login(org.rep1)
    page = client.get("/sales/tickets/new/?q=赵").content.decode()
    assert "赵同学" in page and "赵别人" not in page


# --- workbenches ----------------------------------------------------------------------------


def test_rep_workbench_shows_overdue_reminders_and_empty_states(client, org, clock):
    client.force_login(org.rep1)
    page = client.get("/").content.decode()
    assert "Nothing due today and nothing overdue." in page
    assert "No open tasks." in page and "No open A or B grade leads right now." in page
    assert "None of your records is about to return to the pool." in page
    services.create_reminder(
        owner=org.rep1,
        title="昨天该打的电话",
        due_at=T0 - datetime.timedelta(days=1),
        customer=CustomerFactory(owner=org.rep1),
    )
    page = client.get("/").content.decode()
    assert "昨天该打的电话" in page and 'data-testid="overdue-count">1<' in page


def test_rep_workbench_shows_recent_pool_warnings(client, org, clock):
    from crm.notifications import notify

    notify(recipient=org.rep1, kind="pool_warning", title="3 条线索即将回到公海", url="/sales/leads/?mine=1")
    notify(recipient=org.rep1, kind="reminder", title="普通提醒")
    client.force_login(org.rep1)
    page = client.get("/").content.decode()
    warnings = panel(page, "panel-pool-warnings")
    assert "3 条线索即将回到公海" in warnings and "普通提醒" not in warnings


def test_director_workbench_shows_pending_approvals_stuck_deals_and_team_figures(client, org, clock):
    customer = CustomerFactory(owner=org.rep1, name="大客户")
    opportunity = services.open_opportunity(actor=org.rep1, customer=customer, name="全年课程", amount=12000)
    stages = list(opportunity.stage.__class__.objects.order_by("position"))
    opportunity = services.move_stage(actor=org.rep1, opportunity=opportunity, stage=stages[2])
    approval = services.request_approval(actor=org.rep1, opportunity=opportunity)
    with time_machine.travel(T0 - datetime.timedelta(days=20), tick=False):
        services.open_opportunity(actor=org.rep3, customer=CustomerFactory(owner=org.rep3), name="卡住的商机")
    services.create_reminder(owner=org.rep1, title="逾期", due_at=T0 - datetime.timedelta(hours=5), customer=customer)

    client.force_login(org.manager1)  # his team's request comes to him first (then to the director)
    page = client.get("/").content.decode()
    approvals = panel(page, "panel-approvals")
    assert 'data-testid="approvals-count">1<' in approvals and "全年课程" in approvals
    assert 'data-testid="nav-approvals-count">1<' in page
    services.decide_approval(actor=org.manager1, approval=approval, approve=True)

    client.force_login(org.director)
    page = client.get("/").content.decode()
    approvals = panel(page, "panel-approvals")
    assert 'data-testid="approvals-count">1<' in approvals and "全年课程" in approvals
    stuck = panel(page, "panel-stuck")
    assert "卡住的商机" in stuck and "全年课程" not in stuck
    assert 'data-testid="panel-team"' in page and "New customers, last 30 days" in page  # the chart stays

    client.force_login(org.manager1)  # his step is done: the director's step is not his
    page = client.get("/").content.decode()
    assert 'data-testid="approvals-count">0<' in page and "No approvals are waiting for you." in page
    assert ApprovalRequest.objects.filter(status="pending").count() == 1


def test_marketing_home_has_no_sales_panels(client, org, clock):
    client.force_login(org.marketing)
    page = client.get("/").content.decode()
    assert client.get("/").status_code == 200 and 'data-testid="panel-team"' not in page


@pytest.mark.parametrize("count", [5, 100])
def test_rep_workbench_runs_a_bounded_number_of_queries(client, org, clock, django_assert_max_num_queries, count):
    customer = CustomerFactory(owner=org.rep1)
    lead = LeadFactory(owner=org.rep1, grade="A")
    for n in range(count):
        due = T0 + datetime.timedelta(hours=(n % 3) - 1, minutes=n)  # overdue, today and later
        Reminder.objects.create(
            owner=org.rep1,
            title=f"r{n}",
            due_at=due,
            customer=customer if n % 2 else None,
            lead=None if n % 2 else lead,
        )
        Task.objects.create(title=f"t{n}", assignee=org.rep1, due_at=due, customer=customer)
    client.force_login(org.rep1)
    with django_assert_max_num_queries(17):
        response = client.get("/")
    assert response.status_code == 200
    with django_assert_max_num_queries(8):
        assert client.get("/sales/reminders/").status_code == 200
    with django_assert_max_num_queries(8):
        assert client.get("/sales/tasks/").status_code == 200


@pytest.mark.parametrize("count", [5, 100])
def test_manager_workbench_runs_a_bounded_number_of_queries(client, org, clock, django_assert_max_num_queries, count):
    with time_machine.travel(T0 - datetime.timedelta(days=20), tick=False):
        for n in range(count // 5):
            services.open_opportunity(actor=org.rep1, customer=CustomerFactory(owner=org.rep1), name=f"o{n}")
    customer = CustomerFactory(owner=org.rep1)
    for n in range(count):
        Reminder.objects.create(owner=org.manager1, title=f"r{n}", due_at=T0 - datetime.timedelta(minutes=n + 1))
        ServiceTicket.objects.create(
            customer=customer, owner=org.rep1, title=f"k{n}", due_at=T0 + datetime.timedelta(hours=n - 50)
        )
    client.force_login(org.manager1)
    with django_assert_max_num_queries(29):  # 26 + the marketing panel (3)
        assert client.get("/").status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get("/sales/tickets/").status_code == 200
