"""Benchmark scenarios of the sales app (see bench/scenarios.py).

The pages of issue 4's benchmark: the lead list (per role, filtered, searched), the public pool,
the kanban board, the opportunity list, the rep's workbench (the home page of a rep) and the
reminders. The two jobs (the pool recycle over all records, dispatching 100,000 due reminder
notices) are timed by ``bench/sales_jobs.py``, which runs them in a transaction it rolls back.
"""

from bench.scenarios import Scenario, register
from sales.models import Lead


def _lead_detail_url(ctx):
    lead = ctx.cached("sales.busy_lead", lambda: Lead.objects.filter(owner=ctx.user("rep1")).order_by("pk").first())
    return f"/sales/leads/{lead.pk}/"


register(
    # the lead inbox (线索)
    Scenario("sales.leads", "manager1", "/sales/leads/"),
    Scenario("sales.leads.rep1", "rep1", "/sales/leads/"),
    Scenario("sales.leads.director", "director", "/sales/leads/"),
    Scenario("sales.leads.100", "director", "/sales/leads/?per_page=100", note="a list of 100 rows"),
    Scenario("sales.leads.grade_a", "director", "/sales/leads/?grade=A&sort=-score"),
    Scenario("sales.leads.search", "director", "/sales/leads/?q=王"),
    Scenario("sales.leads.all_page200", "admin", "/sales/leads/?status=all&page=200"),
    Scenario("sales.lead_detail", "rep1", _lead_detail_url),
    # the public pool (公海)
    Scenario("sales.pool", "rep1", "/sales/pool/"),
    Scenario("sales.pool.manager1", "manager1", "/sales/pool/"),
    # the kanban board and the list (商机)
    Scenario("sales.board", "director", "/sales/opportunities/board/"),
    Scenario("sales.board.manager1", "manager1", "/sales/opportunities/board/"),
    Scenario("sales.board.rep1", "rep1", "/sales/opportunities/board/"),
    Scenario("sales.opportunities", "director", "/sales/opportunities/"),
    Scenario("sales.opportunities.100", "director", "/sales/opportunities/?per_page=100", note="a list of 100 rows"),
    # the rep's workbench (the home page of a rep) and the manager's
    Scenario("sales.workbench.rep1", "rep1", "/"),
    Scenario("sales.workbench.manager1", "manager1", "/"),
    Scenario("sales.reminders", "rep1", "/sales/reminders/"),
    Scenario("sales.followups", "manager1", "/sales/followups/"),
    Scenario("sales.followups.director", "director", "/sales/followups/"),
    Scenario("sales.tasks", "rep1", "/sales/tasks/"),
)

register(
    # the managers' dashboards (issue 7)
    Scenario("sales.dashboard", "director", "/sales/dashboard/"),
    Scenario("sales.dashboard.manager1", "manager1", "/sales/dashboard/"),
    Scenario("sales.dashboard.rep1", "rep1", "/sales/dashboard/"),
    Scenario("sales.dashboard.year", "director", "/sales/dashboard/?preset=year"),
    Scenario("sales.dashboard.channel", "director", "/sales/dashboard/?preset=quarter&source=website"),
    Scenario("sales.dashboard.export", "director", "/sales/dashboard/?preset=year&export=xlsx&table=activity"),
    Scenario("sales.dashboard_performance", "director", "/sales/dashboard/performance/"),
    Scenario("sales.dashboard_performance.manager1", "manager1", "/sales/dashboard/performance/"),
    Scenario("sales.dashboard_performance.year", "director", "/sales/dashboard/performance/?granularity=year"),
    Scenario(
        "sales.dashboard_performance.customers",
        "director",
        "/sales/dashboard/performance/?granularity=year&metric=new_customers",
    ),
)
