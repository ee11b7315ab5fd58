"""The channel filter (the customer's source channel) on the signed and collected amounts of
targets and on the collections dashboard, its drill-down and its XLSX."""

import datetime
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from contracts.services import payments
from sales.models import SalesSettings
from sales.services.dashboard import Filters, monthly_actuals

from .factories import make_contract


def _of_channel(contract, source):
    contract.customer.source = source
    contract.customer.save(update_fields=["source"])
    return contract


@pytest.fixture
def two_channels(org, won_stage):
    """rep1: a 30,000 contract from an event customer (12,000 collected) and a 20,000 contract
    from a website customer (5,000 collected), both signed today."""
    today = timezone.localdate()
    event = _of_channel(make_contract(org.rep1, won_stage, amount="30000", first_due=today), "event")
    website = _of_channel(
        make_contract(org.rep1, won_stage, amount="20000", parts=("20000",), first_due=today), "website"
    )
    payments.record_payment(contract=event, amount=Decimal("12000"), received_on=today, actor=org.rep1)
    payments.record_payment(contract=website, amount=Decimal("5000"), received_on=today, actor=org.rep1)
    return event, website


def _progress(org, amount_source, channel=""):
    settings = SalesSettings.current()
    settings.target_amount_source = amount_source
    settings.save()
    month = timezone.localdate().replace(day=1)
    end = (month + datetime.timedelta(days=32)).replace(day=1)
    filters = Filters(since=month, until=end - datetime.timedelta(days=1), source=channel)
    actual = monthly_actuals(org.manager1, filters, "amount_won", month, end)
    return actual.get((org.rep1.pk, month), 0)


def test_signed_amounts_count_every_channel_without_the_filter(org, two_channels):
    assert _progress(org, "signed") == Decimal("50000.00")


def test_signed_amounts_count_only_the_contracts_of_the_filtered_channel(org, two_channels):
    assert (_progress(org, "signed", "event"), _progress(org, "signed", "website")) == (
        Decimal("30000.00"),
        Decimal("20000.00"),
    )
    assert _progress(org, "signed", "live") == 0


def test_collected_amounts_count_every_channel_without_the_filter(org, two_channels):
    assert _progress(org, "collected") == Decimal("17000.00")


def test_collected_amounts_count_only_the_payments_of_the_filtered_channel(org, two_channels):
    assert (_progress(org, "collected", "event"), _progress(org, "collected", "website")) == (
        Decimal("12000.00"),
        Decimal("5000.00"),
    )


def test_a_won_deal_its_contract_and_its_payments_fall_under_the_same_channel(org, two_channels):
    assert [_progress(org, source, "event") for source in ("won", "signed", "collected")] == [
        Decimal("30000.00"),
        Decimal("30000.00"),
        Decimal("12000.00"),
    ]


# --- the collections dashboard --------------------------------------------------------------------


@pytest.fixture
def overdue_two_channels(org, won_stage):
    """rep1: an event contract of three 10,000 instalments (first due 40 days ago, 4,000 received)
    and a website contract of one 20,000 instalment due 10 days ago."""
    today = timezone.localdate()
    event = _of_channel(make_contract(org.rep1, won_stage, first_due=today - datetime.timedelta(days=40)), "event")
    website = _of_channel(
        make_contract(
            org.rep1,
            won_stage,
            amount="20000",
            parts=("20000",),
            first_due=today - datetime.timedelta(days=10),
        ),
        "website",
    )
    payments.record_payment(contract=event, amount=Decimal("4000"), received_on=today, actor=org.rep1)
    return event, website


def _numbers(data):
    return data["planned_total"], data["received_total"], data["overdue_total"]


def _drill(client, query):
    response = client.get(reverse("contracts:instalments") + query)
    return sorted(
        (row.record.contract.number, row.record.sequence) for row in response.context["table"].page.object_list
    )


def test_the_collections_dashboard_narrows_to_a_channel(
    client, org, overdue_two_channels, django_assert_max_num_queries
):
    today = timezone.localdate()
    client.force_login(org.manager1)
    with django_assert_max_num_queries(20):
        narrowed = client.get(reverse("contracts:collections") + f"?year={today.year}&source=event")
    everything = client.get(reverse("contracts:collections") + f"?year={today.year}")
    assert _numbers(narrowed.context["data"]) == (Decimal("30000.00"), Decimal("4000.00"), Decimal("16000.00"))
    assert _numbers(everything.context["data"]) == (Decimal("50000.00"), Decimal("4000.00"), Decimal("36000.00"))
    page = narrowed.content.decode()
    assert f'href="/contracts/collections/instalments/?owner={org.rep1.pk}&bucket=d30&source=event"' in page
    assert f'href="?year={today.year}&group=owner&source=event&export=xlsx"' in page


def test_the_drill_down_lists_the_instalments_behind_the_narrowed_figures(client, org, overdue_two_channels):
    event, website = overdue_two_channels
    client.force_login(org.manager1)
    assert _drill(client, "?bucket=d30&source=event") == [(event.number, 2)]
    assert _drill(client, "?bucket=d30") == sorted([(event.number, 2), (website.number, 1)])
    assert _drill(client, f"?owner={org.rep1.pk}&source=website") == [(website.number, 1)]


def test_the_drill_down_leaves_out_cancelled_contracts_as_the_dashboard_does(client, org, overdue_two_channels):
    event, website = overdue_two_channels
    website.status = "cancelled"
    website.save(update_fields=["status"])
    client.force_login(org.manager1)
    assert _drill(client, "?bucket=d30") == [(event.number, 2)]


def test_the_xlsx_holds_the_narrowed_figures(client, org, overdue_two_channels):
    today = timezone.localdate()
    client.force_login(org.manager1)
    response = client.get(reverse("contracts:collections") + f"?year={today.year}&source=event&export=xlsx")
    rows = list(load_workbook(io.BytesIO(response.content), read_only=True).active.values)
    assert [float(value) for value in rows[1][1:8]] == [30000, 4000, 16000, 10000, 6000, 0, 0]
    assert len([row for row in rows[1:] if row and row[0] and row[0] != "Month"]) == 13  # one rep, 12 months
