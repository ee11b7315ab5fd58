"""Partners: the pipeline's rules, scope, follow-ups with reminders, the list and the kanban."""

import datetime

import pytest
from auditlog.models import LogEntry
from django.urls import reverse
from django.utils import timezone

from crm.errors import Conflict, Invalid
from crm.tests.parallel import run_parallel
from partners.models import Partner, PartnerContact, PartnerFollowUp, PartnerStatus, PartnerStatusChange
from partners.services import partners as services
from sales.models import Reminder

from .factories import PartnerFactory

TODAY = datetime.date(2026, 12, 7)


def signed_period(partner):
    partner.contract_start, partner.contract_end = TODAY, TODAY + datetime.timedelta(days=364)
    partner.save()
    return partner


def test_a_new_partner_starts_as_a_prospect_with_a_readable_referral_code(org):
    partner = services.save_partner(
        partner=Partner(
            name="杭州云帆商贸有限公司", kind="agent", owner=org.rep1, department=org.team1, status="active"
        ),
        actor=org.rep1,
    )
    assert partner.status == PartnerStatus.PROSPECT
    assert len(partner.code) == 8
    assert set(partner.code) & set("O0I1") == set()


def test_a_contract_ending_before_it_starts_is_refused_beside_the_end_date(org):
    partner = Partner(
        name="渠道",
        owner=org.rep1,
        department=org.team1,
        contract_start=TODAY,
        contract_end=TODAY - datetime.timedelta(days=1),
    )
    with pytest.raises(Invalid) as exc:
        services.save_partner(partner=partner, actor=org.rep1)
    assert exc.value.fields == {"contract_end": ["The contract ends before it starts."]}
    assert Partner.objects.count() == 0


def test_a_partner_moves_along_the_pipeline_and_each_move_is_recorded(org):
    partner = signed_period(PartnerFactory(owner=org.rep1))
    for status in ("negotiating", "signed", "active", "suspended", "active"):
        services.move_partner(partner=partner, to_status=status, actor=org.rep1)
    assert Partner.objects.get(pk=partner.pk).status == "active"
    assert list(PartnerStatusChange.objects.order_by("id").values_list("from_status", "to_status")) == [
        ("prospect", "negotiating"),
        ("negotiating", "signed"),
        ("signed", "active"),
        ("active", "suspended"),
        ("suspended", "active"),
    ]
    entries = LogEntry.objects.get_for_object(partner).filter(actor=org.rep1).order_by("id")
    moves = [entry.changes_dict["status"] for entry in entries if "status" in entry.changes_dict]
    assert moves == [
        ["prospect", "negotiating"],
        ["negotiating", "signed"],
        ["signed", "active"],
        ["active", "suspended"],
        ["suspended", "active"],
    ]


def test_a_prospect_cannot_jump_to_active(org):
    partner = signed_period(PartnerFactory(owner=org.rep1))
    with pytest.raises(Invalid) as exc:
        services.move_partner(partner=partner, to_status="active", actor=org.rep1)
    assert exc.value.code == "status_transition"
    assert Partner.objects.get(pk=partner.pk).status == "prospect"


def test_a_terminated_partner_moves_nowhere(org):
    partner = PartnerFactory(owner=org.rep1, status="terminated")
    with pytest.raises(Invalid):
        services.move_partner(partner=partner, to_status="prospect", actor=org.rep1)


def test_signing_needs_the_contract_period(org):
    partner = PartnerFactory(owner=org.rep1, status="negotiating")
    with pytest.raises(Invalid) as exc:
        services.move_partner(partner=partner, to_status="signed", actor=org.rep1)
    assert exc.value.fields == {"contract_start": ["Enter the contract period before signing."]}


def test_a_move_on_a_stale_status_is_refused(org):
    partner = PartnerFactory(owner=org.rep1)
    stale = Partner.objects.get(pk=partner.pk)
    services.move_partner(partner=partner, to_status="negotiating", actor=org.rep1)
    stale.status = "prospect"
    with pytest.raises(Conflict):
        services.move_partner(partner=stale, to_status="terminated", actor=org.rep2)
    assert Partner.objects.get(pk=partner.pk).status == "negotiating"


@pytest.mark.django_db(transaction=True)
def test_two_managers_moving_the_same_card_at_once_make_one_move():
    from crm.tests.factories import OrgFixture

    org = OrgFixture()
    partner = PartnerFactory(owner=org.rep1)

    def move(to_status, user):
        return lambda: (
            services.move_partner(partner=Partner.objects.get(pk=partner.pk), to_status=to_status, actor=user).status
        )

    results = run_parallel(
        [move("negotiating", org.rep1), move("terminated", org.manager1)], refusals=[(Conflict, lambda exc: exc.code)]
    )
    assert sorted(results, key=lambda r: r == "status_changed") == [
        Partner.objects.get(pk=partner.pk).status,
        "status_changed",
    ]
    assert PartnerStatusChange.objects.count() == 1


def test_a_follow_up_with_a_next_time_becomes_the_channel_managers_reminder(org):
    partner = PartnerFactory(owner=org.rep1)
    next_at = timezone.now() + datetime.timedelta(days=2)
    services.add_follow_up(partner=partner, actor=org.manager1, kind="visit", content="谈返佣政策", next_at=next_at)
    reminder = Reminder.objects.get()
    assert (reminder.owner, reminder.due_at, reminder.title) == (org.rep1, next_at, f"跟进合作伙伴 {partner.name}")
    assert Partner.objects.get(pk=partner.pk).next_follow_up_at == next_at
    assert PartnerFollowUp.objects.get().author == org.manager1


