from decimal import Decimal

import pytest
from django.urls import reverse

from contracts import selectors
from contracts.services import competitors
from crm.errors import DomainError

from .factories import won_opportunity


def test_win_rate_and_price_gap_per_competitor(org, won_stage, lost_stage):
    rival = competitors.add_competitor(name="学而思")
    won = won_opportunity(org.rep1, won_stage, amount=Decimal("10000"))
    lost = won_opportunity(org.rep1, lost_stage, amount=Decimal("12000"))
    competitors.quote(opportunity=won, competitor=rival, price=Decimal("9000"))
    competitors.quote(opportunity=lost, competitor=rival, price=Decimal("10000"))
    competitors.mark_lost_to(opportunity=lost, competitor=rival)
    [row] = selectors.competitor_stats(org.manager1)
    assert (row["involved"], row["won"], row["lost"], row["lost_to"], row["win_rate"], row["price_gap"]) == (
        2,
        1,
        1,
        1,
        50,
        Decimal("1500.00"),
    )
    lost.refresh_from_db()
    assert lost.lost_reason == "Lost to competitor 学而思"


def test_only_a_lost_opportunity_is_lost_to_a_competitor(org, won_stage):
    rival = competitors.add_competitor(name="新东方")
    with pytest.raises(DomainError) as caught:
        competitors.mark_lost_to(opportunity=won_opportunity(org.rep1, won_stage), competitor=rival)
    assert caught.value.code == "not_lost"


def test_a_duplicate_competitor_name_is_refused(org):
    competitors.add_competitor(name="新东方")
    with pytest.raises(DomainError) as caught:
        competitors.add_competitor(name="新东方")
    assert list(caught.value.fields) == ["name"]


def test_the_stats_count_only_the_users_scope(org, won_stage):
    rival = competitors.add_competitor(name="学而思")
    competitors.quote(opportunity=won_opportunity(org.rep3, won_stage), competitor=rival, price=None)
    assert selectors.competitor_stats(org.rep1) == []


def test_rep_names_a_competitor_on_an_opportunity(client, org, won_stage):
    rival = competitors.add_competitor(name="学而思")
    opportunity = won_opportunity(org.rep1, won_stage)
    client.force_login(org.rep1)
    url = reverse("contracts:opportunity_competitors", args=[opportunity.pk])
    response = client.post(url, {"competitor": rival.pk, "price": "8000"})
    assert response.status_code == 302
    assert [(q.competitor.name, q.price) for q in opportunity.competitor_quotes.all()] == [
        ("学而思", Decimal("8000.00"))
    ]
    assert client.get(reverse("contracts:competitors")).status_code == 200
