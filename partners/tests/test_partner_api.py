"""``POST /api/v1/partner-leads`` and ``GET /api/v1/partners/{id}/statements`` (scope ``partner``),
and ``partner_code`` on ``POST /api/v1/orders``."""

import datetime
import json
from decimal import Decimal

import pytest
from django.test import Client

from crm import services as crm_services
from customers.models import Order
from customers.tests.factories import CustomerFactory
from partners.models import Attribution, Statement, StatementLine
from partners.services.portal import issue_partner_token

from .factories import PartnerFactory


def post(token, path, body):
    return Client().post(
        path, data=json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
    )


@pytest.fixture
def partners(org):
    mine = PartnerFactory(owner=org.rep1, status="active", grade="A", code="YF001")
    theirs = PartnerFactory(owner=org.rep3, status="active", code="HC002")
    return mine, theirs, issue_partner_token(partner=mine)[1], issue_partner_token(partner=theirs)[1]


def test_a_partner_registers_a_lead_and_is_told_protected_conflict_or_owned(org, partners):
    mine, theirs, token, other_token = partners
    first = post(token, "/api/v1/partner-leads", {"name": "王芳", "mobile": "13900001111"})
    assert first.status_code == 201
    assert first.json()["status"] == "protected"
    second = post(other_token, "/api/v1/partner-leads", {"name": "王芳", "mobile": "13900001111"})
    assert second.json() == {"id": second.json()["id"], "status": "conflict", "protected_until": None}
    assert mine.name not in second.content.decode()
    CustomerFactory(owner=org.rep1, mobile="13900002222")
    assert post(token, "/api/v1/partner-leads", {"name": "李雷", "mobile": "13900002222"}).json()["status"] == "owned"


def test_a_malformed_mobile_is_422_on_mobile(partners):
    response = post(partners[2], "/api/v1/partner-leads", {"name": "王芳", "mobile": "12345"})
    assert response.status_code == 422
    assert list(response.json()["error"]["fields"]) == ["mobile"]


def test_a_partner_reads_its_own_statements_and_another_partners_are_404(partners):
    mine, theirs, token, _other = partners
    statement = Statement.objects.create(partner=mine, period=datetime.date(2026, 11, 1), status="approved", total=5)
    StatementLine.objects.create(statement=statement, kind="adjustment", amount=Decimal("5.00"), note="调整")
    Statement.objects.create(partner=mine, period=datetime.date(2026, 12, 1))  # a draft: not shown
    response = Client().get(f"/api/v1/partners/{mine.pk}/statements", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    body = response.json()
    assert [(s["period"], s["total"], len(s["lines"])) for s in body] == [("2026-11-01", "5.00", 1)]
    other = Client().get(f"/api/v1/partners/{theirs.pk}/statements", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert other.status_code == 404


def test_a_token_with_the_partner_scope_but_of_no_partner_is_403(db):
    client = crm_services.create_api_client(name="shop")
    _token, raw = crm_services.issue_token(client=client, scopes=["partner"])
    response = post(raw, "/api/v1/partner-leads", {"name": "王芳", "mobile": "13900001111"})
    assert response.status_code == 403


def test_an_order_with_a_partner_code_is_attributed_to_the_partner(partners):
    mine = partners[0]
    client = crm_services.create_api_client(name="shop")
    _token, raw = crm_services.issue_token(client=client, scopes=["orders"])
    body = {"external_id": "A-1", "customer": {"mobile": "13900003333", "name": "张三"}, "amount": "100.00"}
    response = post(raw, "/api/v1/orders", {**body, "partner_code": "yf001"})
    assert response.status_code == 201, response.content
    order = Order.objects.get(external_id="A-1")
    assert (order.partner_attribution.partner, order.partner_attribution.reason) == (mine, "code")
    unknown = post(raw, "/api/v1/orders", {**body, "external_id": "A-2", "partner_code": "NOPE"})
    assert unknown.status_code == 422
    assert Order.objects.filter(external_id="A-2").count() == 0
    assert Attribution.objects.count() == 1


def test_the_command_issues_a_partner_token_that_registers_leads(partners):
    import io

    from django.core.management import call_command

    out = io.StringIO()
    call_command("issue_partner_token", "yf001", stdout=out)
    raw = out.getvalue().strip().splitlines()[-1]
    assert post(raw, "/api/v1/partner-leads", {"name": "赵六", "mobile": "13900004444"}).status_code == 201
