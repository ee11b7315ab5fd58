"""The statement pages: generate a month, adjust, send for approval, record the payment."""

import datetime
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone

from crm.approvals.services import decide_current
from crm.models import ApprovalRequest
from customers.models import Order
from customers.tests.factories import CustomerFactory
from partners.models import Attribution, CommissionRule, Statement

from .factories import PartnerFactory


def test_the_manager_generates_adjusts_submits_and_after_approval_records_the_payment(
    client, org, django_assert_max_num_queries
):
    partner = PartnerFactory(owner=org.rep1, status="active", name="杭州云帆")
    CommissionRule.objects.create(name="通用 5%", mode="percent", rate=Decimal("5"))
    placed = timezone.make_aware(datetime.datetime(2026, 11, 12, 10))
    order = Order.objects.create(
        customer=CustomerFactory(owner=org.rep1, name="张伟"), amount=Decimal("12800.00"), placed_at=placed
    )
    Attribution.objects.create(order=order, partner=partner, reason="code")
    client.force_login(org.manager1)
    response = client.post(reverse("partners:statement_generate"), {"month": "2026-11"})
    assert response.status_code == 302
    statement = Statement.objects.get()
    client.post(reverse("partners:statement_adjust", args=[statement.pk]), {"amount": "-40.00", "note": "物料费"})
    with django_assert_max_num_queries(20):
        html = client.get(reverse("partners:statement", args=[statement.pk])).content.decode()
    assert 'data-testid="statement-total">¥600.00<' in html
    assert "张伟" in html
    client.post(reverse("partners:statement_action", args=[statement.pk, "submit"]))
    assert Statement.objects.get().status == "submitted"
    decide_current(request=ApprovalRequest.objects.get(kind="partner_statement"), actor=org.director, approve=True)
    client.post(reverse("partners:statement_action", args=[statement.pk, "pay"]))
    assert Statement.objects.get().status == "paid"


def test_a_rep_opens_no_statement_of_another_reps_partner(client, org):
    partner = PartnerFactory(owner=org.rep2, status="active")
    statement = Statement.objects.create(partner=partner, period=datetime.date(2026, 11, 1))
    client.force_login(org.rep1)
    assert client.get(reverse("partners:statement", args=[statement.pk])).status_code == 404
    assert client.get(reverse("partners:statements")).context["statements"].count() == 0


def test_the_partners_confirmation_shows_on_the_statement_in_a_readable_green(client, org):
    """``text-success`` on white is below WCAG AA contrast (axe: color-contrast); the emphasis shade passes."""
    partner = PartnerFactory(owner=org.rep1, status="active")
    statement = Statement.objects.create(
        partner=partner,
        period=datetime.date(2026, 11, 1),
        status=Statement.Status.PAID,
        confirmed_at=timezone.make_aware(datetime.datetime(2026, 12, 7, 19, 12)),
    )
    client.force_login(org.manager1)
    html = client.get(reverse("partners:statement", args=[statement.pk])).content.decode()
    assert (
        '<p class="small text-success-emphasis" data-testid="statement-confirmed">合作伙伴已确认 2026-12-07 19:12</p>'
        in html
    )
