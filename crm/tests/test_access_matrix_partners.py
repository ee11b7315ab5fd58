"""The access matrix of partners (代理商及合作伙伴): for every role, a GET is 200 for the roles
``crm.permissions.ACTIONS`` allows and 403 for the others; a refused POST changes nothing; a partner
outside the user's scope is 404."""

import datetime
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from crm import permissions
from crm.models import Role
from crm.tests.factories import UserFactory
from customers.models import Order
from customers.tests.factories import CustomerFactory
from partners.models import (
    Attribution,
    CommissionRule,
    DealerStore,
    LeadDistributionRule,
    Partner,
    PartnerContact,
    PartnerFollowUp,
    PartnerStatusChange,
    PartnerUser,
    Statement,
    StatementLine,
)

ROLES = [Role.REP, Role.MANAGER, Role.DIRECTOR, Role.MARKETING, Role.ADMIN]


def _partner(user, name="矩阵渠道"):
    partner = Partner.objects.create(
        name=name, code=f"M{user.pk:07d}", owner=user, department=user.department, status="active"
    )
    partner.rule = CommissionRule.objects.create(name="矩阵规则", rate=Decimal("5"))
    partner.order = Order.objects.create(customer=CustomerFactory(owner=user), amount=Decimal("100"))
    partner.statement = Statement.objects.create(partner=partner, period=datetime.date(2026, 11, 1))
    return partner


#: (name, url of the partner, ACTIONS entry, whether to try a POST: True, False or "only")
PAGES = [
    ("list", lambda p: reverse("partners:list"), "partners.view", False),
    ("list_xlsx", lambda p: reverse("partners:list") + "?export=xlsx", "partners.export", False),
    ("board", lambda p: reverse("partners:board"), "partners.view", False),
    ("create", lambda p: reverse("partners:create"), "partners.change", True),
    ("detail", lambda p: reverse("partners:detail", args=[p.pk]), "partners.view", False),
    ("edit", lambda p: reverse("partners:edit", args=[p.pk]), "partners.change", True),
    ("move", lambda p: reverse("partners:move", args=[p.pk]), "partners.change", "only"),
    ("grade", lambda p: reverse("partners:grade", args=[p.pk]), "partners.grade", "only"),
    ("contact_add", lambda p: reverse("partners:contact_add", args=[p.pk]), "partners.change", "only"),
    ("follow_up_add", lambda p: reverse("partners:follow_up_add", args=[p.pk]), "partners.change", "only"),
    ("attribute", lambda p: reverse("partners:attribute", args=[p.pk]), "partners.attribute", "only"),
    ("rules", lambda p: reverse("partners:rules"), "partners.configure", False),
    ("rebates", lambda p: reverse("partners:rebates"), "partners.configure", False),
    ("rebate_new", lambda p: reverse("partners:rebate_create"), "partners.configure", True),
    ("distribution", lambda p: reverse("partners:distribution"), "partners.distribute", True),
    ("statements", lambda p: reverse("partners:statements"), "partners.view", False),
    ("statement", lambda p: reverse("partners:statement", args=[p.statement.pk]), "partners.view", False),
    ("statement_generate", lambda p: reverse("partners:statement_generate"), "partners.settle", "only"),
    (
        "statement_adjust",
        lambda p: reverse("partners:statement_adjust", args=[p.statement.pk]),
        "partners.settle",
        "only",
    ),
    (
        "statement_submit",
        lambda p: reverse("partners:statement_action", args=[p.statement.pk, "submit"]),
        "partners.settle",
        "only",
    ),
    ("rule_new", lambda p: reverse("partners:rule_create"), "partners.configure", True),
    ("rule_edit", lambda p: reverse("partners:rule_edit", args=[p.rule.pk]), "partners.configure", True),
    (
        "statement_xlsx",
        lambda p: reverse("partners:statement", args=[p.statement.pk]) + "?export=xlsx",
        "partners.export",
        False,
    ),
    ("registrations", lambda p: reverse("partners:registrations") + "?status=conflict", "partners.view", False),
    ("stores", lambda p: reverse("partners:stores", args=[p.pk]), "partners.view", False),
    ("store_add", lambda p: reverse("partners:store_add", args=[p.pk]), "partners.change", "only"),
    ("portal_user_add", lambda p: reverse("partners:portal_user_add", args=[p.pk]), "partners.change", "only"),
]


