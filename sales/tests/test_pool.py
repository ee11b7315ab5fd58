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

NOW = datetime.datetime(2026, 11, 24, 2, 0, tzinfo=datetime.UTC)


@pytest.fixture
def rule(org):
    return PoolRule.objects.create(
        department=org.region,
        days_without_followup=15,
        days_without_deal=90,
        warn_days=3,
        cap=3,
        reclaim_cooldown_days=7,
    )


def test_lead_returns_after_n_days_without_followup_boundary(org, rule):
    rule.warn_days = 0
    rule.save()
    lead = LeadFactory(
        owner=org.rep1,
        assigned_at=NOW - datetime.timedelta(days=20),
        last_followup_at=NOW - datetime.timedelta(days=15) + datetime.timedelta(seconds=1),
    )
    services.recycle(now=NOW)
    lead.refresh_from_db()
    assert lead.owner == org.rep1  # 15 days minus a second: still protected
    services.recycle(now=NOW + datetime.timedelta(seconds=2))
    lead.refresh_from_db()
    assert lead.owner is None and lead.department == org.team1
    move = PoolMove.objects.get(lead=lead, reason=PoolMove.Reason.RECYCLED_NO_FOLLOWUP)
    assert move.from_owner == org.rep1


def test_lead_returns_after_m_days_without_a_deal_even_if_followed_up(org, rule):
    lead = LeadFactory(
        owner=org.rep1, assigned_at=NOW - datetime.timedelta(days=88), last_followup_at=NOW - datetime.timedelta(days=1)
    )
    services.recycle(now=NOW)  # due in 2 days: warned
    services.recycle(now=NOW + datetime.timedelta(days=3))
    lead.refresh_from_db()
    assert lead.owner is None
    assert PoolMove.objects.filter(lead=lead, reason=PoolMove.Reason.RECYCLED_NO_DEAL).exists()


def test_customer_with_an_opportunity_past_the_exempt_stage_stays(org, rule):
    from sales.models import OpportunityStage
    from sales.services.opportunities import ensure_default_stages

    ensure_default_stages()
    rule.exempt_stage = OpportunityStage.objects.get(position=2)
    rule.save()
    with time_machine.travel(NOW - datetime.timedelta(days=100), tick=False):
        kept = CustomerFactory(owner=org.rep1)
        gone = CustomerFactory(owner=org.rep1)
        opportunity = services.open_opportunity(actor=org.rep1, customer=kept, name="暑期班")
    opportunity.stage = OpportunityStage.objects.get(position=3)
    opportunity.save()
    rule.warn_days = 0
    rule.save()
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
    services.recycle(now=NOW - datetime.timedelta(days=3))  # the owner is warned first
    services.recycle(now=NOW)
    taken.refresh_from_db()
    assert taken.owner is None
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

    unexpected = []

    def claim(user):
        try:
            barrier.wait()
            services.claim_lead(user=user, lead_id=lead.pk)
            results.append("won")
        except PoolError as exc:
            results.append(exc.code)
        except Exception as exc:
            unexpected.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(u,)) for u in (org.rep1, org.rep2)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert unexpected == []
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
    outcomes, unexpected = [], []

    def claim(lead):
        try:
            barrier.wait()
            services.claim_lead(user=org.rep1, lead_id=lead.pk)
            outcomes.append("won")
        except PoolError as exc:
            outcomes.append(exc.code)
        except Exception as exc:
            unexpected.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(lead,)) for lead in leads]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert unexpected == []
    assert sorted(outcomes) == ["cap"] * 7 + ["won"] * 5
    assert Lead.objects.filter(owner=org.rep1).count() == 5


# --- what protects a record (deals) -----------------------------------------------------------


def _order(customer, at, amount="980.00"):
    from decimal import Decimal

    from customers.services import record_order

    return record_order(customer=customer, amount=Decimal(amount), cost=None, placed_at=at)


def _won(org, customer, at):
    from sales.models import OpportunityStage
    from sales.services.opportunities import ensure_default_stages

    ensure_default_stages()
    opportunity = services.open_opportunity(actor=org.rep1, customer=customer, name="暑期班")
    won = OpportunityStage.objects.get(is_won=True)
    type(opportunity).objects.filter(pk=opportunity.pk).update(stage=won, closed_at=at)
    return opportunity


def _run_days(start, days):
    """The hourly job over ``days`` days (one run every 6 hours is enough to see each date)."""
    for step in range(days * 4 + 1):
        services.recycle(now=start + datetime.timedelta(hours=6 * step))


