"""The administrator's day (admin, 系统管理员) in Chromium on the demo business, at 1366×768 and 390×844:
users and departments, the pool rules, the lead sources, the approval chains and the audit log —
each list equal to the rows behind it, in Chinese only. On the phone every step goes by address."""

import re

import pytest

# django_db: the test database exists and the test may read it (the demo itself is committed by the package)
pytestmark = [pytest.mark.browser, pytest.mark.django_db]

SIZES = ["desk", "phone"]
ENGLISH_WORD = re.compile(r"\b(?!API\b|App\b|CSV\b|XLSX\b|ROI\b|GMV\b|demo\w*\b)[A-Za-z]{3,}\b")


@pytest.mark.parametrize("size", SIZES)
def test_the_admin_reads_users_and_departments(demo_day, size):
    from playwright.sync_api import expect

    from crm.models import Department, User
    from crm.names import person_name

    me = demo_day.open("admin", size)
    page = me.page
    me.go("/org/users/", shot="users")
    expect(page.locator("h1")).to_contain_text(f"{User.objects.count()} 条记录")
    me.no_broken_words()
    table = page.locator("main table").first
    for user in User.objects.filter(username__startswith="rep"):
        expect(table).to_contain_text(person_name(user))  # family name first: 王小明, 李晓红 …
    me.go("/org/departments/", shot="departments")
    names = [
        cell.strip().lstrip("└").strip()
        for cell in page.locator("main table tbody tr td:first-child").all_inner_texts()
    ]
    assert names == list(Department.objects.order_by("path").values_list("name", flat=True))  # the tree's order
    me.done()


@pytest.mark.parametrize("size", SIZES)
def test_the_admin_reads_pool_rules_sources_and_approval_chains(demo_day, size):
    from playwright.sync_api import expect

    from customers.models import LeadSource
    from sales.models import PoolRule

    me = demo_day.open("admin", size)
    page = me.page
    me.go("/sales/rules/", shot="sales-rules")
    main = page.locator("main")
    for rule in PoolRule.objects.select_related("department"):
        expect(main).to_contain_text(rule.department.name)
        expect(main).to_contain_text(
            f"连续 {rule.days_without_followup} 天未跟进或 {rule.days_without_deal} 天未成交"
            f"将退回公海；提前 {rule.warn_days} 天提醒负责人。"
        )
        expect(main).to_contain_text(
            f"每位销售代表最多持有 {rule.cap} 条私有记录；退回后 {rule.reclaim_cooldown_days} 天内不可重新领取。"
        )

    me.go("/customers/sources/", shot="lead-sources")
    table = page.locator("[data-testid=lead-sources]")
    expect(table.locator("tbody tr")).to_have_count(LeadSource.objects.count())
    expect(table.locator("thead")).to_contain_text("来源编码")
    expect(table.locator("thead")).not_to_contain_text("券码")  # a source's code is not a coupon code
    expect(table.locator("tbody tr").first).to_contain_text(LeadSource.objects.order_by("position", "code")[0].name)

    me.go("/approvals/chains/", shot="approval-chains")
    for label in ("关键控制点", "优惠券批次", "赔付审核", "营销活动"):
        expect(main).to_contain_text(label)
    expect(main).to_contain_text("仅当超过 ¥50,000.00")
    me.fits_the_width()
    me.done()


@pytest.mark.parametrize("size", SIZES)
def test_the_admin_reads_the_audit_log_in_chinese(demo_day, size):
    from auditlog.models import LogEntry
    from playwright.sync_api import expect

    me = demo_day.open("admin", size)
    page = me.page
    me.go("/org/audit/", shot="audit-log")
    expect(page.locator("h1")).to_contain_text(f"{LogEntry.objects.count()} 条记录")
    types = page.locator("main select[name=content_type] option").all_inner_texts()
    assert [t for t in types if ENGLISH_WORD.search(t)] == []  # every record type in Chinese
    assert len(types) > 10
    me.done()
