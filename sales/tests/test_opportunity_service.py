"""``services.update_opportunity``: the edit form's writes, in the service layer."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from customers.tests.factories import CustomerFactory
from sales import services
from sales.models import Opportunity, OpportunityStage


def test_update_changes_the_editable_fields_only(org):
    opportunity = services.open_opportunity(
        actor=org.rep1, customer=CustomerFactory(owner=org.rep1), name="课程", amount=100
    )
    updated = services.update_opportunity(
        actor=org.rep1, opportunity=opportunity, name="全年课程", amount=Decimal("200"), probability=30, products="数学"
    )
    stored = Opportunity.objects.get(pk=opportunity.pk)
    assert (stored.name, stored.amount, stored.probability, stored.products) == ("全年课程", Decimal("200"), 30, "数学")
    assert updated.pk == opportunity.pk
    with pytest.raises(TypeError):  # the stage moves only through move_stage (control points)
        services.update_opportunity(
            actor=org.rep1, opportunity=opportunity, stage=OpportunityStage.objects.order_by("-position").first()
        )
    with pytest.raises(ValidationError) as error:
        services.update_opportunity(actor=org.rep1, opportunity=opportunity, probability=120)
    assert "probability" in error.value.message_dict
    assert Opportunity.objects.get(pk=opportunity.pk).probability == 30


def test_edit_page_goes_through_the_service(client, org, monkeypatch):
    opportunity = services.open_opportunity(actor=org.rep1, customer=CustomerFactory(owner=org.rep1), name="课程")
    calls = []
    real = services.update_opportunity

    def spy(**kwargs):
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(services, "update_opportunity", spy)
    client.force_login(org.rep1)
    response = client.post(
        reverse("sales:opportunity_edit", args=[opportunity.pk]),
        {"name": "新名字", "amount": "10", "probability": "", "expected_close": "", "products": ""},
    )
    assert response.status_code == 302 and len(calls) == 1
    assert Opportunity.objects.get(pk=opportunity.pk).name == "新名字"
