"""A coupon batch's scope picks categories and SKUs from the catalogue (through
``customers.registry``: coupons and catalog do not import each other); a scope written as text
before the catalogue keeps working."""

from decimal import Decimal

import pytest
from django.urls import reverse

from catalog.tests.factories import ProductFactory, SkuFactory, category
from coupons.forms import BatchForm, CatalogueScopeField
from coupons.tests.factories import make_batch


@pytest.fixture
def shelf(db):
    one = category("一对一", category("教育培训"))
    SkuFactory(product=ProductFactory(category=one), code="MATH-48", name="数学48课时", list_price=Decimal("100"))
    SkuFactory(code="OFF-1", is_active=False)
    return one


def test_the_scope_offers_the_catalogues_categories_and_active_skus(org, shelf):
    form = BatchForm()
    field = form.fields["scope_values"]
    assert isinstance(field, CatalogueScopeField)
    groups = {str(label): options for label, options in field.choices}
    assert groups["Categories"][:2] == [("教育培训", "教育培训"), ("一对一", "教育培训 / 一对一")]
    assert groups["Products (SKUs)"] == [("MATH-48", "MATH-48 数学48课时")]
    assert 'name="scope_values"' in str(form["scope_values"]) and "<select" in str(form["scope_values"])


def test_a_picked_sku_is_stored_as_the_comma_separated_scope(org, shelf):
    form = BatchForm(data={"scope": "skus", "scope_values": ["MATH-48"]})
    form.is_valid()
    assert form.cleaned_data["scope_values"] == "MATH-48"
    assert "scope_values" not in form.errors


def test_a_category_cannot_fill_a_scope_of_skus(org, shelf):
    form = BatchForm(data={"scope": "skus", "scope_values": ["一对一"]})
    form.is_valid()
    assert form.errors["scope_values"] == ["Pick categories for a scope of categories, and SKUs for a scope of SKUs."]


def test_a_free_text_scope_written_before_the_catalogue_keeps_working(client, org, shelf):
    batch = make_batch(org, scope="categories", scope_values="数学,一对一")
    form = BatchForm(instance=batch)
    groups = {str(label): options for label, options in form.fields["scope_values"].choices}
    assert groups["Not in the catalogue"] == [("数学", "数学")]
    html = str(form["scope_values"])
    assert 'value="数学" selected' in html and 'value="一对一" selected' in html
    kept = BatchForm(instance=batch, data={"scope": "categories", "scope_values": ["数学", "一对一"]})
    kept.is_valid()
    assert "scope_values" not in kept.errors and kept.cleaned_data["scope_values"] == "数学,一对一"
    client.force_login(org.marketing)
    assert client.get(reverse("coupons:batch_edit", args=[batch.pk])).status_code == 200
