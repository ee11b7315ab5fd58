"""The marketing admin's day, in headless Chromium: build a segment of high-intent parents with no
order in 60 days (live count while editing), create an open-day campaign for it with a coupon batch,
add the event and the invitation, get it approved, send it (opt-outs held back), record attendance,
and see the leads, deals, GMV and ROI on the campaign page."""

import datetime
import os
from decimal import Decimal

import pytest

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from crm.demo import DEMO_PASSWORD, DemoContext, seed_organization
from crm.tests.test_browser import TIMEOUT_MS, Problems, browser  # noqa: F401

pytestmark = pytest.mark.browser


@pytest.fixture
def world(transactional_db):
    from django.utils import timezone

    from coupons.models import Batch, BudgetAccount, FiscalPeriod
    from coupons.models import Campaign as CouponCampaign
    from customers.models import Customer, CustomerTag, Tag, TagGroup

    ctx = DemoContext(size="small", seed=1)
    seed_organization(ctx)
    intent = TagGroup.objects.create(name="意向", multiple=False)
    stage = TagGroup.objects.create(name="人生阶段", multiple=False)
    high = Tag.objects.create(group=intent, name="高意向")
    primary = Tag.objects.create(group=stage, name="小学")
    rep = ctx.users["rep1"]
    target = []
    for index in range(5):
        customer = Customer.objects.create(
            name=f"目标家长{index}", mobile=f"1390000100{index}", owner=rep, department=rep.department
        )
        CustomerTag.objects.create(customer=customer, tag=high)
        CustomerTag.objects.create(customer=customer, tag=primary)
        target.append(customer)
    other = Customer.objects.create(name="普通家长", mobile="13900002000", owner=rep, department=rep.department)
    CustomerTag.objects.create(customer=other, tag=primary)
    from marketing.models import OptOut

    OptOut.objects.create(customer=target[4], channel="sms")
    today = timezone.localdate()
    period = FiscalPeriod.objects.create(
        name="FY", kind="year", start=today.replace(month=1, day=1), end=today.replace(month=12, day=31)
    )
    account = BudgetAccount.objects.create(
        period=period,
        department=ctx.departments["marketing"],
        total=Decimal("50000"),
        owner=ctx.users["marketing"],
        target_gmv=Decimal("500000"),
    )
    coupon_campaign = CouponCampaign.objects.create(
        name="开放日券",
        owner=ctx.users["marketing"],
        department=account.department,
        budget_account=account,
        start=today,
        end=today + datetime.timedelta(days=30),
    )
    now = timezone.now()
    Batch.objects.create(
        campaign=coupon_campaign,
        code="openday100",
        name="开放日满1000减100",
        discount_type="threshold",
        amount=Decimal("100"),
        threshold=Decimal("1000"),
        quantity=100,
        claim_start=now,
        claim_end=now + datetime.timedelta(days=30),
        use_days=30,
        status=Batch.Status.ACTIVE,
        production="lazy",
    )
    return {"ctx": ctx, "target": target, "high": high, "primary": primary}


