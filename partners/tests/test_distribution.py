"""线索分配给合作伙伴: new leads nobody owns go to active partners by the weight of their grade, in a
deterministic weighted round-robin, within the daily cap; the backlog goes by a beat task; the
partner records what came of each lead."""

import datetime

import pytest
from auditlog.models import LogEntry
from django.urls import reverse

from crm.errors import Invalid
from crm.models import Notification
from crm.tests.parallel import run_parallel
from partners.models import LeadDistributionRule, LeadHandover, PartnerLeadDay
from partners.services.distribution import distribute_backlog, hand_over_lead, record_outcome
from partners.tasks import distribute_lead_backlog
from sales.models import AssignmentRule, Lead
from sales.services.leads import capture_lead

from .factories import PartnerFactory


def rule(**fields):
    values = {"is_active": True, "weight_a": 3, "weight_b": 2, "weight_c": 1, "weight_d": 0, **fields}
    LeadDistributionRule.objects.update_or_create(pk=1, defaults=values)
    return LeadDistributionRule.current()


def capture(n, **fields):
    return capture_lead(name=f"线索{n}", mobile=f"1380000{n:04d}", **fields)


@pytest.fixture
def three(org):
    """Active partners of grade A, B and C (in that id order), and a suspended A."""
    return {
        "A": PartnerFactory(owner=org.rep1, status="active", grade="A", name="金牌渠道"),
        "B": PartnerFactory(owner=org.rep2, status="active", grade="B", name="银牌渠道"),
        "C": PartnerFactory(owner=org.rep3, status="active", grade="C", name="铜牌渠道"),
        "off": PartnerFactory(owner=org.rep1, status="suspended", grade="A", name="暂停渠道"),
    }


def test_new_leads_go_to_partners_in_a_weighted_round_robin_by_grade(three):
    rule()
    leads = [capture(n) for n in range(12)]
    names = [LeadHandover.objects.get(lead=lead).partner.name for lead in leads]
    assert names == ["金牌渠道", "银牌渠道", "金牌渠道", "铜牌渠道", "银牌渠道", "金牌渠道"] * 2


def test_a_grade_weighted_zero_and_a_partner_not_active_get_no_lead(three):
    rule(weight_c=0)
    for n in range(10):
        capture(n)
    counts = {p.name: p.handovers.count() for p in three.values()}
    assert counts == {"金牌渠道": 6, "银牌渠道": 4, "铜牌渠道": 0, "暂停渠道": 0}


def test_the_lead_goes_to_the_channel_manager_with_the_reason_in_its_history_and_he_is_told(org, three):
    rule()
    lead = capture(1)
    lead.refresh_from_db()
    assert (lead.owner, lead.department, lead.status) == (org.rep1, org.team1, "assigned")
    handover = LeadHandover.objects.get(lead=lead)
    assert (handover.reason, handover.grade, handover.weight, handover.outcome) == ("new", "A", 3, "pending")
    entry = LogEntry.objects.get_for_object(lead).filter(additional_data__by__kind="rule").get()
    assert entry.additional_data["by"]["name"] == "线索分配：交给合作伙伴 金牌渠道（A 级，权重 3）"
    assert entry.changes_dict["owner"] == [None, str(org.rep1.pk)]
    assert LogEntry.objects.get_for_object(handover).count() == 1
    notice = Notification.objects.get(recipient=org.rep1, kind="partner_lead_handed")
    assert notice.title == "线索 线索1 已交给合作伙伴 金牌渠道"
    assert notice.url == f"/sales/leads/{lead.pk}/"


def test_a_lead_an_assignment_rule_takes_or_a_duplicate_is_not_handed_over(org, three):
    rule()
    AssignmentRule.objects.create(source="event", user=org.rep2)
    taken = capture(1, source="event")
    capture(2)
    duplicate = capture_lead(name="重复", mobile="13800000002")
    assert Lead.objects.get(pk=taken.pk).owner == org.rep2
    assert LeadHandover.objects.filter(lead__in=[taken, duplicate]).count() == 0
    assert LeadHandover.objects.count() == 1


def test_the_rule_narrows_by_source_and_region(three):
    rule(source="website", region="330000")
    capture(1, source="website", region="浙江省杭州市西湖区")
    capture(2, source="website", region="江苏省南京市")
    capture(3, source="event", region="浙江省杭州市")
    assert list(LeadHandover.objects.values_list("lead__name", flat=True)) == ["线索1"]


def test_an_inactive_rule_hands_nothing(three):
    rule(is_active=False)
    capture(1)
    assert distribute_backlog() == 0
    assert LeadHandover.objects.count() == 0


