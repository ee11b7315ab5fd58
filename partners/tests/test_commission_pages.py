"""The commission rule pages and attributing an order by hand from the partner's page."""

from decimal import Decimal

from django.urls import reverse

from customers.models import Order
from customers.tests.factories import CustomerFactory
from partners.models import Attribution, CommissionRule

from .factories import PartnerFactory


def test_the_director_adds_a_percentage_rule_with_a_cap(client, org):
    client.force_login(org.director)
    response = client.post(
        reverse("partners:rule_create"),
        {
            "name": "通用 5%",
            "mode": "percent",
            "rate": "5",
            "cap": "2000",
            "priority": "0",
            "is_active": "on",
            "customer_kind": "",
            "partner_kind": "",
            "grade": "",
        },
    )
    assert response.status_code == 302
    rule = CommissionRule.objects.get()
    assert (rule.rate, rule.cap, rule.amount) == (Decimal("5.00"), Decimal("2000.00"), None)
    assert "通用 5%" in client.get(reverse("partners:rules")).content.decode()


def test_a_fixed_rule_without_its_sum_is_refused_beside_the_sum(client, org):
    client.force_login(org.admin)
    response = client.post(reverse("partners:rule_create"), {"name": "固定", "mode": "fixed", "priority": "0"})
    assert response.status_code == 422
    assert response.context["form"].errors == {"amount": ["请填写每单金额。"]}
    assert CommissionRule.objects.count() == 0


def test_the_manager_attributes_an_order_by_hand_with_the_reason(client, org, django_assert_max_num_queries):
    partner = PartnerFactory(owner=org.rep1, status="active", name="杭州云帆")
    order = Order.objects.create(customer=CustomerFactory(owner=org.rep1, name="张伟"), amount=Decimal("1280.00"))
    client.force_login(org.manager1)
    response = client.post(
        reverse("partners:attribute", args=[partner.pk]), {"order": order.pk, "note": "客户出示了介绍信"}
    )
    assert response.status_code == 302
    attribution = Attribution.objects.get()
    assert (attribution.partner, attribution.reason, attribution.by, attribution.note) == (
        partner,
        "manual",
        org.manager1,
        "客户出示了介绍信",
    )
    with django_assert_max_num_queries(22):
        html = client.get(reverse("partners:detail", args=[partner.pk])).content.decode()
    assert "¥1,280.00" in html
    assert "张伟" in html


def test_a_second_partner_for_the_same_order_is_refused_beside_the_order(client, org):
    first = PartnerFactory(owner=org.rep1, status="active")
    second = PartnerFactory(owner=org.rep1, status="active")
    order = Order.objects.create(customer=CustomerFactory(owner=org.rep1), amount=Decimal("100.00"))
    client.force_login(org.manager1)
    client.post(reverse("partners:attribute", args=[first.pk]), {"order": order.pk, "note": "一"})
    response = client.post(reverse("partners:attribute", args=[second.pk]), {"order": order.pk, "note": "二"})
    assert response.status_code == 422
    assert response.context["attribute_form"].errors == {"order": ["该订单已归属一个合作伙伴。"]}
    assert Attribution.objects.get().partner == first