def _log_in(browser, base_url, username):
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="en-US")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto(f"{base_url}/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(DEMO_PASSWORD)
    with page.expect_navigation():
        page.locator("form button[type=submit]").first.click()
    select = page.locator("header.topbar select[name=language]")
    with page.expect_navigation():
        select.select_option("en")
    return context, page


def _builder(page, action):
    """Do ``action`` in the segment builder and wait until htmx has swapped in the new builder: the
    answer to the request the action made, not to one still under way from the action before (that
    one could satisfy the wait, and its late swap replace the builder the next action works on)."""
    with page.expect_request(lambda r: "/marketing/segments/builder/" in r.url) as asked:
        action()
    asked.value.response()
    page.wait_for_function("() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")


def _confirm(page):
    page.locator("#confirm-modal .js-confirm-ok").click()


def test_marketing_admin_runs_an_open_day(browser, live_server, world):
    from playwright.sync_api import expect

    from customers.services import record_order
    from marketing.models import Campaign, Segment

    base = live_server.url
    context, page = _log_in(browser, base, "marketing")
    problems = Problems(page, base)
    count = page.locator("[data-testid=segment-count]")

    # 1. the segment, with the live count following each change
    problems.step = "segment builder"
    page.goto(f"{base}/marketing/segments/new/")
    page.locator("#id_name").fill("高意向小学家长 · 60天未下单")
    _builder(page, lambda: page.locator("select[name=g0-c0-field]").select_option("tags"))
    _builder(page, lambda: page.locator("select[name=g0-c0-op]").select_option("all"))
    _builder(
        page,
        lambda: page.locator("select[name=g0-c0-value]").select_option(
            [str(world["high"].pk), str(world["primary"].pk)]
        ),
    )
    expect(count).to_have_text("5")
    _builder(page, lambda: page.locator("[data-testid=add-condition]").click())
    _builder(page, lambda: page.locator("select[name=g0-c1-field]").select_option("days_since_order"))
    page.locator("input[name=g0-c1-value]").fill("60")
    _builder(page, lambda: page.locator("input[name=g0-c1-value]").press("Tab"))
    expect(count).to_have_text("5")
    with page.expect_navigation():
        page.get_by_role("button", name="Save segment").click()
    expect(page.locator("[data-testid=segment-size]")).to_have_text("5")
    segment = Segment.objects.get()

    # 2. the campaign for it, with the coupon batch
    problems.step = "campaign form"
    with page.expect_navigation():
        page.get_by_role("link", name="New campaign for it").click()
    page.locator("#id_name").fill("冬季开放日")
    page.locator("#id_kind").select_option("meeting")
    today = datetime.date.today()
    page.locator("#id_start").fill(today.isoformat())
    page.locator("#id_end").fill((today + datetime.timedelta(days=20)).isoformat())
    page.locator("input[name=channels][value=sms]").check()
    page.locator("#id_spent").fill("500")
    from coupons.models import Batch

    page.locator("#id_batches").select_option(str(Batch.objects.get(code="openday100").pk))
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    campaign = Campaign.objects.get()
    assert campaign.segment == segment and campaign.batches.count() == 1

    # 3. the event and the invitation
    problems.step = "event"
    with page.expect_navigation():
        page.locator("main a[href$='/events/new/']").click()
    page.locator("#id_name").fill("周六开放日")
    page.locator("#id_starts_at").fill(f"{(today + datetime.timedelta(days=5)).isoformat()}T10:00")
    page.locator("#id_ends_at").fill(f"{(today + datetime.timedelta(days=5)).isoformat()}T12:00")
    page.locator("#id_capacity").fill("50")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    event_url = page.url
    problems.step = "touch"
    page.goto(f"{base}{campaign.get_absolute_url()}")
    with page.expect_navigation():
        page.locator("main a[href$='/touches/new/']").click()
    page.locator("#id_body").fill("{name}家长您好，周六开放日邀您来体验")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    with page.expect_navigation():
        page.get_by_role("button", name="Submit for approval").click()
    expect(page.locator("[data-testid=campaign-status]")).to_have_text("Awaiting approval")

    # 4. the director approves (routed to him: head office's marketing has no manager above it)
    problems.step = "approval"
    expect(page.locator("[data-testid=next-approver]")).to_contain_text("周总监")
    admin_context, admin_page = _log_in(browser, base, "director")
    admin_page.goto(f"{base}{campaign.get_absolute_url()}")
    with admin_page.expect_navigation():
        admin_page.get_by_role("button", name="Approve").click()
    expect(admin_page.locator("[data-testid=campaign-status]")).to_have_text("Approved")
    admin_context.close()

    # 5. send: the opted-out parent is held back
    problems.step = "send"
    page.goto(f"{base}{campaign.get_absolute_url()}")
    with page.expect_navigation():
        page.locator("[data-testid=touch-row] a", has_text="Send").click()
    expect(page.locator("[data-testid=send-recipients]")).to_have_text("4")
    expect(page.locator("[data-testid=send-held]")).to_contain_text("opted out")
    page.locator("[data-testid=send-now]").click()
    with page.expect_navigation():
        _confirm(page)
    expect(page.locator("[data-testid=touch-row]")).to_contain_text("Sent")

    # 6. attendance at the door; one family buys
    problems.step = "attendance"
    page.goto(event_url)
    page.locator("#id_mobile").fill(world["target"][0].mobile)
    page.locator("#id_attended").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Register", exact=True).click()
    page.locator("#id_mobile").fill("13712345678")
    page.locator("#id_name").fill("新来的家长")
    with page.expect_navigation():
        page.get_by_role("button", name="Register", exact=True).click()
    expect(page.locator("[data-testid=event-attended]")).to_have_text("1")
    expect(page.locator("[data-testid=registration-row]")).to_have_count(2)
    record_order(customer=world["target"][0], amount=Decimal("3600.00"))

    # 7. the campaign page shows what it produced
    problems.step = "figures"
    page.goto(f"{base}{campaign.get_absolute_url()}")
    with page.expect_navigation():
        page.get_by_role("button", name="Refresh").click()
    expect(page.locator("[data-testid=fig-reached]")).to_have_text("4")
    expect(page.locator("[data-testid=fig-registered]")).to_have_text("2 / 1")
    expect(page.locator("[data-testid=fig-leads]")).to_contain_text("1")
    expect(page.locator("[data-testid=fig-deals]")).to_have_text("1")
    expect(page.locator("[data-testid=fig-gmv]")).to_have_text("¥3,600.00")
    expect(page.locator("[data-testid=fig-roi]")).to_have_text("6.20")  # (3600 - 500) / 500
    assert page.locator("[data-chart=campaign-funnel] canvas").count() == 1
    page.screenshot(path=os.environ.get("CRM_SCREENSHOT", "/tmp/marketing-campaign.png"), full_page=True)
    context.close()
    assert problems.items == []
