"""The partner portal: a partner user sees their own partner's registrations, orders, statements and
grade, and nothing of another partner or of the organization."""

import datetime
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from crm.models import Notification
from customers.models import Order
from customers.tests.factories import CustomerFactory
from partners.models import Attribution, GradeChange, LeadHandover, LeadRegistration, Statement, StatementLine
from partners.services.portal import create_portal_user
from partners.services.registrations import register_lead
from sales.models import Lead

from .factories import PartnerFactory


@pytest.fixture
def two(org):
    """Two partners, each with a portal user, a registration, an attributed order and an approved
    statement."""
    out = {}
    for key, owner, name in (("mine", org.rep1, "杭州云帆"), ("theirs", org.rep3, "宁波海潮")):
        partner = PartnerFactory(owner=owner, status="active", name=name, grade="B")
        user = create_portal_user(partner=partner, username=f"p-{key}", name=f"{name}账号", password="crm-demo-123")
        order = Order.objects.create(
            customer=CustomerFactory(owner=owner, name=f"{name}客户"),
            amount=Decimal("1000.00"),
            placed_at=timezone.now(),
        )
        Attribution.objects.create(order=order, partner=partner, reason="code")
        registration = register_lead(
            partner=partner, name=f"{name}报备", mobile="1390000000" + ("1" if key == "mine" else "2")
        )
        statement = Statement.objects.create(partner=partner, period=datetime.date(2026, 11, 1), status="approved")
        StatementLine.objects.create(
            statement=statement, kind="adjustment", amount=Decimal("12.34"), note=f"{name}调整"
        )
        Statement.objects.filter(pk=statement.pk).update(total=Decimal("12.34"))
        handover = LeadHandover.objects.create(
            lead=Lead.objects.create(name=f"{name}线索", mobile="1380000000" + ("1" if key == "mine" else "2")),
            partner=partner,
            reason="new",
            grade="B",
            weight=2,
        )
        out[key] = {
            "handover": handover,
            "partner": partner,
            "user": user,
            "order": order,
            "registration": registration,
            "statement": statement,
        }
    return out


def test_the_partner_user_sees_their_own_partners_pages_and_nothing_of_the_other(client, two):
    client.force_login(two["mine"]["user"])
    pages = {
        "portal:home": "杭州云帆",
        "portal:registrations": "杭州云帆报备",
        "portal:orders": "杭州云帆客户",
        "portal:leads": "杭州云帆线索",
        "portal:statements": "2026-11",
        "portal:grade": "杭州云帆",
    }
    for name, text in pages.items():
        response = client.get(reverse(name))
        assert response.status_code == 200, name
        body = response.content.decode()
        assert text in body
        assert "宁波海潮" not in body, name


def test_another_partners_statement_and_registration_are_404_for_a_partner_user(client, two):
    client.force_login(two["mine"]["user"])
    other = two["theirs"]
    assert client.get(reverse("portal:statement", args=[other["statement"].pk])).status_code == 404
    assert client.post(reverse("portal:confirm", args=[other["statement"].pk])).status_code == 404
    assert client.post(reverse("portal:extend", args=[other["registration"].pk])).status_code == 404
    outcome = reverse("portal:outcome", args=[other["handover"].pk])
    assert client.post(outcome, {"outcome": "invalid"}).status_code == 404
    assert LeadHandover.objects.get(pk=other["handover"].pk).outcome == "pending"
    assert Statement.objects.get(pk=other["statement"].pk).confirmed_at is None
    assert LeadRegistration.objects.get(pk=other["registration"].pk).extended_at is None


def test_a_partner_user_is_kept_out_of_the_organizations_pages(client, two):
    client.force_login(two["mine"]["user"])
    assert client.get("/").url == "/portal/"
    for path in (
        "/customers/",
        "/sales/leads/",
        "/partners/",
        f"/partners/{two['mine']['partner'].pk}/",
        f"/partners/statements/{two['mine']['statement'].pk}/",
        "/notifications/",
        "/search/?q=杭州",
        "/org/users/",
        "/approvals/",
    ):
        response = client.get(path)
        assert response.status_code == 403, path
        assert "杭州云帆客户" not in response.content.decode()


def test_internal_users_cannot_open_the_portal(client, org, two):
    client.force_login(org.admin)
    assert client.get(reverse("portal:home")).status_code == 403
    assert client.get(reverse("portal:statements")).status_code == 403


def test_registering_a_free_lead_says_it_is_protected(client, two):
    client.force_login(two["mine"]["user"])
    response = client.post(reverse("portal:registrations"), {"name": "赵敏", "mobile": "13911112222"})
    assert response.status_code == 200
    assert 'data-outcome="protected"' in response.content.decode()
    assert LeadRegistration.objects.get(mobile="13911112222").status == "protected"


def test_a_conflicting_registration_says_registered_without_naming_the_holder_and_tells_the_channel_manager(
    client, org, two
):
    client.force_login(two["theirs"]["user"])
    response = client.post(reverse("portal:registrations"), {"name": "某客户", "mobile": "13900000001"})
    body = response.content.decode()
    assert 'data-outcome="registered"' in body
    assert "杭州云帆" not in body
    notice = Notification.objects.get(recipient=org.rep3, kind="partner_registration_conflict")
    assert "宁波海潮" in notice.title
    assert "杭州云帆" in notice.body  # the channel manager may know who holds it
    assert Notification.objects.filter(recipient=org.rep1, kind="partner_registration_conflict").count() == 1