def test_customer_who_bought_within_the_deal_period_is_not_recycled_for_lack_of_followups(org, rule):
    rule.recycle_paying_customers = True
    rule.save()
    bought = CustomerFactory(owner=org.rep1, owned_since=NOW - datetime.timedelta(days=100), name="刚下单的客户")
    _order(bought, NOW - datetime.timedelta(days=10))
    silent = CustomerFactory(owner=org.rep1, owned_since=NOW - datetime.timedelta(days=100), name="没下单的客户")
    _run_days(NOW, 5)
    bought.refresh_from_db()
    silent.refresh_from_db()
    assert bought.owner == org.rep1
    assert silent.owner is None
    assert PoolWarning.objects.filter(customer=bought).count() == 0


def test_a_paying_customer_returns_m_days_after_the_last_deal_when_the_rule_says_so(org, rule):
    rule.recycle_paying_customers = True
    rule.save()
    customer = CustomerFactory(owner=org.rep1, owned_since=NOW - datetime.timedelta(days=300))
    _order(customer, NOW - datetime.timedelta(days=87, hours=12))  # the deal period ends in 2.5 days
    _run_days(NOW, 2)
    customer.refresh_from_db()
    assert customer.owner == org.rep1
    _run_days(NOW + datetime.timedelta(days=2), 4)
    customer.refresh_from_db()
    assert customer.owner is None
    assert PoolMove.objects.get(customer=customer).reason == PoolMove.Reason.RECYCLED_NO_DEAL


def test_paying_customers_stay_with_their_owner_by_default(org, rule):
    customer = CustomerFactory(owner=org.rep1, owned_since=NOW - datetime.timedelta(days=400))
    _order(customer, NOW - datetime.timedelta(days=300))
    prospect = CustomerFactory(owner=org.rep1, owned_since=NOW - datetime.timedelta(days=400))
    _run_days(NOW, 4)
    customer.refresh_from_db()
    prospect.refresh_from_db()
    assert rule.recycle_paying_customers is False
    assert customer.owner == org.rep1
    assert prospect.owner is None


def test_a_won_opportunity_is_a_deal(org, rule):
    rule.recycle_paying_customers = True
    rule.save()
    customer = CustomerFactory(owner=org.rep1, owned_since=NOW - datetime.timedelta(days=100))
    _won(org, customer, NOW - datetime.timedelta(days=5))
    _run_days(NOW, 4)
    customer.refresh_from_db()
    assert customer.owner == org.rep1


def test_latest_deal_is_the_latest_of_orders_and_won_opportunities(org):
    from customers import deals

    customer = CustomerFactory(owner=org.rep1)
    assert deals.latest_deal_for(customer.pk) is None
    _order(customer, NOW - datetime.timedelta(days=30))
    _won(org, customer, NOW - datetime.timedelta(days=3))
    assert deals.latest_deal_for(customer.pk) == NOW - datetime.timedelta(days=3)
    assert deals.kinds() == ["order", "won_opportunity"]


# --- warnings ---------------------------------------------------------------------------------


def test_one_warning_per_record_and_return_date_through_the_warning_window(org, rule):
    lead = LeadFactory(owner=org.rep1, assigned_at=NOW - datetime.timedelta(days=12, hours=1), name="快到期的线索")
    _run_days(NOW, 3)  # hourly job seen every 6 hours through the 3-day window
    warning = PoolWarning.objects.get(lead=lead)
    due = NOW - datetime.timedelta(days=12, hours=1) + datetime.timedelta(days=15)
    assert warning.deadline == timezone.localdate(due)
    assert org.rep1.notifications.filter(kind="pool_warning").count() == 1
    lead.refresh_from_db()
    assert lead.owner is None  # returned on its date, three days after the warning
    move = PoolMove.objects.get(lead=lead)
    assert move.at - warning.sent_at >= datetime.timedelta(days=3)


def test_an_overdue_record_is_warned_first_and_returns_k_days_later(org, rule):
    lead = LeadFactory(owner=org.rep1, assigned_at=NOW - datetime.timedelta(days=40))
    services.recycle(now=NOW)
    lead.refresh_from_db()
    assert lead.owner == org.rep1
    assert PoolWarning.objects.get(lead=lead).deadline == timezone.localdate(NOW + datetime.timedelta(days=3))
    services.recycle(now=NOW + datetime.timedelta(days=2, hours=23))
    lead.refresh_from_db()
    assert lead.owner == org.rep1
    services.recycle(now=NOW + datetime.timedelta(days=3))
    lead.refresh_from_db()
    assert lead.owner is None
    assert PoolWarning.objects.filter(lead=lead).count() == 1


