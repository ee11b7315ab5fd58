"""Contracts on the 360 view and on the opportunity page, and the signed and collected amounts
that targets may count."""

import datetime
from decimal import Decimal

from django.utils import timezone

from contracts.services import payments
from sales.models import SalesSettings
from sales.services import performance

from .factories import make_contract, won_opportunity


def test_the_360_view_lists_the_customers_contracts_with_received_and_overdue(client, org, won_stage):
    today = timezone.localdate()
    contract = make_contract(org.rep1, won_stage, first_due=today - datetime.timedelta(days=40))
    payments.record_payment(contract=contract, amount=Decimal("4000"), received_on=today, actor=org.rep1)
    client.force_login(org.rep1)
    page = client.get(contract.customer.get_absolute_url()).content.decode()
    assert 'id="panel-contracts"' in page
    assert f">{contract.number}</a>" in page
    # instalments due 40 and 10 days ago: 10,000 + 10,000 - 4,000 received
    assert 'data-testid="contract-overdue">¥16,000.00</td>' in page
    assert 'data-testid="contract-received">¥4,000.00</td>' in page


def test_a_customer_without_contracts_shows_no_contracts_panel_content(client, org, won_stage):
    opportunity = won_opportunity(org.rep1, won_stage)
    client.force_login(org.rep1)
    page = client.get(opportunity.customer.get_absolute_url()).content.decode()
    assert "No contracts yet. A won opportunity becomes one from its page." in page


def test_a_won_opportunity_without_a_contract_offers_to_create_one_prefilled(client, org, won_stage):
    opportunity = won_opportunity(org.rep1, won_stage, amount=Decimal("36000"), name="初中数学全年辅导")
    client.force_login(org.rep1)
    page = client.get(opportunity.get_absolute_url()).content.decode()
    assert f'href="/contracts/new/?opportunity={opportunity.pk}" data-testid="create-contract"' in page
    form = client.get(f"/contracts/new/?opportunity={opportunity.pk}").content.decode()
    assert 'value="初中数学全年辅导"' in form
    assert 'value="36000.00"' in form


def test_a_won_opportunity_with_a_contract_shows_it_and_no_button(client, org, won_stage):
    contract = make_contract(org.rep1, won_stage)
    client.force_login(org.rep1)
    page = client.get(contract.opportunity.get_absolute_url()).content.decode()
    assert f'data-testid="contract-link">{contract.number}</a>' in page
    assert 'data-testid="create-contract"' not in page


def test_an_open_opportunity_has_no_contract_card(client, org):
    from sales.models import OpportunityStage

    open_stage = OpportunityStage.objects.create(name="需求确认", position=20, probability=30)
    opportunity = won_opportunity(org.rep1, open_stage)
    client.force_login(org.rep1)
    page = client.get(opportunity.get_absolute_url()).content.decode()
    assert 'data-testid="opportunity-contract"' not in page


def test_a_manager_cannot_open_another_departments_won_deal(client, org, won_stage):
    opportunity = won_opportunity(org.rep3, won_stage)
    client.force_login(org.manager1)
    assert client.get(opportunity.get_absolute_url()).status_code == 404


def _target_amount(org, source):
    settings = SalesSettings.current()
    settings.target_amount_source = source
    settings.save()
    start = timezone.localdate().replace(day=1)
    return performance.leaderboard(users=[org.rep1], period="month", start=start)["rows"][0]["value"]


def test_targets_count_won_signed_or_collected_amounts_by_the_setting(org, won_stage):
    today = timezone.localdate()
    contract = make_contract(
        org.rep1, won_stage, amount="30000", parts=("10000", "10000", "10000"), first_due=today.replace(day=1)
    )
    contract.opportunity.amount = Decimal("32000")
    contract.opportunity.save(update_fields=["amount"])
    payments.record_payment(contract=contract, amount=Decimal("12000"), received_on=today, actor=org.rep1)
    assert _target_amount(org, "won") == Decimal("32000.00")
    assert _target_amount(org, "signed") == Decimal("30000.00")
    assert _target_amount(org, "collected") == Decimal("12000.00")


def test_the_dashboard_target_progress_counts_collected_payments_when_set(client, org, won_stage):
    from sales.services.dashboard import Filters, monthly_actuals

    today = timezone.localdate()
    contract = make_contract(org.rep1, won_stage, first_due=today)
    payments.record_payment(contract=contract, amount=Decimal("5000"), received_on=today, actor=org.rep1)
    settings = SalesSettings.current()
    settings.target_amount_source = "collected"
    settings.save()
    month = today.replace(day=1)
    end = (month + datetime.timedelta(days=32)).replace(day=1)
    actual = monthly_actuals(org.manager1, Filters(since=month, until=end), "amount_won", month, end)
    assert actual == {(org.rep1.pk, month): Decimal("5000.00")}


def test_the_sales_settings_page_offers_the_registered_amount_sources(client, org):
    client.force_login(org.admin)
    page = client.get("/sales/rules/settings/").content.decode()
    assert '<option value="signed">Signed contract amount</option>' in page
    assert '<option value="collected">Collected payments</option>' in page
