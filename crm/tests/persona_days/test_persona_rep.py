"""A rep's day (rep1, 王小明, team 一部一组) in Chromium on the demo business, at 1366×768 and 390×844:
the workbench with today's reminders, a lead, "写跟进" on a lead, a customer and an opportunity, an
opportunity moved on a stage, a claim from the pool of 销售一部, and his control point approved by his
manager and then the director. On the phone every step goes by address or by a link in the page, never through the menu."""

import re

import pytest

from crm.tests.personas import today_bounds

# django_db: the test database exists and the test may read it (the demo itself is committed by the module)
pytestmark = [pytest.mark.browser, pytest.mark.django_db]

SIZES = ["desk", "phone"]
# a source code, a channel code or any English word left on a Chinese page ("来源为 event")
# (order numbers such as "DEMO-0000882" are upper case and not words)
ENGLISH_WORD = re.compile(r"\b(?!App\b)(?=[A-Za-z]*[a-z])[A-Za-z]{3,}\b")


def yuan(amount):
    return f"¥{amount:,.2f}"


@pytest.mark.parametrize("size", SIZES)
def test_the_workbench_shows_his_customers_and_todays_reminders(demo_day, size):
    from playwright.sync_api import expect

    from customers.models import Customer
    from sales import demo
    from sales.models import PoolMove, PoolWarning, Reminder

    rep = demo_day.users()["rep1"]
    me = demo_day.open("rep1", size)
    me.shot("workbench")
    page = me.page
    expect(page.locator("h1")).to_have_text("我的工作台")
    expect(page.locator("[data-testid=customer-total]")).to_have_text(str(Customer.objects.filter(owner=rep).count()))
    start, end = today_bounds()
    # day one: the first recycle run returned the 5 records the demo left stale and warned 5 owners
    assert PoolMove.objects.filter(reason__in=("no_followup", "no_deal")).count() == sum(demo.STALE.values())
    assert PoolWarning.objects.filter(sent_at__gte=start).count() == sum(demo.DUE_SOON.values())
    open_reminders = Reminder.objects.filter(status=Reminder.Status.OPEN)
    # day one: one reminder due today for each of the four reps, all later today (it is 11:20)
    assert open_reminders.filter(due_at__gte=start, due_at__lt=end).count() == demo.REMINDERS_DUE_TODAY
    mine_today = list(open_reminders.filter(owner=rep, due_at__gte=start, due_at__lt=end).select_related("customer"))
    assert len(mine_today) == 1
    overdue = open_reminders.filter(owner=rep, due_at__lt=start).count()
    panel = page.locator("[data-testid=panel-reminders]")
    expect(panel.locator("[data-testid=today-count]")).to_have_text(str(len(mine_today)))
    expect(panel.locator("[data-testid=overdue-count]")).to_have_text(str(overdue))
    expect(panel).to_contain_text(mine_today[0].customer.name)
    expect(panel).to_contain_text("今天回访：确认试听时间")
    me.fits_the_width()
    me.no_wrapped_buttons()

    me.go("/sales/reminders/", shot="reminders")
    expect(page.locator("h1 .badge")).to_have_text(str(open_reminders.filter(owner=rep).count()))
    me.fits_the_width()
    me.done()


@pytest.mark.parametrize("size", SIZES)
def test_he_writes_a_followup_from_a_lead_a_customer_and_an_opportunity(demo_day, size):
    from playwright.sync_api import expect

    from customers.models import Customer
    from sales.models import FollowUp, Lead, Opportunity

    rep = demo_day.users()["rep1"]
    index = SIZES.index(size)  # a different record at each size
    lead = Lead.objects.filter(owner=rep, status__in=Lead.OPEN_STATUSES).order_by("id")[index]
    customer = Customer.objects.filter(owner=rep).order_by("id")[index]
    opportunity = Opportunity.objects.filter(owner=rep, closed_at__isnull=True, stage__approval_role="").order_by("id")[
        index
    ]
    me = demo_day.open("rep1", size)
    page = me.page
    for record, where, shot in [
        (lead, "lead", "lead"),
        (customer, "customer", "customer-360"),
        (opportunity, "opportunity", "opportunity"),
    ]:
        me.go(record.get_absolute_url(), shot=shot)
        expect(page.locator("h1")).to_contain_text(record.name)
        assert ENGLISH_WORD.findall(me.main()) == []
        me.fits_the_width()
        me.click(page.locator("[data-testid=write-followup]"), shot=f"followup-form-{where}")
        content = f"{where}：约了周六上午试听（{size}）"
        page.locator("textarea[name=content]").fill(content)
        before = FollowUp.objects.filter(**{where: record}).count()
        me.click(page.locator("main form button[type=submit]").first)
        # back on the page it was written from, which lists the touch (an opportunity's too)
        assert page.url == demo_day.base_url + record.get_absolute_url()
        expect(page.locator(".alert-success")).to_contain_text("跟进已记录")
        assert FollowUp.objects.filter(**{where: record}).count() == before + 1
        assert FollowUp.objects.filter(**{where: record}, content=content, created_by=rep).count() == 1
        expect(page.locator("main")).to_contain_text(content)
    # the opportunity page names its owner family name first and shows the amount with separators
    me.go(opportunity.get_absolute_url())
    expect(page.locator("main dl")).to_contain_text("赢单率（%）")  # not "（%%）"
    expect(page.locator("main dl")).to_contain_text("王小明")
    expect(page.locator("main dl")).to_contain_text(yuan(opportunity.amount))
    me.done()


