"""The price of a SKU for a customer, a channel and a day: which policy wins (most specific, then
priority), and what it costs."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from catalog.models import PolicyPrice, SalesPolicy
from catalog.services import policies
from catalog.services.pricing import price_for, prices_for, resolve_skus
from catalog.tests.factories import PolicyFactory, ProductFactory, SkuFactory, category
from customers.models import LifecycleStage, ValueSegment
from customers.tests.factories import CustomerFactory

D = Decimal
TODAY = datetime.date(2026, 7, 1)


@pytest.fixture
def tree(db):
    edu = category("教育培训")
    one = category("一对一", edu)
    product = ProductFactory(category=one)
    sku = SkuFactory(product=product, code="EDU-48", list_price=D("13800.00"))
    return {"edu": edu, "one": one, "sku": sku}


def test_no_policy_means_the_list_price(tree):
    quote = price_for(sku=tree["sku"], on=TODAY)
    assert (quote.price, quote.policy) == (D("13800.00"), None)


def test_a_percentage_off_everything_applies_to_anyone(tree):
    policy = PolicyFactory(percent_off=D("10"))
    quote = price_for(sku=tree["sku"], on=TODAY)
    assert (quote.price, quote.policy) == (D("12420.00"), policy)


def test_a_percentage_rounds_half_up_to_the_cent(tree):
    sku = SkuFactory(product=tree["sku"].product, list_price=D("0.05"))
    PolicyFactory(percent_off=D("50"))
    assert price_for(sku=sku, on=TODAY).price == D("0.03")


def test_an_amount_off_never_goes_below_zero(tree):
    PolicyFactory(kind=SalesPolicy.Kind.AMOUNT, percent_off=None, amount_off=D("20000"))
    assert price_for(sku=tree["sku"], on=TODAY).price == D("0.00")


def test_a_policy_with_more_conditions_beats_a_higher_priority(tree):
    PolicyFactory(name="全场", percent_off=D("30"), priority=100)
    channel = PolicyFactory(name="小程序", percent_off=D("5"), channel="mini_program")
    customer = CustomerFactory()
    quote = price_for(sku=tree["sku"], customer=customer, channel="mini_program", on=TODAY)
    assert (quote.policy, quote.price) == (channel, D("13110.00"))


def test_equally_specific_policies_are_decided_by_priority(tree):
    PolicyFactory(name="低", percent_off=D("10"), channel="store", priority=1)
    high = PolicyFactory(name="高", percent_off=D("5"), channel="store", priority=9)
    assert price_for(sku=tree["sku"], channel="store", on=TODAY).policy == high


def test_equal_priority_goes_to_the_newer_policy(tree):
    PolicyFactory(name="旧", percent_off=D("10"))
    newer = PolicyFactory(name="新", percent_off=D("20"))
    assert price_for(sku=tree["sku"], on=TODAY).policy == newer


def test_a_sku_target_beats_a_category_which_beats_everything(tree):
    PolicyFactory(name="全场", percent_off=D("10"), priority=50)
    category_policy = PolicyFactory(name="教育", percent_off=D("15"), category=tree["edu"], priority=20)
    assert price_for(sku=tree["sku"], on=TODAY).policy == category_policy
    deeper = PolicyFactory(name="一对一", percent_off=D("12"), category=tree["one"])
    assert price_for(sku=tree["sku"], on=TODAY).policy == deeper
    sku_policy = PolicyFactory(
        name="单品",
        kind=SalesPolicy.Kind.AMOUNT,
        percent_off=None,
        amount_off=D("800"),
        sku=tree["sku"],
    )
    quote = price_for(sku=tree["sku"], on=TODAY)
    assert (quote.policy, quote.price) == (sku_policy, D("13000.00"))


def test_a_category_policy_does_not_touch_other_categories(tree):
    home = category("家政服务")
    PolicyFactory(percent_off=D("50"), category=home)
    assert price_for(sku=tree["sku"], on=TODAY).policy is None


def test_a_price_list_gives_its_price_for_the_skus_it_names(tree):
    price_list = PolicyFactory(
        kind=SalesPolicy.Kind.PRICE_LIST,
        percent_off=None,
        value_segment=ValueSegment.HIGH,
    )
    PolicyPrice.objects.create(policy=price_list, sku=tree["sku"], price=D("12800.00"))
    other = SkuFactory(product=tree["sku"].product, list_price=D("500.00"))
    vip = CustomerFactory(value_segment=ValueSegment.HIGH)
    quotes = prices_for(skus=[tree["sku"], other], customer=vip, on=TODAY)
    assert (quotes[tree["sku"].pk].price, quotes[tree["sku"].pk].policy) == (
        D("12800.00"),
        price_list,
    )
    assert (quotes[other.pk].price, quotes[other.pk].policy) == (D("500.00"), None)


def test_customer_class_conditions_must_all_hold(tree):
    PolicyFactory(
        value_segment=ValueSegment.HIGH,
        lifecycle_stage=LifecycleStage.STABLE,
        grid_class="A",
    )
    almost = CustomerFactory(
        value_segment=ValueSegment.HIGH,
        lifecycle_stage=LifecycleStage.STABLE,
        grid_class="B",
    )
    exact = CustomerFactory(
        value_segment=ValueSegment.HIGH,
        lifecycle_stage=LifecycleStage.STABLE,
        grid_class="A",
    )
    assert price_for(sku=tree["sku"], customer=almost, on=TODAY).policy is None
    assert price_for(sku=tree["sku"], customer=exact, on=TODAY).price == D("12420.00")


def test_a_region_policy_matches_by_code_prefix_and_the_district_beats_the_city(tree):
    province = PolicyFactory(name="上海", percent_off=D("5"), region="310000")
    district = PolicyFactory(name="黄浦", percent_off=D("8"), region="310101")
    in_huangpu = CustomerFactory(region="310101")
    in_pudong = CustomerFactory(region="310115")
    in_beijing = CustomerFactory(region="110101")
    assert price_for(sku=tree["sku"], customer=in_huangpu, on=TODAY).policy == district
    assert price_for(sku=tree["sku"], customer=in_pudong, on=TODAY).policy == province
    assert price_for(sku=tree["sku"], customer=in_beijing, on=TODAY).policy is None


def test_a_region_policy_does_not_match_a_customer_without_a_region_code(tree):
    PolicyFactory(region="310000")
    assert price_for(sku=tree["sku"], customer=CustomerFactory(region="上海"), on=TODAY).policy is None


def test_a_policy_applies_only_inside_its_period_both_days_included(tree):
    summer = PolicyFactory(valid_from=datetime.date(2026, 7, 1), valid_until=datetime.date(2026, 8, 31))
    assert price_for(sku=tree["sku"], on=datetime.date(2026, 6, 30)).policy is None
    assert price_for(sku=tree["sku"], on=datetime.date(2026, 7, 1)).policy == summer
    assert price_for(sku=tree["sku"], on=datetime.date(2026, 8, 31)).policy == summer
    assert price_for(sku=tree["sku"], on=datetime.date(2026, 9, 1)).policy is None


def test_a_bounded_period_counts_as_a_condition(tree):
    PolicyFactory(name="常年", percent_off=D("10"), priority=10)
    season = PolicyFactory(name="季节", percent_off=D("3"), valid_until=datetime.date(2026, 12, 31))
    assert price_for(sku=tree["sku"], on=TODAY).policy == season


def test_an_inactive_policy_never_applies(tree):
    PolicyFactory(is_active=False)
    assert price_for(sku=tree["sku"], on=TODAY).policy is None


def test_pricing_twenty_lines_costs_two_queries(tree, django_assert_num_queries):
    skus = [SkuFactory(product=tree["sku"].product) for _ in range(20)]
    price_list = PolicyFactory(kind=SalesPolicy.Kind.PRICE_LIST, percent_off=None)
    for sku in skus[:5]:
        PolicyPrice.objects.create(policy=price_list, sku=sku, price=D("1.00"))
    PolicyFactory(percent_off=D("10"), category=tree["one"])
    customer = CustomerFactory()
    skus = resolve_skus([sku.code for sku in skus])  # the caller loads them with their category, one query
    with django_assert_num_queries(2):
        quotes = prices_for(skus=skus, customer=customer, channel="store", on=TODAY)
    assert [quotes[s.pk].price for s in skus] == [D("1.00")] * 5 + [D("900.00")] * 15


def test_resolve_skus_names_every_unknown_code(tree):
    with pytest.raises(ValidationError) as caught:
        resolve_skus(["EDU-48", "NOPE", "EDU-48", ""])
    assert caught.value.message_dict == {
        "items[1].sku": ["Unknown SKU: NOPE."],
        "items[3].sku": ["Unknown SKU: -."],
    }


def test_resolve_skus_refuses_a_sku_not_on_sale_when_asked(tree):
    product = ProductFactory(status="draft", sale_from=None)
    SkuFactory(product=product, code="DRAFT-1")
    assert [s.code for s in resolve_skus(["EDU-48", "DRAFT-1"])] == [
        "EDU-48",
        "DRAFT-1",
    ]
    with pytest.raises(ValidationError) as caught:
        resolve_skus(["EDU-48", "DRAFT-1"], on_sale_only=True, on=timezone.localdate())
    assert caught.value.message_dict == {"items[1].sku": ["SKU DRAFT-1 is not on sale."]}


def test_a_percentage_policy_needs_its_figure(db):
    with pytest.raises(ValidationError) as caught:
        policies.save_policy(policy=SalesPolicy(name="x", kind=SalesPolicy.Kind.PERCENT))
    assert list(caught.value.message_dict) == ["percent_off"]


def test_a_policy_region_must_be_a_six_digit_code(db):
    with pytest.raises(ValidationError) as caught:
        policies.save_policy(
            policy=SalesPolicy(
                name="x",
                kind=SalesPolicy.Kind.PERCENT,
                percent_off=D("5"),
                region="上海",
            )
        )
    assert list(caught.value.message_dict) == ["region"]


def test_price_list_lines_are_parsed_and_unknown_skus_named(tree):
    price_list = policies.save_policy(policy=SalesPolicy(name="价目表", kind=SalesPolicy.Kind.PRICE_LIST))
    assert policies.set_prices(policy=price_list, prices=policies.parse_prices("EDU-48\t¥12800\n\n")) == 1
    assert list(price_list.prices.values_list("sku__code", "price")) == [("EDU-48", D("12800.00"))]
    with pytest.raises(ValidationError) as caught:
        policies.set_prices(policy=price_list, prices=policies.parse_prices("GHOST 1"))
    assert caught.value.message_dict == {"prices": ["Unknown SKU: GHOST."]}
