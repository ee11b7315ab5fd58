"""Launch management (产品上线): a product goes on sale through an approved request from a day and
is withdrawn on a day; every change is in the audit log."""

import datetime

import pytest
from auditlog.models import LogEntry
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from catalog.models import Category, Product
from catalog.services import catalogue
from catalog.tests.factories import ProductFactory, SkuFactory, category
from crm.approvals import services as approvals
from crm.errors import DomainError
from crm.models import ApprovalRequest, Notification


@pytest.fixture
def draft(org):
    product = ProductFactory(
        code="EDU-ART",
        name="少儿美术周末班",
        status=Product.Status.DRAFT,
        sale_from=None,
        created_by=org.marketing,
    )
    SkuFactory(product=product, code="EDU-ART-16")
    return product


def _launch(product, org, days=3, until=None):
    today = timezone.localdate()
    return catalogue.request_launch(
        product=product,
        sale_from=today + datetime.timedelta(days=days),
        sale_until=until,
        actor=org.marketing,
    )


def test_a_launch_request_asks_the_director_and_the_product_is_not_on_sale_yet(draft, org):
    _launch(draft, org)
    draft.refresh_from_db()
    request = ApprovalRequest.objects.get()
    assert (draft.status, draft.on_sale(), request.kind, request.status) == (
        "pending",
        False,
        "product_launch",
        "pending",
    )
    assert list(Notification.objects.filter(kind="approval").values_list("recipient__username", flat=True)) == [
        "director"
    ]


def test_once_approved_it_is_on_sale_from_its_first_day(draft, org):
    _launch(draft, org, days=3)
    approvals.decide_current(request=ApprovalRequest.objects.get(), actor=org.director, approve=True)
    draft.refresh_from_db()
    today = timezone.localdate()
    assert draft.status == "approved"
    assert (
        draft.on_sale(today + datetime.timedelta(days=2)),
        draft.on_sale(today + datetime.timedelta(days=3)),
    ) == (False, True)


def test_a_rejected_launch_never_goes_on_sale(draft, org):
    _launch(draft, org)
    approvals.decide_current(
        request=ApprovalRequest.objects.get(),
        actor=org.director,
        approve=False,
        comment="价格再议",
    )
    draft.refresh_from_db()
    assert (
        draft.status,
        draft.on_sale(timezone.localdate() + datetime.timedelta(days=5)),
    ) == ("rejected", False)


def test_the_requester_cannot_approve_their_own_launch(draft, org):
    _launch(draft, org)
    with pytest.raises(approvals.NotYourDecision):
        approvals.decide_current(request=ApprovalRequest.objects.get(), actor=org.marketing, approve=True)
    draft.refresh_from_db()
    assert draft.status == "pending"


def test_a_product_waiting_cannot_be_asked_twice(draft, org):
    _launch(draft, org)
    with pytest.raises(DomainError) as caught:
        _launch(draft, org)
    assert caught.value.code == "launch_waiting"


def test_a_product_without_an_active_sku_cannot_launch(org):
    product = ProductFactory(status=Product.Status.DRAFT, sale_from=None)
    with pytest.raises(ValidationError) as caught:
        _launch(product, org)
    assert list(caught.value.message_dict) == ["sale_from"]


def test_a_withdrawal_before_the_first_day_is_refused(draft, org):
    today = timezone.localdate()
    with pytest.raises(ValidationError) as caught:
        _launch(draft, org, days=3, until=today + datetime.timedelta(days=3))
    assert list(caught.value.message_dict) == ["sale_until"]


def test_withdrawing_on_a_later_day_keeps_it_on_sale_until_then(org):
    product = ProductFactory()
    later = timezone.localdate() + datetime.timedelta(days=10)
    catalogue.withdraw_product(product=product, on=later, actor=org.admin)
    product.refresh_from_db()
    assert (product.status, product.on_sale(), product.on_sale(later)) == (
        "approved",
        True,
        False,
    )


def test_withdrawing_today_ends_the_sale_now(org):
    product = ProductFactory()
    catalogue.withdraw_product(product=product, actor=org.admin)
    product.refresh_from_db()
    assert (product.status, product.on_sale()) == ("withdrawn", False)


def test_the_decision_is_in_the_products_audit_log(draft, org):
    _launch(draft, org)
    approvals.decide_current(request=ApprovalRequest.objects.get(), actor=org.director, approve=True)
    changes = [entry.changes_dict.get("status") for entry in LogEntry.objects.get_for_object(draft).order_by("pk")]
    assert changes[-2:] == [["draft", "pending"], ["pending", "approved"]]


def test_moving_a_category_moves_the_paths_below_it(db):
    edu = category("教育培训")
    one = category("一对一", edu)
    leaf = category("数学", one)
    other = category("素质教育")
    one.parent = other
    catalogue.save_category(category=one)
    leaf.refresh_from_db()
    assert leaf.path == f"{other.pk:06d}/{one.pk:06d}/{leaf.pk:06d}/"


def test_a_category_cannot_move_below_itself(db):
    edu = category("教育培训")
    one = category("一对一", edu)
    edu.parent = one
    with pytest.raises(ValidationError) as caught:
        catalogue.save_category(category=edu)
    assert list(caught.value.message_dict) == ["parent"]
    assert Category.objects.get(pk=edu.pk).parent_id is None


def test_marketing_launches_through_the_page_and_a_rep_may_not(client, draft, org):
    url = reverse("catalog:product_launch", args=[draft.pk])
    day = (timezone.localdate() + datetime.timedelta(days=2)).isoformat()
    client.force_login(org.rep1)
    assert client.post(url, {"sale_from": day}).status_code == 403
    client.force_login(org.marketing)
    response = client.post(url, {"sale_from": day})
    assert response.status_code == 302
    draft.refresh_from_db()
    assert (draft.status, draft.sale_from.isoformat()) == ("pending", day)


def test_a_first_day_in_the_past_is_refused_beside_its_field(client, draft, org):
    client.force_login(org.marketing)
    response = client.post(reverse("catalog:product_launch", args=[draft.pk]), {"sale_from": "2020-01-01"})
    assert response.status_code == 422
    assert response.context["launch_form"].errors == {"sale_from": ["The first day of sale cannot be in the past."]}
