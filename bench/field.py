"""Benchmark scenarios of field work and the phone pages (see bench/scenarios.py).

Issue 16, item 7: the largest pages a phone opens, requested as a phone does (an iPhone in WeCom),
on the large demo set; each should answer under ``PAGE_BUDGET_MS`` (100 ms) of server time. The
same pages are held to 60 KB of HTML and the shared static bundle by
``field/tests/test_phone_weight.py``.
"""

from bench.scenarios import Scenario, register
from customers.models import Customer
from field.models import Visit
from sales.models import Lead, Opportunity

PHONE = {"HTTP_USER_AGENT": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) AppleWebKit/605.1.15 wxwork/4.1.20"}


def _customer(ctx):
    return f"/customers/{ctx.first(Customer, owner=ctx.user('rep1')).pk}/"


def _lead(ctx):
    return f"/sales/leads/{ctx.first(Lead, owner=ctx.user('rep1')).pk}/"


def _opportunity(ctx):
    return f"/sales/opportunities/{ctx.first(Opportunity, owner=ctx.user('rep1')).pk}/"


def _contact(ctx):
    return f"/field/customers/{ctx.first(Customer, owner=ctx.user('rep1')).pk}/contact/"


def _check_in(ctx):
    return f"/field/visits/new/?customer={ctx.first(Customer, owner=ctx.user('rep1')).pk}"


def _visit(ctx):
    visit = ctx.first(Visit, user=ctx.user("rep1"))
    return f"/field/visits/{visit.pk}/" if visit else "/field/visits/new/"


register(
    Scenario("phone.workbench", "rep1", "/", headers=PHONE),
    Scenario("phone.me", "rep1", "/field/me/", headers=PHONE),
    Scenario("phone.today", "rep1", "/field/today/", headers=PHONE),
    Scenario("phone.clock", "rep1", "/field/clock/", headers=PHONE),
    Scenario("phone.customers", "rep1", "/customers/", headers=PHONE),
    Scenario("phone.customers.manager1", "manager1", "/customers/", headers=PHONE),
    Scenario("phone.customer", "rep1", _customer, headers=PHONE),
    Scenario("phone.leads", "rep1", "/sales/leads/", headers=PHONE),
    Scenario("phone.lead", "rep1", _lead, headers=PHONE),
    Scenario("phone.opportunities", "rep1", "/sales/opportunities/", headers=PHONE),
    Scenario("phone.opportunity", "rep1", _opportunity, headers=PHONE),
    Scenario("phone.contact", "rep1", _contact, headers=PHONE),
    Scenario("phone.check_in", "rep1", _check_in, headers=PHONE),
    Scenario("phone.visit", "rep1", _visit, headers=PHONE),
    Scenario("phone.team_visits", "manager1", "/field/visits/team/", headers=PHONE),
    Scenario("phone.attendance", "manager1", "/field/attendance/", headers=PHONE),
    Scenario("phone.approvals", "manager1", "/approvals/", headers=PHONE),
    Scenario("phone.pool", "rep1", "/sales/pool/", headers=PHONE),
)
