import datetime
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from catalog.tests.factories import SkuFactory
from contracts.models import Contract
from contracts.services import contracts
from crm.errors import DomainError
from crm.models import ApprovalRequest
from customers import deals

from .factories import make_contract, won_opportunity


def test_a_contract_from_a_won_opportunity_has_its_plan_and_lines(org, won_stage):
    sku = SkuFactory()
    contract = make_contract(org.rep1, won_stage, lines=[(sku, 3, Decimal("10000"))])
    assert (contract.status, contract.customer_id, contract.department_id) == (
        Contract.Status.ACTIVE,
        contract.opportunity.customer_id,
        org.team1.pk,
    )
    assert [str(i.amount) for i in contract.instalments.order_by("sequence")] == ["10000.00"] * 3
    assert [(line.sku_id, line.quantity) for line in contract.lines.all()] == [(sku.pk, 3)]


def test_an_open_opportunity_cannot_become_a_contract(org, won_stage):
    from sales.models import OpportunityStage

    opportunity = won_opportunity(org.rep1, won_stage)
    opportunity.stage = OpportunityStage.objects.create(name="方案", position=1)
    opportunity.save()
    with pytest.raises(DomainError) as caught:
        make_contract_for(opportunity)
    assert (caught.value.code, list(caught.value.fields)) == ("not_won", ["opportunity"])


def make_contract_for(opportunity, **overrides):
    today = timezone.localdate()
    arguments = dict(
        opportunity=opportunity,
        number="HT-X",
        title="",
        amount=Decimal("100"),
        signed_on=today,
        starts_on=today,
        ends_on=today,
        lines=[],
        instalments=[(today, Decimal("100"))],
        actor=opportunity.owner,
    )
    arguments.update(overrides)
    return contracts.create_contract(**arguments)


def test_instalments_must_add_up_to_the_amount(org, won_stage):
    opportunity = won_opportunity(org.rep1, won_stage)
    today = timezone.localdate()
    with pytest.raises(DomainError) as caught:
        make_contract_for(opportunity, instalments=[(today, Decimal("60")), (today, Decimal("30"))])
    assert caught.value.code == "plan_total"
    assert caught.value.fields == {"instalments": ["The instalments add up to 90.00, not the contract amount 100.00."]}


def test_one_contract_per_opportunity_and_numbers_are_unique(org, won_stage):
    opportunity = won_opportunity(org.rep1, won_stage)
    make_contract_for(opportunity)
    with pytest.raises(DomainError) as again:
        make_contract_for(opportunity)
    other = won_opportunity(org.rep1, won_stage)
    with pytest.raises(DomainError) as taken:
        make_contract_for(other)
    assert (again.value.code, taken.value.code, list(taken.value.fields)) == (
        "contract_exists",
        "number_taken",
        ["number"],
    )


def test_a_large_contract_waits_for_approval_and_counts_as_a_deal_once_approved(org, won_stage, settings):
    from crm.approvals import services as approvals

    settings.CONTRACT_APPROVAL_OVER = "50000"
    contract = make_contract(org.rep1, won_stage, amount="60000", parts=("60000",))
    request = ApprovalRequest.objects.get(kind="contract")
    won_at = timezone.now() - datetime.timedelta(days=30)
    type(contract.opportunity).objects.filter(pk=contract.opportunity_id).update(closed_at=won_at)
    # until approved, the customer's latest deal is the won opportunity
    assert (contract.status, deals.latest_deal_for(contract.customer_id)) == (Contract.Status.PENDING, won_at)
    approvals.decide_current(request=request, actor=org.manager1, approve=True)
    contract.refresh_from_db()
    assert contract.status == Contract.Status.ACTIVE
    assert deals.latest_deal_for(contract.customer_id) == contract.signed_at


def test_attachments_refuse_a_wrong_type_and_a_large_file(org, won_stage, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    settings.CONTRACT_ATTACHMENT_MAX_BYTES = 1000
    contract = make_contract(org.rep1, won_stage)
    with pytest.raises(DomainError) as wrong:
        contracts.add_attachment(contract=contract, upload=SimpleUploadedFile("x.exe", b"MZ"), actor=org.rep1)
    with pytest.raises(DomainError) as large:
        contracts.add_attachment(contract=contract, upload=SimpleUploadedFile("x.pdf", b"%" * 2000), actor=org.rep1)
    kept = contracts.add_attachment(
        contract=contract, upload=SimpleUploadedFile("签字版.pdf", b"%PDF-1"), actor=org.rep1
    )
    assert (wrong.value.code, large.value.code) == ("attachment_type", "attachment_size")
    assert (kept.name, kept.size, kept.content_type) == ("签字版.pdf", 6, "application/pdf")


def test_invoices_never_exceed_the_contract_amount(org, won_stage):
    contract = make_contract(org.rep1, won_stage)
    today = timezone.localdate()
    contracts.add_invoice(contract=contract, number="FP-1", amount=Decimal("20000"), issued_on=today, actor=org.rep1)
    with pytest.raises(DomainError) as over:
        contracts.add_invoice(
            contract=contract, number="FP-2", amount=Decimal("10000.01"), issued_on=today, actor=org.rep1
        )
    assert over.value.code == "over_invoiced"


def test_every_change_is_in_the_audit_log(org, won_stage):
    from auditlog.models import LogEntry

    contract = make_contract(org.rep1, won_stage)
    assert LogEntry.objects.get_for_object(contract).count() == 1
    assert LogEntry.objects.filter(content_type__model="instalment").count() == 3


def test_a_contract_is_a_registered_kind_of_deal():
    assert "contract" in deals.kinds()


def test_period_must_not_end_before_it_starts(org, won_stage):
    opportunity = won_opportunity(org.rep1, won_stage)
    today = timezone.localdate()
    with pytest.raises(DomainError) as caught:
        make_contract_for(opportunity, ends_on=today - datetime.timedelta(days=1))
    assert list(caught.value.fields) == ["ends_on"]


def test_a_customer_with_a_recent_contract_is_not_recycled_for_lack_of_deals(org, won_stage):
    """The pool's "no deal for M days" reads every kind of deal: a contract signed today is one,
    even when the opportunity it came from was won long ago."""
    contract = make_contract(org.rep1, won_stage)
    won_at = timezone.now() - datetime.timedelta(days=400)
    type(contract.opportunity).objects.filter(pk=contract.opportunity_id).update(closed_at=won_at)
    assert deals.latest_deal_for(contract.customer_id) == contract.signed_at
