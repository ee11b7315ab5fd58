import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from contracts.models import Instalment, Payment
from contracts.services import payments
from crm.errors import DomainError
from crm.tests.parallel import run_parallel

from .factories import make_contract

D = Decimal


def _received(contract):
    return [str(i.received) for i in Instalment.objects.filter(contract=contract).order_by("sequence")]


def pay(contract, amount, **kwargs):
    return payments.record_payment(
        contract=contract, amount=D(amount), received_on=timezone.localdate(), actor=contract.owner, **kwargs
    )


def test_a_partial_payment_goes_to_the_oldest_instalment(org, won_stage):
    contract = make_contract(org.rep1, won_stage)
    pay(contract, "4000")
    assert _received(contract) == ["4000.00", "0.00", "0.00"]
    assert Instalment.objects.filter(contract=contract, settled_at__isnull=False).count() == 0


def test_one_payment_covers_several_instalments(org, won_stage):
    contract = make_contract(org.rep1, won_stage)
    payment = pay(contract, "25000")
    contract.refresh_from_db()
    assert _received(contract) == ["10000.00", "10000.00", "5000.00"]
    assert [str(m.amount) for m in payment.matches.order_by("instalment__sequence")] == [
        "10000.00",
        "10000.00",
        "5000.00",
    ]
    assert (Instalment.objects.filter(contract=contract, settled_at__isnull=False).count(), contract.received) == (
        2,
        D("25000.00"),
    )


def test_a_payment_may_name_its_instalments(org, won_stage):
    contract = make_contract(org.rep1, won_stage)
    third = contract.instalments.get(sequence=3)
    pay(contract, "10000", instalment_ids=[third.pk])
    assert _received(contract) == ["0.00", "0.00", "10000.00"]


def test_over_payment_is_refused_without_a_confirmation(org, won_stage):
    contract = make_contract(org.rep1, won_stage)
    pay(contract, "29000")
    with pytest.raises(DomainError) as caught:
        pay(contract, "2000")
    assert caught.value.code == "over_contract"
    assert caught.value.fields == {
        "amount": [
            "This payment brings the received total to 31,000.00, above the contract amount 30,000.00. "
            "Confirm to record it anyway."
        ]
    }
    assert Payment.objects.filter(contract=contract).count() == 1


def test_a_confirmed_over_payment_keeps_the_rest_unmatched(org, won_stage):
    contract = make_contract(org.rep1, won_stage)
    payment = pay(contract, "31000", confirm_over=True)
    contract.refresh_from_db()
    assert (payment.unmatched, payment.over_confirmed, contract.received) == (D("1000.00"), True, D("31000.00"))
    assert _received(contract) == ["10000.00"] * 3


def test_a_zero_payment_is_refused_naming_the_field(org, won_stage):
    contract = make_contract(org.rep1, won_stage)
    with pytest.raises(DomainError) as caught:
        pay(contract, "0")
    assert list(caught.value.fields) == ["amount"]


def test_an_instalment_of_another_contract_is_refused(org, won_stage):
    contract = make_contract(org.rep1, won_stage)
    other = make_contract(org.rep1, won_stage)
    with pytest.raises(DomainError) as caught:
        pay(contract, "100", instalment_ids=[other.instalments.first().pk])
    assert caught.value.code == "instalment"


@pytest.mark.django_db(transaction=True)
def test_concurrent_payments_never_over_settle(postgres):
    from crm.tests.factories import OrgFixture
    from sales.models import OpportunityStage

    org = OrgFixture()
    stage = OpportunityStage.objects.create(name="赢单", position=9, probability=100, is_won=True)
    contract = make_contract(
        org.rep1,
        stage,
        amount="10000",
        parts=("4000", "6000"),
        first_due=timezone.localdate() - datetime.timedelta(days=5),
    )

    def payment():
        return str(pay(contract, "3000").amount)

    results = run_parallel([payment for _ in range(6)], refusals=[(DomainError, lambda exc: exc.code)])
    contract.refresh_from_db()
    assert sorted(results) == ["3000.00"] * 3 + ["over_contract"] * 3
    assert _received(contract) == ["4000.00", "5000.00"]
    assert contract.received == D("9000.00")


