"""The staff order form takes a partner's referral code, as the orders API does."""

from decimal import Decimal

from django.urls import reverse

from customers.models import Order
from customers.tests.factories import CustomerFactory
from partners.models import Attribution
from partners.tests.factories import PartnerFactory


def _post(client, customer, code):
    return client.post(
        reverse("customers:order_create", args=[customer.pk]),
        {
            "amount": "300.00",
            "channel": "sales",
            "partner_code": code,
            "lines-TOTAL_FORMS": "0",
            "lines-INITIAL_FORMS": "0",
        },
    )


def test_an_order_recorded_with_a_referral_code_is_attributed_to_the_partner(client, org):
    partner = PartnerFactory(owner=org.rep1, code="YUNFAN88", status="active")
    customer = CustomerFactory(owner=org.rep1)
    client.force_login(org.rep1)
    response = _post(client, customer, "yunfan88")
    assert response.status_code == 302
    attribution = Attribution.objects.get(order__customer=customer)
    assert (attribution.partner, attribution.reason, attribution.get_reason_display()) == (
        partner,
        "code",
        "推荐码",
    )
    assert attribution.order.amount == Decimal("300.00")


def test_an_unknown_or_inactive_referral_code_is_refused_beside_the_field(client, org):
    PartnerFactory(owner=org.rep1, code="SUSPEND1", status="suspended")
    customer = CustomerFactory(owner=org.rep1)
    client.force_login(org.rep1)
    for code in ("NOSUCH", "SUSPEND1"):
        response = _post(client, customer, code)
        assert response.status_code == 200
        assert response.context["form"].errors == {"partner_code": ["推荐码不存在。"]}
    assert Order.objects.filter(customer=customer).count() == 0