@pytest.mark.parametrize("size", SIZES)
def test_he_moves_an_opportunity_to_the_next_stage(demo_day, size):
    from playwright.sync_api import expect

    from sales.models import Opportunity, OpportunityStage

    rep = demo_day.users()["rep1"]
    stages = list(OpportunityStage.objects.order_by("position"))
    opportunity = Opportunity.objects.filter(owner=rep, stage=stages[0]).order_by("id")[SIZES.index(size)]
    me = demo_day.open("rep1", size)
    page = me.page
    me.go(opportunity.get_absolute_url())
    expect(page.locator("[data-testid=current-stage]")).to_have_text(stages[0].name)
    page.locator("main select[name=stage]").select_option(str(stages[1].pk))
    me.click(page.locator("main form:has(select[name=stage]) button[type=submit]"), shot="stage-moved")
    expect(page.locator("[data-testid=current-stage]")).to_have_text(stages[1].name)
    assert Opportunity.objects.get(pk=opportunity.pk).stage_id == stages[1].pk
    me.done()


@pytest.mark.parametrize("size", SIZES)
def test_he_claims_a_customer_from_the_pool_of_his_department(demo_day, size):
    from playwright.sync_api import expect

    from crm.models import Department
    from customers.models import Customer
    from sales.models import Lead

    rep = demo_day.users()["rep1"]
    sales1 = Department.objects.get(name="销售一部")
    # the pool of 销售一部: the unowned records of the department and of its two teams
    tree = Department.objects.filter(path__startswith=sales1.path)
    in_pool = Customer.objects.filter(owner__isnull=True, department__in=tree)
    leads_in_pool = Lead.objects.filter(owner__isnull=True, department__in=tree).count()
    customers_in_pool = in_pool.count()
    me = demo_day.open("rep1", size)
    page = me.page
    me.go("/sales/pool/?tab=customers", shot="pool")
    me.no_broken_words()
    expect(page.locator("[data-testid=count-leads]")).to_have_text(str(leads_in_pool))
    expect(page.locator("[data-testid=count-customers]")).to_have_text(str(customers_in_pool))
    form = page.locator("[data-testid=pool-customers] tbody form").first
    pk = int(form.get_attribute("action").strip("/").split("/")[-2])
    name = Customer.objects.get(pk=pk).name
    expect(page.locator("[data-testid=pool-customers] tbody tr").first).to_contain_text(name)
    me.click(form.locator("button[type=submit]"), shot="pool-claimed")
    expect(page.locator(".alert-success")).to_contain_text(name)
    assert Customer.objects.get(pk=pk).owner == rep
    expect(page.locator("[data-testid=count-customers]")).to_have_text(str(customers_in_pool - 1))
    assert in_pool.count() == customers_in_pool - 1
    me.done()


@pytest.mark.parametrize("size", SIZES)
def test_his_control_point_is_approved_by_the_manager_then_the_director(demo_day, size):
    """The control point the demo left waiting on day one: by the time rep1 looks again (the
    package walks the managers' day first), 陈经理 and then 周总监 have approved it, and the
    opportunity's page says so."""
    from playwright.sync_api import expect

    from crm.models import ApprovalRequest
    from sales.models import Opportunity

    users = demo_day.users()
    asked = (
        ApprovalRequest.objects.filter(kind="opportunity_control_point", requested_by=users["rep1"])
        .order_by("pk")
        .first()
    )
    opportunity = Opportunity.objects.get(pk=asked.object_id)
    deciders = list(asked.steps.order_by("position").values_list("decided_by__username", flat=True))
    assert (asked.status, deciders) == ("approved", ["manager1", "director"])
    me = demo_day.open("rep1", size)
    page = me.page
    me.go(opportunity.get_absolute_url(), shot="control-point")
    me.no_broken_words("#stage-history")
    control = page.locator("[data-testid=control-point]")
    expect(control).to_contain_text("周总监")
    expect(control).to_have_class(re.compile(r"alert-success"))
    expect(page.locator("[data-testid=current-stage]")).to_have_text(opportunity.stage.name)
    me.done()