def test_a_followup_after_the_warning_means_a_new_warning_for_the_new_date(org, rule):
    lead = LeadFactory(owner=org.rep1, assigned_at=NOW - datetime.timedelta(days=13))
    services.recycle(now=NOW)
    Lead.objects.filter(pk=lead.pk).update(last_followup_at=NOW + datetime.timedelta(days=1))
    _run_days(NOW + datetime.timedelta(days=1), 12)
    lead.refresh_from_db()
    assert lead.owner == org.rep1
    assert PoolWarning.objects.filter(lead=lead).count() == 1
    _run_days(NOW + datetime.timedelta(days=13), 1)
    assert PoolWarning.objects.filter(lead=lead).count() == 2


# --- cool-down for every way of letting go ----------------------------------------------------


def test_release_then_reclaim_is_refused_by_the_cooldown(org, rule):
    lead = LeadFactory(owner=None, department=org.team1)
    services.claim_lead(user=org.rep1, lead_id=lead.pk)
    lead.refresh_from_db()
    services.release_lead(user=org.rep1, lead=lead)
    with pytest.raises(PoolError) as exc:
        services.claim_lead(user=org.rep1, lead_id=lead.pk)
    assert exc.value.code == "cooldown"
    services.claim_lead(user=org.rep2, lead_id=lead.pk)


def test_released_customer_cannot_be_reclaimed_by_the_same_rep_for_x_days(org, rule):
    customer = CustomerFactory(owner=org.rep1)
    services.release_customer(user=org.rep1, customer=customer)
    customer.refresh_from_db()
    assert customer.owner is None and customer.department == org.team1
    with pytest.raises(PoolError) as exc:
        services.claim_customer(user=org.rep1, customer_id=customer.pk)
    assert exc.value.code == "cooldown"
    with time_machine.travel(timezone.now() + datetime.timedelta(days=7, minutes=1), tick=False):
        services.claim_customer(user=org.rep1, customer_id=customer.pk)
    customer.refresh_from_db()
    assert customer.owner == org.rep1


def test_a_rep_reassigned_away_cannot_claim_the_lead_back_at_once(org, rule):
    lead = LeadFactory(owner=org.rep1)
    services.assign_leads(actor=org.manager1, leads=Lead.objects.filter(pk=lead.pk), owner=org.rep2)
    lead.refresh_from_db()
    services.release_lead(user=org.rep2, lead=lead)
    with pytest.raises(PoolError) as exc:
        services.claim_lead(user=org.rep1, lead_id=lead.pk)
    assert exc.value.code == "cooldown"


def test_a_customer_handed_over_away_cannot_be_claimed_back_at_once(org, rule):
    from customers.services import assign_customers

    customer = CustomerFactory(owner=org.rep1)
    assign_customers(actor=org.manager1, customers=Customer.objects.filter(pk=customer.pk), owner=org.rep2)
    Customer.objects.filter(pk=customer.pk).update(owner=None)
    with pytest.raises(PoolError) as exc:
        services.claim_customer(user=org.rep1, customer_id=customer.pk)
    assert exc.value.code == "cooldown"


# --- pool membership --------------------------------------------------------------------------


@pytest.mark.parametrize("scope", ["self", "department", "department_tree"])
def test_a_rep_in_a_team_sees_the_pool_of_the_department_whose_rule_applies(org, scope):
    from sales.services.pool import pool_q

    PoolRule.objects.create(department=org.sales1)
    PoolRule.objects.create(department=org.sales2)
    in_department = LeadFactory(owner=None, department=org.sales1)
    in_team = LeadFactory(owner=None, department=org.team1)
    elsewhere = LeadFactory(owner=None, department=org.sales2)
    org.rep1.data_scope = scope
    org.rep1.save()
    seen = set(Lead.objects.filter(pool_q(org.rep1)).values_list("pk", flat=True))
    assert seen == {in_department.pk, in_team.pk}
    assert elsewhere.pk not in seen


def test_a_department_scope_user_sees_the_whole_shared_pool_not_only_the_team(org):
    from sales.services.pool import pool_q

    PoolRule.objects.create(department=org.region)
    leads = [LeadFactory(owner=None, department=d) for d in (org.region, org.sales1, org.team1, org.sales2)]
    org.rep3.data_scope = "department"
    org.rep3.save()
    assert set(Lead.objects.filter(pool_q(org.rep3)).values_list("pk", flat=True)) == {lead.pk for lead in leads}


def test_a_team_with_its_own_rule_has_its_own_pool(org):
    from sales.services.pool import pool_q

    PoolRule.objects.create(department=org.sales1)
    PoolRule.objects.create(department=org.team1)
    team = LeadFactory(owner=None, department=org.team1)
    department = LeadFactory(owner=None, department=org.sales1)
    assert set(Lead.objects.filter(pool_q(org.rep1)).values_list("pk", flat=True)) == {team.pk}
    assert set(Lead.objects.filter(pool_q(org.rep2)).values_list("pk", flat=True)) == {department.pk}