def test_a_follow_up_in_the_past_is_refused_beside_its_time(org):
    partner = PartnerFactory(owner=org.rep1)
    with pytest.raises(Invalid) as exc:
        services.add_follow_up(
            partner=partner,
            actor=org.rep1,
            kind="call",
            content="x",
            next_at=timezone.now() - datetime.timedelta(minutes=1),
        )
    assert list(exc.value.fields) == ["next_at"]
    assert PartnerFollowUp.objects.count() == 0


def test_one_primary_contact_per_partner(org):
    partner = PartnerFactory(owner=org.rep1)
    first = services.save_contact(
        contact=PartnerContact(partner=partner, name="陈建国", is_primary=True), actor=org.rep1
    )
    services.save_contact(contact=PartnerContact(partner=partner, name="刘芳", is_primary=True), actor=org.rep1)
    assert list(partner.contacts.values_list("name", "is_primary")) == [("刘芳", True), ("陈建国", False)]
    first.refresh_from_db()
    assert first.is_primary is False


# --- pages ---------------------------------------------------------------------------------------


def test_a_rep_lists_only_his_own_partners_and_the_manager_his_teams(client, org):
    PartnerFactory(owner=org.rep1, name="甲渠道")
    PartnerFactory(owner=org.rep2, name="乙渠道")
    PartnerFactory(owner=org.rep3, name="丙渠道")
    from partners.selectors import partners_for

    assert list(partners_for(org.rep1).values_list("name", flat=True)) == ["甲渠道"]
    assert sorted(partners_for(org.manager1).values_list("name", flat=True)) == ["乙渠道", "甲渠道"]
    client.force_login(org.rep1)
    response = client.get(reverse("partners:list"))
    assert response.status_code == 200
    assert "甲渠道" in response.content.decode()
    assert "乙渠道" not in response.content.decode()


def test_a_rep_cannot_open_or_move_another_reps_partner(client, org):
    theirs = PartnerFactory(owner=org.rep2)
    client.force_login(org.rep1)
    assert client.get(reverse("partners:detail", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("partners:move", args=[theirs.pk]), {"status": "negotiating"}).status_code == 404
    assert Partner.objects.get(pk=theirs.pk).status == "prospect"


def test_the_list_reads_in_bounded_queries(client, org, django_assert_max_num_queries):
    for n in range(30):
        PartnerFactory(owner=(org.rep1, org.rep2)[n % 2])
    client.force_login(org.manager1)
    with django_assert_max_num_queries(14):
        response = client.get(reverse("partners:list") + "?per_page=50")
    assert response.status_code == 200
    assert response.context["table"].paginator.count == 30


def test_the_board_shows_each_stage_with_its_count_in_bounded_queries(client, org, django_assert_max_num_queries):
    for status, n in (("prospect", 3), ("negotiating", 2), ("active", 1)):
        for _i in range(n):
            PartnerFactory(owner=org.rep1, status=status)
    client.force_login(org.rep1)
    with django_assert_max_num_queries(10):
        response = client.get(reverse("partners:board"))
    counts = {column["status"]: column["count"] for column in response.context["columns"]}
    assert counts == {"prospect": 3, "negotiating": 2, "signed": 0, "active": 1, "suspended": 0, "terminated": 0}


def test_creating_a_partner_through_the_page(client, org):
    client.force_login(org.rep1)
    response = client.post(
        reverse("partners:create"),
        {
            "name": "宁波海润贸易有限公司",
            "kind": "dealer",
            "region_0": "330000",
            "region_1": "330200",
            "region_2": "330203",
            "owner": org.rep1.pk,
            "department": org.team1.pk,
            "notes": "",
        },
    )
    partner = Partner.objects.get()
    assert response.status_code == 302
    assert (partner.name, partner.region, partner.owner, partner.status) == (
        "宁波海润贸易有限公司",
        "330203",
        org.rep1,
        "prospect",
    )


def test_moving_on_the_board_without_a_contract_says_why(client, org):
    partner = PartnerFactory(owner=org.rep1, status="negotiating")
    client.force_login(org.rep1)
    response = client.post(
        reverse("partners:move", args=[partner.pk]), {"status": "signed", "from": "board"}, follow=True
    )
    assert "签约前请填写合同期限。" in response.content.decode()
    assert Partner.objects.get(pk=partner.pk).status == "negotiating"


def test_the_detail_page_shows_contacts_follow_ups_and_history(client, org, django_assert_max_num_queries):
    partner = signed_period(PartnerFactory(owner=org.rep1, name="杭州云帆"))
    services.save_contact(contact=PartnerContact(partner=partner, name="陈建国", mobile="13800001111"), actor=org.rep1)
    services.add_follow_up(partner=partner, actor=org.rep1, kind="call", content="确认合同条款")
    services.move_partner(partner=partner, to_status="negotiating", actor=org.rep1)
    client.force_login(org.rep1)
    with django_assert_max_num_queries(20):
        response = client.get(reverse("partners:detail", args=[partner.pk]))
    html = response.content.decode()
    assert "陈建国" in html
    assert "确认合同条款" in html
    assert 'data-testid="partner-status">洽谈中<' in html


def test_a_partner_without_a_contract_shows_one_dash_for_its_period(client, org):
    unsigned = PartnerFactory(owner=org.rep1, contract_start=None, contract_end=None)
    signed = PartnerFactory(
        owner=org.rep1, contract_start=datetime.date(2026, 10, 8), contract_end=datetime.date(2027, 10, 8)
    )
    client.force_login(org.rep1)
    html = client.get(reverse("partners:detail", args=[unsigned.pk])).content.decode()
    assert '<dd class="col-sm-8" data-testid="contract-period">—</dd>' in html
    html = client.get(reverse("partners:detail", args=[signed.pk])).content.decode()
    assert '<dd class="col-sm-8" data-testid="contract-period">2026-10-08 – 2027-10-08</dd>' in html
