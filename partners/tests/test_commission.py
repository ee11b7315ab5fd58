"""返佣: attribution of orders (one partner per order, with its reason) and the commission rules."""

from decimal import Decimal

import pytest
from django.db import transaction

from catalog.tests.factories import ProductFactory, SkuFactory, category
from crm.errors import Conflict, Invalid
from crm.tests.parallel import run_parallel
from customers.services.orders import place_order
from customers.tests.factories import CustomerFactory
from partners.models import Attribution, CommissionRule
from partners.services.commission import attribute_order, commission_for

from .factories import PartnerFactory


@pytest.fixture
def partner(org):
    return PartnerFactory(owner=org.rep1, code="YUNFAN88", status="active", kind="agent", grade="B")


@pytest.fixture
def catalogue(db):
    drinks = category("饮料")
    tea = category("茶饮", parent=drinks)
    return {
        "drinks": drinks,
        "tea": tea,
        "tea_sku": SkuFactory(code="TEA-1", product=ProductFactory(category=tea)),
        "water_sku": SkuFactory(code="WATER-1", product=ProductFactory(category=drinks)),
    }


def order(org, *, amount, lines=(), customer=None, discount=Decimal(0), **kwargs):
    placed = place_order(
        customer=customer or CustomerFactory(owner=org.rep1),
        amount=Decimal(amount),
        lines=list(lines),
        actor=org.rep1,
        **kwargs,
    )
    if discount:
        placed.discount = discount
    return placed


def line(sku, price, quantity=1):
    return {"sku": sku, "category": "", "quantity": quantity, "price": Decimal(price)}


def test_an_order_placed_with_a_referral_code_is_attributed_to_that_partner(org, partner):
    placed = order(org, amount="500.00", partner_code="yunfan88")
    attribution = Attribution.objects.get(order=placed)
    assert (attribution.partner, attribution.reason, attribution.note) == (partner, "code", "yunfan88")


def test_an_unknown_referral_code_refuses_the_order_naming_the_field(org, partner):
    with pytest.raises(Invalid) as exc:
        with transaction.atomic():
            order(org, amount="500.00", partner_code="NOSUCH")
    assert list(exc.value.fields) == ["partner_code"]
    assert Attribution.objects.count() == 0


def test_a_prospect_cannot_be_credited_with_an_order(org):
    prospect = PartnerFactory(owner=org.rep1)
    with pytest.raises(Invalid) as exc:
        attribute_order(order=order(org, amount="100.00"), partner=prospect, reason="manual", actor=org.rep1)
    assert list(exc.value.fields) == ["partner"]


def test_an_order_keeps_its_first_partner(org, partner):
    placed = order(org, amount="500.00", partner_code="YUNFAN88")
    other = PartnerFactory(owner=org.rep2, status="active")
    with pytest.raises(Conflict) as exc:
        attribute_order(order=placed, partner=other, reason="manual", actor=org.manager1, note="客户来电说明")
    assert exc.value.code == "already_attributed"
    assert Attribution.objects.get(order=placed).partner == partner


@pytest.mark.django_db(transaction=True)
def test_two_partners_attributed_the_same_order_at_once_get_one():
    from crm.tests.factories import OrgFixture

    org = OrgFixture()
    first = PartnerFactory(owner=org.rep1, status="active")
    second = PartnerFactory(owner=org.rep2, status="active")
    placed = place_order(customer=CustomerFactory(owner=org.rep1), amount=Decimal("100"), actor=org.rep1)
    results = run_parallel(
        [lambda p=p: attribute_order(order=placed, partner=p, reason="manual").partner_id for p in (first, second)],
        refusals=[(Conflict, lambda exc: exc.code)],
    )
    winner = Attribution.objects.get(order=placed).partner_id
    assert sorted(results, key=str) == sorted([winner, "already_attributed"], key=str)


def rule(**fields):
    return CommissionRule.objects.create(**{"name": "规则", "mode": "percent", **fields})


def test_a_percentage_of_the_paid_amount_less_the_coupon_discount(org, partner):
    general = rule(rate=Decimal("5"))
    placed = order(org, amount="1000.00", discount=Decimal("100.00"))
    shares = commission_for(placed, partner)
    assert [(s.rule, s.base, s.amount) for s in shares] == [(general, Decimal("900.00"), Decimal("45.00"))]


def test_the_sku_rule_beats_its_category_and_the_deeper_category_the_shallower(org, partner, catalogue):
    rule(name="饮料", category=catalogue["drinks"], rate=Decimal("2"))
    tea = rule(name="茶饮", category=catalogue["tea"], rate=Decimal("4"))
    water = rule(name="矿泉水", sku=catalogue["water_sku"], mode="fixed", amount=Decimal("8.00"))
    placed = order(org, amount="300.00", lines=[line("TEA-1", "200.00"), line("WATER-1", "50.00", 2)])
    shares = commission_for(placed, partner)
    assert [(s.rule, s.base, s.amount) for s in shares] == [
        (tea, Decimal("200.00"), Decimal("8.00")),
        (water, Decimal("100.00"), Decimal("8.00")),
    ]