def test_a_customer_we_have_is_owned(client, org, two):
    CustomerFactory(owner=org.rep1, mobile="13955556666")
    client.force_login(two["mine"]["user"])
    response = client.post(reverse("portal:registrations"), {"name": "老客户", "mobile": "13955556666"})
    assert 'data-outcome="owned"' in response.content.decode()


def test_a_malformed_mobile_is_refused_beside_the_field(client, two):
    client.force_login(two["mine"]["user"])
    response = client.post(reverse("portal:registrations"), {"name": "某人", "mobile": "23911112222"})
    assert response.status_code == 422
    assert LeadRegistration.objects.filter(mobile="23911112222").count() == 0


def test_the_partner_extends_a_protection_once(client, two):
    client.force_login(two["mine"]["user"])
    registration = two["mine"]["registration"]
    before = registration.protected_until
    client.post(reverse("portal:extend", args=[registration.pk]))
    registration.refresh_from_db()
    assert registration.protected_until - before == datetime.timedelta(days=60)
    client.post(reverse("portal:extend", args=[registration.pk]))
    registration.refresh_from_db()
    assert registration.protected_until - before == datetime.timedelta(days=60)


def test_the_partner_confirms_an_approved_statement_once_and_exports_it(client, two):
    client.force_login(two["mine"]["user"])
    statement = two["mine"]["statement"]
    client.post(reverse("portal:confirm", args=[statement.pk]))
    statement.refresh_from_db()
    assert statement.confirmed_by == two["mine"]["user"]
    response = client.get(reverse("portal:statement", args=[statement.pk]) + "?export=xlsx")
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert rows[0] == ("类型", "订单号", "客户", "规则", "计佣基数", "金额", "备注")
    assert rows[1][-1] == "杭州云帆调整"
    assert Decimal(str(rows[-1][5])) == Decimal("12.34")


def test_a_draft_statement_is_not_in_the_portal(client, two):
    draft = Statement.objects.create(partner=two["mine"]["partner"], period=datetime.date(2026, 12, 1))
    client.force_login(two["mine"]["user"])
    assert client.get(reverse("portal:statement", args=[draft.pk])).status_code == 404


def test_the_grade_page_shows_the_history(client, two):
    GradeChange.objects.create(
        partner=two["mine"]["partner"],
        effective_from=datetime.date(2026, 12, 1),
        from_grade="C",
        to_grade="B",
        gmv=400000,
    )
    client.force_login(two["mine"]["user"])
    body = client.get(reverse("portal:grade")).content.decode()
    assert "¥400,000.00" in body
    assert ">报备转化率（%）</th>" in body and "conversion" not in body


@pytest.mark.parametrize(
    "name", ["portal:home", "portal:registrations", "portal:leads", "portal:orders", "portal:statements"]
)
def test_portal_pages_read_a_bounded_number_of_queries(client, two, name, django_assert_max_num_queries):
    partner = two["mine"]["partner"]
    for n in range(30):
        order = Order.objects.create(
            customer=CustomerFactory(owner=partner.owner), amount=Decimal("10.00"), placed_at=timezone.now()
        )
        Attribution.objects.create(order=order, partner=partner, reason="code")
        LeadRegistration.objects.create(partner=partner, name=f"人{n}", mobile=f"1370000{n:04d}", status="expired")
        LeadHandover.objects.create(
            lead=Lead.objects.create(name=f"线索{n}"), partner=partner, reason="backlog", grade="B", weight=2
        )
    client.force_login(two["mine"]["user"])
    with django_assert_max_num_queries(12):
        assert client.get(reverse(name)).status_code == 200


def test_the_partner_user_records_the_outcome_of_a_lead_handed_to_them(client, two):
    mine = two["mine"]
    client.force_login(mine["user"])
    response = client.post(reverse("portal:outcome", args=[mine["handover"].pk]), {"outcome": "contacted"}, follow=True)
    assert response.status_code == 200
    row = response.context["rows"][0]
    assert (row.lead.name, row.get_outcome_display()) == ("杭州云帆线索", "已联系")
    assert "杭州云帆线索：已记录为“已联系”。" in response.content.decode()
    assert row.lead.mobile
    assert f'<a href="tel:{row.lead.mobile}">{row.lead.mobile}</a>' in response.content.decode()  # a tap calls
    assert Lead.objects.get(pk=mine["handover"].pk).status == "contacted"


def test_registration_tables_say_when_it_was_registered_not_enrolled(client, org, two):
    """报备 is not 报名 (an event sign-up): both the portal's and the staff's tables head the date 报备时间."""
    client.force_login(two["mine"]["user"])
    portal = client.get(reverse("portal:registrations")).content.decode()
    client.force_login(org.admin)
    staff = client.get(reverse("partners:registrations")).content.decode()
    for body in (portal, staff):
        assert "报备时间</th>" in body
        assert "报名时间" not in body
