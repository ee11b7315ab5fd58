"""Issue 18's persona days in Chromium on the demo business, at 1366×768 and 390×844.

- partner1 (杭州云帆's channel clerk) signs in and lands in the portal, registers a free lead and is
  told it is protected; partner2 (苏州恒通) registers the same mobile and is told it is already
  registered, without being told by whom, while 恒通's channel manager is notified and the conflict
  is in the channel managers' list; partner1 sees an attributed order and confirms a paid statement.
- With the admin's lead distribution rule on, a new lead goes to 杭州云帆 (the only active A-grade
  partner, grade A weighted alone): partner1 finds it under "leads handed to me" and records that it
  was contacted; partner2 never sees it.
- The channel manager (manager1) generates last month's statements (again: still one per partner),
  reviews one and sends it for approval; the director approves it from his inbox (never the
  preparer); manager1 records the payment. The total equals the sum of its lines to the cent."""

from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.db.models import Sum

from crm.tests.browser import VIEWPORTS
from crm.tests.parallel import run_parallel
from crm.tests.personas import TIMEOUT_MS, Person

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

SIZES = ["desk", "phone"]


def sign_in(day, username, size):
    """A partner user's sign-in: the home page leads into the portal."""
    context = day.browser.new_context(
        viewport=VIEWPORTS[size], locale="zh-CN", bypass_csp=True
    )  # axe is injected by the test
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    person = Person(page, day.base_url, username, size)
    page.goto(f"{day.base_url}/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill("crm-demo")
    with page.expect_navigation():
        page.locator("form button[type=submit]").first.click()
    page.wait_for_load_state("load")
    assert urlsplit(page.url).path == "/portal/", page.url
    return person


def confirm_dialog(person, button):
    """Press a button whose form asks first, then the dialog's confirm."""
    button.click()
    with person.page.expect_navigation():
        person.page.locator("#confirm-modal .js-confirm-ok").click()
    person.page.wait_for_load_state("load")


@pytest.mark.parametrize("size", SIZES)
def test_a_partner_registers_a_lead_sees_an_order_and_confirms_a_statement(demo_day, size):
    from playwright.sync_api import expect

    from crm.models import Notification
    from partners.models import Attribution, LeadRegistration, Partner, Statement

    yunfan, hengtong = Partner.objects.get(code="DEMO0001"), Partner.objects.get(code="DEMO0002")
    mobile = "1396660000" + str(SIZES.index(size))
    me = sign_in(demo_day, "partner1", size)
    page = me.page
    expect(page.locator("[data-testid=portal-grade]")).to_have_text("A 级")
    protected = LeadRegistration.objects.filter(partner=yunfan, status="protected").count()
    expect(page.locator("[data-testid=portal-protected]")).to_have_text(str(protected))
    me.fits_the_width()

    me.go("/portal/registrations/", shot="registration")
    page.locator("#id_name").fill("吴晓燕")
    page.locator("#id_mobile").fill(mobile)
    me.click(page.get_by_role("button", name="提交报备"), shot="registered")
    result = page.locator("[data-testid=registration-result]")
    expect(result).to_have_attribute("data-outcome", "protected")
    expect(result).to_contain_text("吴晓燕 可以报备")
    assert LeadRegistration.objects.get(mobile=mobile, partner=yunfan).status == "protected"
    me.fits_the_width()
    me.no_broken_words()

    # another partner tries the same mobile: told it is taken, never by whom; 恒通's manager is told
    other = sign_in(demo_day, "partner2", size)
    notices = Notification.objects.filter(recipient=hengtong.owner, kind="partner_registration_conflict").count()
    other.go("/portal/registrations/")
    other.page.locator("#id_name").fill("吴晓燕")
    other.page.locator("#id_mobile").fill(mobile)
    other.click(other.page.get_by_role("button", name="提交报备"), shot="conflict")
    result = other.page.locator("[data-testid=registration-result]")
    expect(result).to_have_attribute("data-outcome", "registered")
    assert "云帆" not in other.main()
    assert LeadRegistration.objects.get(mobile=mobile, partner=hengtong).conflict_reason == "registered"
    assert (
        Notification.objects.filter(recipient=hengtong.owner, kind="partner_registration_conflict").count()
        == notices + 1
    )
    other.done()

    # an attributed order
    latest = (
        Attribution.objects.filter(partner=yunfan)
        .select_related("order__customer")
        .order_by("-order__placed_at")
        .first()
    )
    me.go("/portal/orders/", shot="orders")
    first_row = page.locator("[data-testid=portal-orders] tbody tr").first
    expect(first_row).to_contain_text(str(latest.order_id))
    expect(first_row).to_contain_text(latest.order.customer.name)
    me.no_broken_words()

    # a paid statement waiting for the partner's confirmation (desk the older, phone the newer)
    waiting = list(
        Statement.objects.filter(partner=yunfan, status="paid", confirmed_at__isnull=True).order_by("period")
    )
    statement = waiting[0]
    me.go("/portal/statements/")
    me.click(page.get_by_role("link", name=statement.period.strftime("%Y-%m")))
    total = statement.lines.aggregate(s=Sum("amount"))["s"]
    expect(page.locator("[data-testid=statement-total]")).to_have_text(f"¥{total:,.2f}")
    confirm_dialog(me, page.get_by_role("button", name="确认结算单"))
    me.shot("confirmed")
    expect(page.locator("[data-testid=statement-confirmed]")).to_contain_text("已确认")
    statement.refresh_from_db()
    assert statement.confirmed_by.username == "partner1"
    me.fits_the_width()
    me.done()


@pytest.mark.parametrize("size", SIZES)
def test_a_partner_sees_a_lead_handed_to_them_and_records_the_outcome(demo_day, size):
    from playwright.sync_api import expect

    from partners.models import LeadDistributionRule, LeadHandover
    from sales.models import AssignmentRule
    from sales.services.leads import capture_lead

    name, mobile = f"郑晓峰{SIZES.index(size)}", "1395550000" + str(SIZES.index(size))

    def a_new_lead():
        """The lead arrives on a connection of its own (committed, as the live server sees it); the
        demo's assignment rules take every lead, so for this one none does (then all are back)."""
        LeadDistributionRule.objects.update_or_create(
            pk=1, defaults={"is_active": True, "weight_a": 1, "weight_b": 0, "weight_c": 0, "weight_d": 0}
        )
        rules = list(AssignmentRule.objects.filter(is_active=True).values_list("pk", flat=True))
        AssignmentRule.objects.filter(pk__in=rules).update(is_active=False)
        try:
            return capture_lead(name=name, mobile=mobile, region="浙江省杭州市西湖区", need="门店加盟咨询")
        finally:
            AssignmentRule.objects.filter(pk__in=rules).update(is_active=True)
            LeadDistributionRule.objects.filter(pk=1).update(is_active=False)

    [lead] = run_parallel([a_new_lead])
    assert LeadHandover.objects.get(lead=lead).partner.code == "DEMO0001"

    me = sign_in(demo_day, "partner1", size)
    page = me.page
    me.click(page.get_by_role("link", name="交给我的线索"), shot="handed-leads")
    row = page.locator(
        "[data-testid=handed-leads] tbody tr:visible, [data-testid=handed-lead-cards] > li:visible"
    ).filter(has_text=name)
    expect(row).to_contain_text(mobile)
    expect(row.locator("[data-testid=outcome]")).to_have_text("未跟进")
    me.fits_the_width()
    me.no_broken_words()
    me.click(row.get_by_role("button", name="已联系"), shot="contacted")
    expect(page.locator(".alert-success")).to_contain_text(f"{name}：已记录为“已联系”。")
    row = page.locator(
        "[data-testid=handed-leads] tbody tr:visible, [data-testid=handed-lead-cards] > li:visible"
    ).filter(has_text=name)
    expect(row.locator("[data-testid=outcome]")).to_have_text("已联系")
    assert LeadHandover.objects.get(lead=lead).outcome == "contacted"
    me.done()

    other = sign_in(demo_day, "partner2", size)
    other.go("/portal/leads/")
    assert name not in other.main()
    other.done()


@pytest.mark.parametrize("size", SIZES)
def test_the_channel_manager_generates_reviews_approves_and_pays_the_month(demo_day, size):
    from playwright.sync_api import expect

    from crm.models import ApprovalRequest
    from partners.models import Statement

    code = ("DEMO0001", "DEMO0002")[SIZES.index(size)]
    draft = Statement.objects.get(partner__code=code, status="draft")
    statements_before = Statement.objects.count()
    me = demo_day.open("manager1", size)
    page = me.page
    me.go("/partners/statements/", shot="statements")
    page.locator("input[name=month]").fill(draft.period.strftime("%Y-%m"))  # a month input
    confirm_dialog(me, page.get_by_role("button", name="生成"))
    assert Statement.objects.count() == statements_before  # one statement per partner and month
    me.go(draft.get_absolute_url(), shot="review")
    lines = draft.lines.aggregate(s=Sum("amount"))["s"]
    expect(page.locator("[data-testid=statement-total]")).to_have_text(f"¥{lines:,.2f}")
    expect(page.locator("[data-testid=statement-lines] tbody tr")).to_have_count(draft.lines.count())
    confirm_dialog(me, page.get_by_role("button", name="提交审批"))
    expect(page.locator("[data-testid=statement-status]")).to_have_text("待审批")
    request = ApprovalRequest.objects.get(kind="partner_statement", object_id=draft.pk)
    assert request.requested_by.username == "manager1"

    # the preparer has nothing to decide; the director approves from his inbox
    boss = demo_day.open("director", size)
    boss.go("/approvals/")
    row = boss.page.locator("[data-testid=approval-row]").filter(has_text=draft.partner.name)
    row.locator("input[name=comment]").fill("核对无误")
    boss.click(row.locator("[data-testid=approve]"), shot="approved")
    expect(boss.page.locator(".alert-success")).to_contain_text("已通过")
    boss.done()
    draft.refresh_from_db()
    assert draft.status == "approved"

    me.go(draft.get_absolute_url())
    confirm_dialog(me, page.get_by_role("button", name="记录付款"))
    me.shot("paid")
    expect(page.locator("[data-testid=statement-status]")).to_have_text("已支付")
    draft.refresh_from_db()
    assert (draft.status, draft.total) == ("paid", draft.lines.aggregate(s=Sum("amount"))["s"] or Decimal("0.00"))
    me.fits_the_width()
    me.done()