def state():
    return (
        list(Partner.objects.values_list("pk", "name", "status", "grade").order_by("pk")),
        PartnerContact.objects.count(),
        PartnerFollowUp.objects.count(),
        PartnerStatusChange.objects.count(),
        list(CommissionRule.objects.values_list("pk", "name", "rate").order_by("pk")),
        Attribution.objects.count(),
        list(Statement.objects.values_list("pk", "status", "total").order_by("pk")),
        StatementLine.objects.count(),
        DealerStore.objects.count(),
        PartnerUser.objects.count(),
        list(LeadDistributionRule.objects.values_list("is_active", "weight_a", "daily_cap")),
    )


@pytest.mark.parametrize("role", ROLES)
def test_every_partner_page_answers_as_the_role_allows(org, role):
    user = UserFactory(username=f"partners-{role}", role=role, department=org.sales1)
    partner = _partner(user)
    client = Client(raise_request_exception=False)
    client.force_login(user)
    failures = []
    for name, url_of, action, post in PAGES:
        url = url_of(partner)
        ok = role in permissions.ACTIONS[action]
        if post != "only":
            status = client.get(url).status_code
            if status != (200 if ok else 403):
                failures.append(f"GET {name} {url}: {status}, expected {200 if ok else 403}")
        if post and not ok:
            before = state()
            status = client.post(
                url,
                {
                    "name": "changed",
                    "kind": "agent",
                    "owner": user.pk,
                    "department": org.sales1.pk,
                    "status": "negotiating",
                    "grade": "A",
                    "content": "changed",
                    "is_primary": "on",
                    "order": partner.order.pk,
                    "note": "changed",
                    "mode": "percent",
                    "rate": "9",
                    "priority": "0",
                    "month": "2026-11",
                    "amount": "5",
                    "customer": partner.order.customer_id,
                    "username": "zq-portal",
                    "password": "zq-secret-123",
                    "is_active": "on",
                    "weight_a": "9",
                    "weight_b": "9",
                    "weight_c": "9",
                    "weight_d": "9",
                    "daily_cap": "1",
                },
            ).status_code
            if status != 403:
                failures.append(f"POST {name} {url}: {status}, expected 403")
            if state() != before:
                failures.append(f"POST {name} {url}: FORBIDDEN WRITE")
    assert failures == []


def test_a_rep_opens_and_changes_no_partner_of_another_rep(client, org):
    theirs = _partner(org.rep2)
    client.force_login(org.rep1)
    before = state()
    for name in ("detail", "edit", "stores"):
        assert client.get(reverse(f"partners:{name}", args=[theirs.pk])).status_code == 404, name
    for name in ("edit", "move", "contact_add", "follow_up_add", "store_add", "portal_user_add"):
        response = client.post(
            reverse(f"partners:{name}", args=[theirs.pk]),
            {
                "name": "changed",
                "status": "negotiating",
                "content": "x",
                "kind": "call",
                "username": "zq-x",
                "password": "zq-secret-123",
                "customer": theirs.order.customer_id,
            },
        )
        assert response.status_code == 404, name
    assert state() == before


def test_a_manager_sees_his_departments_partners_and_not_the_other_departments(client, org):
    mine, other = _partner(org.rep1, "一部渠道"), _partner(org.rep3, "二部渠道")
    client.force_login(org.manager1)
    assert client.get(reverse("partners:detail", args=[mine.pk])).status_code == 200
    assert client.get(reverse("partners:detail", args=[other.pk])).status_code == 404


def test_a_manager_attributes_no_order_outside_his_scope_to_no_partner_outside_it(client, org):
    mine, other = _partner(org.rep1, "一部渠道"), _partner(org.rep3, "二部渠道")
    client.force_login(org.manager1)
    response = client.post(reverse("partners:attribute", args=[other.pk]), {"order": mine.order.pk, "note": "x"})
    assert response.status_code == 404
    response = client.post(reverse("partners:attribute", args=[mine.pk]), {"order": other.order.pk, "note": "x"})
    assert response.status_code == 422
    assert response.context["attribute_form"].errors == {"order": ["没有这个编号的订单。"]}
    assert Attribution.objects.count() == 0
