import datetime
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone

from contracts.models import Contract, Payment
from contracts.services import payments

from .factories import make_contract, won_opportunity


def test_rep_signs_a_contract_with_three_instalments_from_the_page(client, org, won_stage):
    opportunity = won_opportunity(org.rep1, won_stage, amount=Decimal("30000"))
    client.force_login(org.rep1)
    today = timezone.localdate()
    data = {
        "number": "HT-2026-001",
        "title": "年度辅导",
        "amount": "30000",
        "signed_on": today,
        "starts_on": today,
        "ends_on": today + datetime.timedelta(days=365),
        "lines-TOTAL_FORMS": "3",
        "lines-INITIAL_FORMS": "0",
        "plan-TOTAL_FORMS": "3",
        "plan-INITIAL_FORMS": "0",
    }
    for i in range(3):
        data[f"plan-{i}-due_on"] = today + datetime.timedelta(days=30 * i)
        data[f"plan-{i}-amount"] = "10000"
    response = client.post(reverse("contracts:contract_new") + f"?opportunity={opportunity.pk}", data)
    contract = Contract.objects.get(number="HT-2026-001")
    assert response.status_code == 302
    assert (contract.amount, contract.instalments.count()) == (Decimal("30000.00"), 3)


def test_a_plan_that_does_not_add_up_is_shown_beside_the_plan(client, org, won_stage):
    opportunity = won_opportunity(org.rep1, won_stage)
    client.force_login(org.rep1)
    today = timezone.localdate()
    data = {
        "number": "HT-X",
        "amount": "30000",
        "signed_on": today,
        "starts_on": today,
        "ends_on": today,
        "lines-TOTAL_FORMS": "0",
        "lines-INITIAL_FORMS": "0",
        "plan-TOTAL_FORMS": "1",
        "plan-INITIAL_FORMS": "0",
        "plan-0-due_on": today,
        "plan-0-amount": "100",
    }
    response = client.post(reverse("contracts:contract_new") + f"?opportunity={opportunity.pk}", data)
    assert response.status_code == 400
    assert "The instalments add up to 100.00, not the contract amount 30,000.00." in response.content.decode()


def test_recording_a_payment_on_the_page(client, org, won_stage):
    contract = make_contract(org.rep1, won_stage)
    client.force_login(org.rep1)
    response = client.post(
        reverse("contracts:payment_add", args=[contract.pk]),
        {"amount": "12000", "received_on": timezone.localdate(), "reference": "转账"},
    )
    contract.refresh_from_db()
    assert (response.status_code, contract.received) == (302, Decimal("12000.00"))


def test_an_over_payment_asks_for_the_confirmation(client, org, won_stage):
    contract = make_contract(org.rep1, won_stage)
    client.force_login(org.rep1)
    response = client.post(
        reverse("contracts:payment_add", args=[contract.pk]),
        {"amount": "40000", "received_on": timezone.localdate()},
    )
    assert response.status_code == 400
    assert "Confirm to record it anyway." in response.content.decode()
    assert Payment.objects.count() == 0


def test_another_reps_contract_is_not_found(client, org, won_stage):
    contract = make_contract(org.rep3, won_stage)
    client.force_login(org.rep1)
    assert client.get(reverse("contracts:contract", args=[contract.pk])).status_code == 404