def test_a_prepayment_stays_a_credit_until_it_is_offset_against_an_instalment(org, won_stage):
    contract = make_contract(org.rep1, won_stage)
    prepaid = pay(contract, "12000", prepayment=True)
    assert (_received(contract), prepaid.unmatched) == (["0.00", "0.00", "0.00"], D("12000.00"))
    second = Instalment.objects.get(contract=contract, sequence=2)
    assert payments.apply_credit(contract=contract, actor=org.rep1, instalment_ids=[second.pk]) == D("10000.00")
    prepaid.refresh_from_db()
    assert (_received(contract), prepaid.unmatched) == (["0.00", "10000.00", "0.00"], D("2000.00"))
    assert payments.apply_credit(contract=contract, actor=org.rep1) == D("2000.00")
    assert _received(contract) == ["2000.00", "10000.00", "0.00"]


def test_an_over_payment_of_one_instalment_becomes_credit_for_the_next(org, won_stage):
    contract = make_contract(org.rep1, won_stage)
    second = Instalment.objects.get(contract=contract, sequence=2)
    payment = pay(contract, "15000", instalment_ids=[second.pk])
    assert (_received(contract), payment.unmatched) == (["0.00", "10000.00", "0.00"], D("5000.00"))
    payments.apply_credit(contract=contract, actor=org.rep1)
    payment.refresh_from_db()
    assert (_received(contract), payment.unmatched) == (["5000.00", "10000.00", "0.00"], D("0.00"))
    assert sorted(str(m.amount) for m in payment.matches.all()) == ["10000.00", "5000.00"]


def test_no_credit_to_offset_is_refused(org, won_stage):
    contract = make_contract(org.rep1, won_stage)
    with pytest.raises(DomainError) as refused:
        payments.apply_credit(contract=contract, actor=org.rep1)
    assert refused.value.code == "no_credit"


def test_the_chain_plan_invoice_payment_offset(org, won_stage):
    from contracts.services import contracts as contract_services

    contract = make_contract(org.rep1, won_stage)
    third = Instalment.objects.get(contract=contract, sequence=3)
    invoice = contract_services.add_invoice(
        contract=contract,
        number="FP-0003",
        amount=D("10000"),
        issued_on=timezone.localdate(),
        actor=org.rep1,
        instalment=third,
    )
    payment = pay(contract, "10000", invoice=invoice)
    assert _received(contract) == ["0.00", "0.00", "10000.00"]
    assert [(m.instalment.sequence, str(m.amount)) for m in payment.matches.all()] == [(3, "10000.00")]
    assert list(invoice.payments.all()) == [payment]


def test_an_invoice_of_another_contract_is_refused(org, won_stage):
    from contracts.services import contracts as contract_services

    contract, other = make_contract(org.rep1, won_stage), make_contract(org.rep1, won_stage)
    invoice = contract_services.add_invoice(
        contract=other, number="FP-9", amount=D("100"), issued_on=timezone.localdate(), actor=org.rep1
    )
    with pytest.raises(DomainError) as refused:
        pay(contract, "100", invoice=invoice)
    assert refused.value.code == "invoice"


@pytest.mark.django_db(transaction=True)
def test_a_credit_is_never_spent_twice_under_concurrency(postgres):
    from crm.tests.factories import OrgFixture
    from sales.models import OpportunityStage

    org = OrgFixture()
    stage = OpportunityStage.objects.create(name="赢单", position=9, probability=100, is_won=True)
    contract = make_contract(org.rep1, stage, amount="10000", parts=("4000", "6000"))
    pay(contract, "5000", prepayment=True)

    def offset():
        return str(payments.apply_credit(contract=contract, actor=org.rep1))

    results = run_parallel([offset for _ in range(4)], refusals=[(DomainError, lambda exc: exc.code)])
    assert sorted(results) == ["5000.00", "no_credit", "no_credit", "no_credit"]
    assert _received(contract) == ["4000.00", "1000.00"]
    assert Payment.objects.get(contract=contract).unmatched == D("0.00")
