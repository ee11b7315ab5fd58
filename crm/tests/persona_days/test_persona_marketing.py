"""Marketing's day (marketing, 赵运营, 市场部) in Chromium on the demo business, at 1366×768 and 390×844:
the coupon batches with their issue and production progress, one batch in detail, the budgets and
the campaigns — every figure equal to a recount from the rows. On the phone every step goes by
address or by a link in the page."""

from decimal import Decimal

import pytest

# django_db: the test database exists and the test may read it (the demo itself is committed by the package)
pytestmark = [pytest.mark.browser, pytest.mark.django_db]

SIZES = ["desk", "phone"]


def yuan(amount):
    return f"¥{amount:,.2f}"


@pytest.mark.parametrize("size", SIZES)
def test_marketing_follows_a_batch_from_the_list_to_its_codes(demo_day, size):
    from playwright.sync_api import expect

    from coupons.models import Batch, Coupon, Redemption
    from crm.money import money_short

    batch = Batch.objects.get(code="demo007")  # an active batch with claims and redemptions
    coupons = Coupon.objects.filter(batch=batch)
    issued = coupons.exclude(status="available").count()
    redeemed = Redemption.objects.filter(coupon__batch=batch).count()
    me = demo_day.open("marketing", size)
    page = me.page
    me.go("/coupons/", shot="batches")
    row = page.locator("main table tbody tr", has_text="demo007")
    expect(row).to_contain_text(f"{issued} / {batch.quantity}")
    expect(row).to_contain_text(f"{redeemed / issued:.1%}")
    me.click(row.locator(f"a[href='{batch.get_absolute_url()}']").first, shot="batch")
    main = page.locator("main")
    expect(main).to_contain_text(f"{issued} / {batch.quantity}")
    expect(main).to_contain_text(f"{coupons.count()} / {batch.quantity}")  # codes produced
    expect(main).to_contain_text("100%")
    # the cards read in 万 and show the whole figure: ¥24,780.00 → ¥2.48万, never "¥24,780.…"
    gmv = sum((r.order_amount for r in Redemption.objects.filter(coupon__batch=batch)), Decimal(0))
    expect(page.locator("[data-testid=batch-gmv]")).to_have_text(money_short(gmv))
    assert "万" in money_short(gmv)
    me.values_fit("[data-testid=batch-gmv], [data-testid=batch-subsidy]")
    expect(main).to_contain_text(f"平台 {batch.platform_share:g}%")
    # the claims list names each channel in Chinese
    for code in ("mini_program", "store", "sales"):
        expect(main).not_to_contain_text(f"· {code}")
    assert coupons.filter(channel="mini_program").exists()
    expect(main).to_contain_text("小程序")
    me.fits_the_width()
    me.done()


@pytest.mark.parametrize("size", SIZES)
def test_marketing_reads_the_budgets_and_the_campaigns(demo_day, size):
    from playwright.sync_api import expect

    from coupons.models import BudgetAccount
    from marketing.models import Campaign

    me = demo_day.open("marketing", size)
    page = me.page
    me.go("/coupons/budgets/", shot="budgets")
    table = page.locator("main table").first
    accounts = list(BudgetAccount.objects.select_related("department", "period"))
    expect(table.locator("tbody tr")).to_have_count(len(accounts))
    for account in accounts:
        row = table.locator("tbody tr", has_text=f"{account.department.name} · {account.period.name}")
        balance = account.total - account.reserved - account.used
        expect(row).to_contain_text(yuan(account.total))
        expect(row).to_contain_text(yuan(balance))
        assert balance >= Decimal(0)

    me.go("/marketing/", shot="campaigns")
    expect(page.locator("h1")).to_contain_text(f"{Campaign.objects.count()} 条记录")
    campaign = Campaign.objects.order_by("pk").first()
    link = page.locator(f"main a[href='{campaign.get_absolute_url()}']").first
    me.click(link, shot="campaign")
    expect(page.locator("h1")).to_contain_text(campaign.name)
    me.done()