def test_the_daily_cap_holds_and_the_next_day_starts_again(three, time_machine):
    time_machine.move_to(datetime.datetime(2026, 12, 7, 10, tzinfo=datetime.UTC), tick=False)
    rule(daily_cap=2)
    for n in range(8):
        capture(n)
    assert {p.name: p.handovers.count() for p in three.values()} == {
        "金牌渠道": 2,
        "银牌渠道": 2,
        "铜牌渠道": 2,
        "暂停渠道": 0,
    }
    assert Lead.objects.filter(owner__isnull=True, status="new").count() == 2
    time_machine.move_to(datetime.datetime(2026, 12, 8, 10, tzinfo=datetime.UTC), tick=False)
    assert distribute_lead_backlog() == 2
    next_day = PartnerLeadDay.objects.filter(day=datetime.date(2026, 12, 8)).order_by("partner_id")
    assert list(next_day.values_list("handed", flat=True)) == [0, 1, 1]
    assert Lead.objects.filter(owner__isnull=True).count() == 0


def test_the_backlog_task_hands_old_leads_out_once(three):
    for n in range(5):
        capture(n)  # the rule is off: they wait
    rule()
    assert distribute_lead_backlog() == 5
    assert distribute_lead_backlog() == 0
    assert set(LeadHandover.objects.values_list("reason", flat=True)) == {"backlog"}
    assert LeadHandover.objects.count() == 5


def test_the_partner_records_contacted_then_converted_and_the_lead_follows(org, three):
    rule()
    handover = LeadHandover.objects.get(lead=capture(1))
    record_outcome(handover=handover, outcome="contacted", actor=None)
    assert Lead.objects.get(pk=handover.pk).status == "contacted"
    handover.refresh_from_db()
    record_outcome(handover=handover, outcome="converted", actor=None)
    lead = Lead.objects.get(pk=handover.pk)
    assert (lead.status, LeadHandover.objects.get(pk=handover.pk).outcome) == ("qualified", "converted")
    assert Notification.objects.get(kind="partner_lead_converted").recipient == org.rep1


def test_a_final_outcome_is_not_changed(three):
    rule()
    handover = LeadHandover.objects.get(lead=capture(1))
    handover = record_outcome(handover=handover, outcome="invalid", actor=None)
    with pytest.raises(Invalid) as refused:
        record_outcome(handover=handover, outcome="converted", actor=None)
    assert refused.value.code == "outcome"
    assert Lead.objects.get(pk=handover.pk).status == "invalid"


def test_the_admin_sets_the_rule_on_its_page(client, org):
    client.force_login(org.admin)
    response = client.post(
        reverse("partners:distribution"),
        {
            "is_active": "on",
            "source": "",
            "region": "",
            "weight_a": "5",
            "weight_b": "2",
            "weight_c": "1",
            "weight_d": "0",
            "daily_cap": "20",
        },
    )
    assert response.status_code == 302
    current = LeadDistributionRule.current()
    assert (current.is_active, current.weights, current.daily_cap) == (
        True,
        {"A": 5, "B": 2, "C": 1, "D": 0},
        20,
    )
    change = LogEntry.objects.get_for_object(current).get(action=LogEntry.Action.UPDATE)
    assert (change.actor, change.changes_dict["weight_a"]) == (org.admin, ["3", "5"])
    page = client.get(reverse("partners:distribution")).content.decode()
    assert "线索分配给合作伙伴" in page
    assert '<select name="source" class="form-select" id="id_source">' in page


@pytest.mark.django_db(transaction=True)
def test_leads_handed_at_once_respect_the_daily_cap_and_go_once():
    """Twelve leads handed over by twelve threads at once, two partners capped at four a day: four
    each, every lead at most once, and the credits as if they had come one by one."""
    from crm.tests.factories import OrgFixture

    org = OrgFixture()
    PartnerFactory(owner=org.rep1, status="active", grade="A")
    PartnerFactory(owner=org.rep2, status="active", grade="C")
    current = rule(daily_cap=4)
    leads = [Lead.objects.create(name=f"并发{n}", mobile=f"1370000{n:04d}") for n in range(12)]
    results = run_parallel(
        [lambda lead=lead: hand_over_lead(lead=lead, rule=current, reason="backlog") is not None for lead in leads]
        + [lambda lead=leads[0]: hand_over_lead(lead=lead, rule=current, reason="backlog") is not None]
    )
    assert sorted(results) == [False] * 5 + [True] * 8
    assert sorted(PartnerLeadDay.objects.values_list("handed", flat=True)) == [4, 4]
    assert LeadHandover.objects.count() == 8
