import datetime
from decimal import Decimal

from django.utils import timezone

from coupons.models import Batch, BudgetAccount, Campaign, FiscalPeriod


def make_budget(org, total="10000.00", department=None):
    period, _ = FiscalPeriod.objects.get_or_create(
        name="2026Q4",
        defaults={"kind": "quarter", "start": datetime.date(2026, 10, 1), "end": datetime.date(2026, 12, 31)},
    )
    return BudgetAccount.objects.create(
        period=period,
        department=department or org.sales1,
        total=Decimal(total),
        owner=org.manager1,
        target_gmv=Decimal("100000"),
    )


def make_batch(org, account=None, **overrides):
    account = account or make_budget(org)
    campaign = Campaign.objects.create(
        name="双十一",
        owner=org.marketing,
        department=account.department,
        budget_account=account,
        start=datetime.date(2026, 11, 1),
        end=datetime.date(2026, 12, 31),
    )
    now = timezone.now()
    values = dict(
        campaign=campaign,
        code=f"b{Batch.objects.count() + 1}",
        name="满200减20",
        discount_type="threshold",
        amount=Decimal("20"),
        threshold=Decimal("200"),
        quantity=100,
        per_customer_limit=2,
        per_day_limit=1,
        claim_start=now - datetime.timedelta(days=1),
        claim_end=now + datetime.timedelta(days=30),
        use_days=7,
        status=Batch.Status.ACTIVE,
        production=Batch.Production.LAZY,
    )
    values.update(overrides)
    return Batch.objects.create(**values)
