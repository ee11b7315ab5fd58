import datetime
import threading

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from customers.models import Customer
from customers.tests.factories import CustomerFactory
from sales import services
from sales.models import Lead, PoolMove, PoolRule, PoolWarning
from sales.services.pool import PoolError
from sales.tests.factories import LeadFactory

NOW = datetime.datetime(2026, 11, 24, 2, 0, tzinfo=datetime.timezone.utc)


@pytest.fixture
def rule(org):
    return PoolRule.objects.create(department=org.region, days_without_followup=15, days_without_deal=90, warn_days=3,
                                   cap=3, reclaim_cooldown_days=7)


def test_lead_returns_after_n_days_without_followup_boundary(org, rule):
    lead = LeadFactory(owner=org.rep1, assigned_at=NOW - datetime.timedelta(days=20),
                       last_followup_at=NOW - datetime.timedelta(days=15) + datetime.timedelta(seconds=1))
    services.recycle(now=NOW)
    lead.refresh_from_db()
    assert lead.owner == org.rep1  # 15 days minus a second: still protected
    services.recycle(now=NOW + datetime.timedelta(seconds=2))
    lead.refresh_from_db()
    assert lead.owner is None and lead.department == org.team1
    move = PoolMove.objects.get(lead=lead, reason=PoolMove.Reason.RECYCLED_NO_FOLLOWUP)
    assert move.from_owner == org.rep1


def test_lead_returns_after_m_days_without_a_deal_even_if_followed_up(org, rule):
    lead = LeadFactory(owner=org.rep1, assigned_at=NOW - datetime.timedelta(days=91),
                       last_followup_at=NOW - datetime.timedelta(days=1))
    services.recycle(now=NOW)
    lead.refresh_from_db()
    assert lead.owner is None
    assert PoolMove.objects.filter(lead=lead, reason=PoolMove.Reason.RECYCLED_NO_DEAL).exists()


def test_customer_with_an_opportunity_past_the_exempt_stage_stays(org, rule):
    from sales.services.opportunities import ensure_default_stages
    from sales.models import OpportunityStage

    ensure_default_stages()
    rule.exempt_stage = OpportunityStage.objects.get(position=2)
    rule.save()
    with time_machine.travel(NOW - datetime.timedelta(days=100), tick=False):
        kept = CustomerFactory(owner=org.rep1)
        gone = CustomerFactory(owner=org.rep1)
        opportunity = services.open_opportunity(actor=org.rep1, customer=kept, name="暑期班")
    opportunity.stage = OpportunityStage.objects.get(position=3)
    opportunity.save()
    services.recycle(now=NOW)
    kept.refresh_from_db()
    gone.refresh_from_db()
    assert kept.owner == org.rep1 and gone.owner is None


def test_owner_is_warned_k_days_before_once(org, rule):
    LeadFactory(owner=org.rep1, assigned_at=NOW - datetime.timedelta(days=13), name="快到期的线索")
    services.recycle(now=NOW)
    services.recycle(now=NOW)
    assert PoolWarning.objects.count() == 1
    note = org.rep1.notifications.get()
    assert "快到期的线索" in note.body


def test_claim_respects_cap_and_cooldown(org, rule):
    pool = LeadFactory.create_batch(4, owner=None, department=org.team1)
    for lead in pool[:3]:
        services.claim_lead(user=org.rep1, lead_id=lead.pk)
    with pytest.raises(PoolError) as exc:
        services.claim_lead(user=org.rep1, lead_id=pool[3].pk)
    assert exc.value.code == "cap"
    # the pool takes one back; rep1 may not re-claim it for 7 days, rep2 may
    taken = pool[0]
    Lead.objects.filter(pk=taken.pk).update(last_followup_at=None, assigned_at=NOW - datetime.timedelta(days=20))
    services.recycle(now=NOW)
    with time_machine.travel(NOW + datetime.timedelta(days=6), tick=False):
        with pytest.raises(PoolError) as exc:
            services.claim_lead(user=org.rep1, lead_id=taken.pk)
        assert exc.value.code == "cooldown"
    with time_machine.travel(NOW + datetime.timedelta(days=7, minutes=1), tick=False):
        services.claim_lead(user=org.rep1, lead_id=taken.pk)


def test_claiming_a_taken_lead_fails(org, rule):
    lead = LeadFactory(owner=org.rep2)
    with pytest.raises(PoolError) as exc:
        services.claim_lead(user=org.rep1, lead_id=lead.pk)
    assert exc.value.code == "taken"


def test_customer_claim_records_ownership(org, rule):
    customer = CustomerFactory(owner=None, department=org.team1)
    services.claim_customer(user=org.rep1, customer_id=customer.pk)
    customer.refresh_from_db()
    assert customer.owner == org.rep1 and customer.ownership_changes.get().reason == "claimed"


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_two_reps_one_lead_exactly_one_wins(postgres):
    from crm.tests.factories import OrgFixture

    org = OrgFixture()
    PoolRule.objects.create(department=org.region, cap=100)
    lead = LeadFactory(owner=None, department=org.sales1)
    results, barrier = [], threading.Barrier(2)

    def claim(user):
        try:
            barrier.wait()
            services.claim_lead(user=user, lead_id=lead.pk)
            results.append("won")
        except PoolError as exc:
            results.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(u,)) for u in (org.rep1, org.rep2)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted(results) == ["taken", "won"]
    assert PoolMove.objects.filter(lead=lead, reason=PoolMove.Reason.CLAIMED).count() == 1


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_parallel_claims_by_one_rep_never_pass_the_cap(postgres):
    from crm.tests.factories import OrgFixture

    org = OrgFixture()
    PoolRule.objects.create(department=org.region, cap=5)
    leads = LeadFactory.create_batch(12, owner=None, department=org.sales1)
    barrier = threading.Barrier(12)

    def claim(lead):
        try:
            barrier.wait()
            services.claim_lead(user=org.rep1, lead_id=lead.pk)
        except PoolError:
            pass
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(lead,)) for lead in leads]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert Lead.objects.filter(owner=org.rep1).count() == 5