def test_the_manager_sees_the_teams_collections_and_drills_down(client, org, won_stage, django_assert_max_num_queries):
    today = timezone.localdate()
    contract = make_contract(
        org.rep1, won_stage, first_due=today - datetime.timedelta(days=40), parts=("10000", "10000", "10000")
    )
    payments.record_payment(contract=contract, amount=Decimal("4000"), received_on=today, actor=org.rep1)
    make_contract(org.rep3, won_stage)  # another department: not in manager1's figures
    client.force_login(org.manager1)
    with django_assert_max_num_queries(20):
        response = client.get(reverse("contracts:collections") + f"?year={today.year}")
    data = response.context["data"]
    # 40 days ago: 31–60 bucket holds 6,000 of the first; 10 days ago: the second, 10,000 in 1–30
    assert {code: value for code, _label, value in data["ageing"]} == {
        "d30": Decimal("10000.00"),
        "d60": Decimal("6000.00"),
        "d90": Decimal("0"),
        "d90plus": Decimal("0"),
    }
    assert [(g["name"], g["overdue"]) for g in data["groups"]] == [(str(org.rep1), Decimal("16000.00"))]
    drill = client.get(reverse("contracts:instalments") + f"?owner={org.rep1.pk}&bucket=d60")
    assert [row.record.sequence for row in drill.context["table"].page.object_list] == [1]
    xlsx = client.get(reverse("contracts:collections") + "?export=xlsx")
    assert xlsx["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_a_rep_may_not_export_collections(client, org, won_stage):
    client.force_login(org.rep1)
    assert client.get(reverse("contracts:collections") + "?export=xlsx").status_code == 403


def test_the_contract_page_has_bounded_queries(client, org, won_stage, django_assert_max_num_queries):
    contract = make_contract(org.rep1, won_stage)
    for _i in range(3):
        payments.record_payment(
            contract=contract, amount=Decimal("3000"), received_on=timezone.localdate(), actor=org.rep1
        )
    client.force_login(org.rep1)
    with django_assert_max_num_queries(25):
        response = client.get(reverse("contracts:contract", args=[contract.pk]))
    assert response.status_code == 200


def test_a_prepayment_recorded_on_the_page_is_offset_with_the_button(client, org, won_stage):
    contract = make_contract(org.rep1, won_stage)
    client.force_login(org.rep1)
    today = timezone.localdate().isoformat()
    client.post(
        reverse("contracts:payment_add", args=[contract.pk]),
        {"amount": "12000", "received_on": today, "prepayment": "on"},
    )
    page = client.get(contract.get_absolute_url()).content.decode()
    assert "Prepayments and credit not yet offset: <b>¥12,000.00</b>" in page
    response = client.post(reverse("contracts:credit_apply", args=[contract.pk]))
    assert response.status_code == 302
    received = [str(i.received) for i in contract.instalments.order_by("sequence")]
    assert received == ["10000.00", "2000.00", "0.00"]


def test_the_rep_sets_an_instalments_dunning_levels(client, org, won_stage):
    contract = make_contract(org.rep1, won_stage)
    instalment = contract.instalments.get(sequence=2)
    client.force_login(org.rep1)
    url = reverse("contracts:instalment_dunning", args=[instalment.pk])
    page = client.get(url).content.decode()
    assert 'name="levels-0-offset_days" value="1"' in page  # the defaults are offered
    response = client.post(
        url,
        {
            "levels-TOTAL_FORMS": "3",
            "levels-INITIAL_FORMS": "0",
            "levels-0-offset_days": "-3",
            "levels-0-channel": "in_app",
            "levels-0-responsible": "owner",
            "levels-1-offset_days": "7",
            "levels-1-channel": "wecom",
            "levels-1-responsible": "user",
            "levels-1-user": str(org.admin.pk),
            "levels-2-offset_days": "",
        },
    )
    assert response.status_code == 302
    levels = instalment.dunning_levels.order_by("offset_days")
    assert [(lv.offset_days, lv.channel, lv.responsible, lv.user_id) for lv in levels] == [
        (-3, "in_app", "owner", None),
        (7, "wecom", "user", org.admin.pk),
    ]
    assert contract.instalments.get(sequence=1).dunning_levels.count() == 0


def test_a_named_person_level_needs_the_person(client, org, won_stage):
    contract = make_contract(org.rep1, won_stage)
    instalment = contract.instalments.get(sequence=1)
    client.force_login(org.rep1)
    response = client.post(
        reverse("contracts:instalment_dunning", args=[instalment.pk]),
        {
            "levels-TOTAL_FORMS": "1",
            "levels-INITIAL_FORMS": "0",
            "levels-0-offset_days": "7",
            "levels-0-channel": "email",
            "levels-0-responsible": "user",
        },
    )
    assert response.status_code == 400
    assert "Name the person." in response.content.decode()


def test_collections_split_the_plan_by_month_of_the_year_and_age_what_is_overdue(org, won_stage):
    from contracts import selectors

    year = timezone.localdate().year
    first_due = datetime.date(year - 1, 12, 10)  # due Dec 10 (last year), Jan 9 and Feb 8
    mine = make_contract(org.rep1, won_stage, first_due=first_due)
    make_contract(org.rep3, won_stage, first_due=first_due)
    payments.record_payment(contract=mine, amount=Decimal("4000"), received_on=timezone.localdate(), actor=org.rep1)
    on = datetime.date(year, 3, 1)
    data = selectors.collections(org.director, year=year, today=on, group="department")
    planned = {m["month"]: m["planned"] for m in data["months"] if m["planned"]}
    assert planned == {1: Decimal("20000.00"), 2: Decimal("20000.00")}
    assert data["planned_total"] == Decimal("40000.00")
    assert data["received_total"] == Decimal("4000.00")
    groups = {g["name"]: (g["planned"], g["received"], g["overdue"], g["ageing"]) for g in data["groups"]}
    # the payment went to last year's December instalment, but it came in this year: received this
    # year, in its department's row as in the total
    assert groups[mine.department.name] == (
        Decimal("20000.00"),
        Decimal("4000.00"),
        Decimal("26000.00"),
        [Decimal("10000.00"), Decimal("10000.00"), Decimal("6000.00"), Decimal("0")],
    )
    assert dict(data["ageing"]) == {
        "d30": Decimal("20000.00"),
        "d60": Decimal("20000.00"),
        "d90": Decimal("16000.00"),
        "d90plus": Decimal("0"),
    }
    assert data["overdue_total"] == Decimal("56000.00")
    for name in ("planned", "received", "overdue"):  # the rows add up to the cards
        assert sum((g[name] for g in data["groups"]), Decimal(0)) == data[f"{name}_total"]
    # a prepayment, matched to no instalment yet, is received in the rep's row as in the total
    payments.record_payment(
        contract=mine, amount=Decimal("500"), received_on=timezone.localdate(), actor=org.rep1, prepayment=True
    )
    data = selectors.collections(org.director, year=year, today=on)
    assert data["received_total"] == Decimal("4500.00")
    assert {g["id"]: g["received"] for g in data["groups"]} == {
        org.rep1.pk: Decimal("4500.00"),
        org.rep3.pk: Decimal(0),
    }
    by_rep = selectors.collections(org.director, year=year, today=on)
    assert [g["id"] for g in by_rep["groups"]] == [org.rep1.pk, org.rep3.pk]  # by user name
    assert [g["overdue"] for g in by_rep["groups"]] == [Decimal("26000.00"), Decimal("30000.00")]


def test_the_contract_list_finds_by_number_title_and_customer_name(client, org, won_stage):
    contract = make_contract(org.rep1, won_stage, number="HT-FIND-1")
    other = make_contract(org.rep1, won_stage, number="HT-OTHER-2")
    client.force_login(org.director)

    def found(q):
        response = client.get(reverse("contracts:contracts") + f"?q={q}")
        return {row.record.pk for row in response.context["table"].page.object_list}

    assert found("find-1") == {contract.pk}
    assert contract.pk in found(contract.customer.name[-3:])
    assert other.pk not in found("find")
