"""Opportunity stages are ordered by dragging (or the arrows); won and lost always stay last."""

import json

import pytest
from django.core.exceptions import ValidationError

from sales.models import OpportunityStage
from sales.services.opportunities import ensure_default_stages
from sales.services.stages import reorder_stages


@pytest.fixture
def stages(db):
    ensure_default_stages()
    return list(OpportunityStage.objects.order_by("position"))


def names():
    return list(OpportunityStage.objects.order_by("position", "id").values_list("name", flat=True))


def test_a_new_open_stage_lands_before_won_and_lost(client, org, stages):
    client.force_login(org.director)
    response = client.post("/sales/opportunities/stages/new/", {"name": "试听反馈", "probability": 35})
    assert response.status_code == 302
    assert names() == ["初步接触", "需求分析", "方案/试听课", "商务谈判", "试听反馈", "赢单", "输单"]
    assert list(OpportunityStage.objects.order_by("position").values_list("position", flat=True)) == list(range(7))


def test_the_stage_form_has_no_bare_position_number(client, org, stages):
    client.force_login(org.director)
    page = client.get("/sales/opportunities/stages/new/").content.decode()
    assert 'name="position"' not in page


def test_dragging_saves_the_new_order(client, org, stages):
    first, second, third, fourth, won, lost = stages
    client.force_login(org.director)
    response = client.post(
        "/sales/opportunities/stages/order/",
        {"order": [second.pk, first.pk, fourth.pk, third.pk, won.pk, lost.pk]},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 200 and json.loads(response.content)["ok"] is True
    assert names() == ["需求分析", "初步接触", "商务谈判", "方案/试听课", "赢单", "输单"]


def test_an_open_stage_after_won_is_refused_and_nothing_changes(client, org, stages):
    first, second, third, fourth, won, lost = stages
    client.force_login(org.director)
    response = client.post(
        "/sales/opportunities/stages/order/",
        {"order": [first.pk, second.pk, third.pk, won.pk, fourth.pk, lost.pk]},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 409
    assert json.loads(response.content)["code"] == "closed_not_last"
    assert names() == ["初步接触", "需求分析", "方案/试听课", "商务谈判", "赢单", "输单"]


def test_an_order_missing_a_stage_is_refused(stages):
    with pytest.raises(ValidationError) as exc:
        reorder_stages(ids=[s.pk for s in stages[:-1]])
    assert exc.value.code == "stale_order"


def test_the_arrows_move_an_open_stage_but_never_past_won(client, org, stages):
    client.force_login(org.director)
    fourth = stages[3]
    client.post("/sales/opportunities/stages/order/", {"stage": fourth.pk, "direction": "up"})
    assert names() == ["初步接触", "需求分析", "商务谈判", "方案/试听课", "赢单", "输单"]
    client.post("/sales/opportunities/stages/order/", {"stage": fourth.pk, "direction": "down"})
    response = client.post("/sales/opportunities/stages/order/", {"stage": fourth.pk, "direction": "down"}, follow=True)
    assert names() == ["初步接触", "需求分析", "方案/试听课", "商务谈判", "赢单", "输单"]
    assert "赢单和输单始终排在最后" in response.content.decode()


def test_a_stage_made_won_moves_behind_the_open_ones(client, org, stages):
    client.force_login(org.director)
    second = stages[1]
    client.post(
        f"/sales/opportunities/stages/{second.pk}/edit/", {"name": "提前成交", "probability": 100, "is_won": "on"}
    )
    assert names() == ["初步接触", "方案/试听课", "商务谈判", "赢单", "提前成交", "输单"]


@pytest.mark.parametrize("who", ["rep1", "manager1", "marketing"])
def test_only_directors_and_admins_reorder(client, org, stages, who):
    client.force_login(getattr(org, who))
    response = client.post("/sales/opportunities/stages/order/", {"order": [s.pk for s in reversed(stages)]})
    assert response.status_code == 403
    assert names() == ["初步接触", "需求分析", "方案/试听课", "商务谈判", "赢单", "输单"]
