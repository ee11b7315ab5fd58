"""Benchmark scenarios of the customers app (see bench/scenarios.py)."""

import datetime

from bench.scenarios import Scenario, register


def _longest_history_url(ctx):
    """The 360 view of the customer with the most orders (the longest timeline)."""
    from customers.models import Customer

    customer = ctx.cached("longest", lambda: Customer.objects.order_by("-order_count", "id").first())
    return f"/customers/{customer.pk}/"


def _flows_year_url(ctx):
    today = datetime.date.today()
    return f"/customers/segments/?since={today - datetime.timedelta(days=365)}&until={today}"


def _department_segments_url(ctx):
    from crm.models import User

    department_id = ctx.cached("manager1-dept", lambda: User.objects.get(username="manager1").department_id)
    return f"/customers/segments/?department={department_id}"


def _dashboard_department_url(ctx):
    from crm.models import User

    department_id = ctx.cached("manager1-dept", lambda: User.objects.get(username="manager1").department_id)
    return f"/customers/dashboard/?period=year&department={department_id}&source=website"


def _dashboard_custom_url(ctx):
    today = datetime.date.today()
    return (
        f"/customers/dashboard/?period=custom&date_from={today.replace(day=1).replace(year=today.year - 2)}"
        f"&date_to={today}"
    )


register(
    # the customer overview (客户大盘): read from the rollups of customers.services.dashboard
    # (build them first: refresh_dashboard(), then VACUUM ANALYZE the rollup tables)
    Scenario("customers.dashboard.admin", "admin", "/customers/dashboard/", note="last 12 months"),
    Scenario("customers.dashboard.director", "director", "/customers/dashboard/"),
    Scenario("customers.dashboard.manager1", "manager1", "/customers/dashboard/"),
    Scenario("customers.dashboard.rep1", "rep1", "/customers/dashboard/"),
    Scenario(
        "customers.dashboard.filtered",
        "director",
        _dashboard_department_url,
        note="this year, one department, one channel",
    ),
    Scenario("customers.dashboard.custom25m", "admin", _dashboard_custom_url, note="25 months, 25 cohorts"),
    Scenario(
        "customers.dashboard.export",
        "admin",
        "/customers/dashboard/?export=xlsx&table=cohorts",
        note="XLSX of the cohort table",
    ),
)

register(
    # one page holds the quadrant (+ scatter), the 3×3 grid, the lifecycle counts, the flows and the 80/20
    Scenario("customers.segments.manager1", "manager1", "/customers/segments/"),
    Scenario("customers.segments.admin", "admin", "/customers/segments/"),
    Scenario("customers.segments.director", "director", "/customers/segments/"),
    Scenario("customers.segments.department", "director", _department_segments_url),
    Scenario("customers.segments.flows_year", "admin", _flows_year_url, note="stage flows over 365 days"),
    Scenario("customers.detail.longest", "admin", _longest_history_url, note="customer with the most orders"),
    Scenario("customers.orders", "director", "/customers/orders/"),
    Scenario("customers.orders.page500", "admin", "/customers/orders/?page=500"),
    Scenario("customers.tag_filter", "director", "/customers/?tags=1&tags=4&tags_match=any"),
    Scenario("customers.sort.total", "director", "/customers/?sort=-total_amount"),
    Scenario(
        "customers.list.page4000.director", "director", "/customers/?page=4000&per_page=20", note="near the last page"
    ),
)
