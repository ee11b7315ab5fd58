"""Benchmark scenarios of the coupons app (see bench/scenarios.py). Code production and claim
throughput through gunicorn are measured by ``python -m bench.coupon_claims``."""

import datetime

from bench.scenarios import Scenario, register


def _busiest_batch(ctx):
    from coupons.models import Batch

    return ctx.cached("coupon-batch", lambda: Batch.objects.filter(status="active").order_by("-issued", "id").first())


def _busiest_account(ctx):
    from coupons.models import BudgetAccount

    return ctx.cached("coupon-account", lambda: BudgetAccount.objects.order_by("-used", "id").first())


def _monitoring_90_days(ctx):
    from django.utils import timezone

    start = timezone.localdate() - datetime.timedelta(days=89)
    return f"/coupons/monitoring/?start={start.isoformat()}"


def _monitoring_department(ctx):
    from crm.models import User

    department = User.objects.get(username="manager1").department_id
    return f"/coupons/monitoring/?department={department}"


def _dashboard_department(ctx):
    from crm.models import User

    department = User.objects.get(username="manager1").department_id
    return f"/coupons/dashboard/?period=quarter&department={department}"


register(
    Scenario("coupons.campaigns", "marketing", "/coupons/", note="campaigns and the batch list (100 newest)"),
    Scenario("coupons.budgets", "marketing", "/coupons/budgets/"),
    Scenario("coupons.budget.detail", "marketing", lambda ctx: _busiest_account(ctx).get_absolute_url()),
    Scenario("coupons.batch.detail", "marketing", lambda ctx: _busiest_batch(ctx).get_absolute_url()),
    Scenario("coupons.campaign.detail", "marketing", lambda ctx: _busiest_batch(ctx).campaign.get_absolute_url()),
    Scenario("coupons.monitoring", "director", "/coupons/monitoring/", note="30 days, every department in scope"),
    Scenario("coupons.monitoring.90d", "marketing", _monitoring_90_days),
    Scenario("coupons.monitoring.department", "manager1", _monitoring_department),
    Scenario("coupons.subsidy_plans", "marketing", "/coupons/subsidy/"),
    Scenario("coupons.dashboard", "director", "/coupons/dashboard/", note="this month, every department in scope"),
    Scenario(
        "coupons.dashboard.year",
        "marketing",
        "/coupons/dashboard/?period=year",
        note="the whole year (every claim and redemption of the set)",
    ),
    Scenario("coupons.dashboard.department", "manager1", _dashboard_department, note="this quarter, one department"),
    Scenario("coupons.dashboard.channel", "director", "/coupons/dashboard/?period=year&channel=app"),
    Scenario(
        "coupons.dashboard.year.cold",
        "marketing",
        "/coupons/dashboard/?period=year",
        runs=1,
        warmups=0,
        request=lambda client, ctx: (_forget_dashboard_cache(), client.get("/coupons/dashboard/?period=year"))[1],
        note="the year with an empty figures cache (first view after ten minutes)",
    ),
    Scenario("coupons.dashboard.export", "director", "/coupons/dashboard/?period=year&export=xlsx&table=batches"),
)


def _forget_dashboard_cache():
    import datetime

    from django.core.cache import cache
    from django.utils import timezone

    from coupons.services.dashboard import CACHE_PREFIX, _units

    today = timezone.localdate()
    cache.delete_many(
        [
            f"{CACHE_PREFIX}:{kind}:{first.isoformat()}"
            for kind, first, _last in _units(datetime.date(today.year, 1, 1), today)
        ]
    )