def test_the_bases_of_the_lines_add_up_to_the_paid_amount_to_the_cent(org, partner, catalogue):
    general = rule(rate=Decimal("10"))
    placed = order(org, amount="100.00", lines=[line("TEA-1", "1.00")] * 3)
    shares = commission_for(placed, partner)
    assert [(s.rule, s.base, s.amount) for s in shares] == [(general, Decimal("100.00"), Decimal("10.00"))]


def test_a_cap_limits_the_commission_of_one_order(org, partner):
    rule(rate=Decimal("10"), cap=Decimal("50.00"))
    assert commission_for(order(org, amount="2000.00"), partner)[0].amount == Decimal("50.00")


def test_rules_for_new_and_repeat_customers_and_for_the_partners_grade(org, partner):
    new = rule(name="新客", customer_kind="new", rate=Decimal("8"))
    repeat = rule(name="老客", customer_kind="repeat", rate=Decimal("3"))
    rule(name="A 级", grade="A", rate=Decimal("20"))  # the partner is grade B
    customer = CustomerFactory(owner=org.rep1)
    first = order(org, amount="100.00", customer=customer)
    second = order(org, amount="100.00", customer=customer)
    assert [(s.rule, s.amount) for s in commission_for(first, partner)] == [(new, Decimal("8.00"))]
    assert [(s.rule, s.amount) for s in commission_for(second, partner)] == [(repeat, Decimal("3.00"))]


def test_a_rule_for_another_partner_type_does_not_apply(org, partner):
    rule(name="经销商", partner_kind="dealer", rate=Decimal("6"))
    assert commission_for(order(org, amount="100.00"), partner) == []


def test_a_rule_with_neither_rate_nor_sum_is_refused_by_the_database(db):
    from django.db import IntegrityError

    with pytest.raises(IntegrityError), transaction.atomic():
        CommissionRule.objects.create(name="空", mode="percent")
    assert CommissionRule.objects.count() == 0


def test_the_months_statements_give_each_order_what_its_commission_is_on_its_own(org, partner, catalogue):
    """The statements of all partners, computed in one pass, price each order like the order alone:
    SKU over category, new and repeat customers, the partner's type and grade, caps, discounts."""
    from django.utils import timezone

    from partners.models import StatementLine
    from partners.services.statements import generate_statements

    rule(name="饮料", category=catalogue["drinks"], rate=Decimal("2"))
    rule(name="茶饮", category=catalogue["tea"], rate=Decimal("4"), cap=Decimal("5.00"))
    rule(name="矿泉水", sku=catalogue["water_sku"], mode="fixed", amount=Decimal("8.00"))
    rule(name="新客", customer_kind="new", rate=Decimal("8"))
    rule(name="老客", customer_kind="repeat", rate=Decimal("3"))
    rule(name="经销商 A 级", partner_kind="dealer", grade="A", rate=Decimal("6"))
    dealer = PartnerFactory(owner=org.rep1, code="DEALER01", status="active", kind="dealer", grade="A")
    customer = CustomerFactory(owner=org.rep1)
    placed = []
    for code in ("YUNFAN88", "DEALER01"):
        placed += [
            order(
                org, amount="300.00", lines=[line("TEA-1", "200.00"), line("WATER-1", "50.00", 2)], partner_code=code
            ),
            order(org, amount="100.00", customer=customer, partner_code=code),
            order(org, amount="100.00", customer=customer, lines=[line("TEA-1", "1.00")] * 3, partner_code=code),
            order(org, amount="99.99", discount=Decimal("9.99"), lines=[line("NO-SUCH", "10.00")], partner_code=code),
        ]
    for each in placed[3::4]:
        type(each).objects.filter(pk=each.pk).update(discount=Decimal("9.99"))
    assert generate_statements(period=timezone.localdate().replace(day=1)) == 2
    got = {
        line.order_id: (line.statement.partner_id, line.rule_id, line.base, line.amount)
        for line in StatementLine.objects.select_related("statement")
    }
    expected = {}
    for each, owner in zip(placed, [partner] * 4 + [dealer] * 4, strict=True):
        each.refresh_from_db()
        shares = commission_for(each, owner)
        main = max(shares, key=lambda share: (share.amount, -share.rule.pk))
        expected[each.pk] = (owner.pk, main.rule.pk, sum(s.base for s in shares), sum(s.amount for s in shares))
    assert got == expected
