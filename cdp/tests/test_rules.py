"""Behaviour events in segments, in lead scoring, on the 360 timeline; merge suggestions."""

import datetime

import pytest
from django.utils import timezone

from cdp.models import Event, IdentityKind, MergeSuggestion
from cdp.services import identities
from customers import timeline
from customers.tests.factories import CustomerFactory
from marketing.services import segments
from sales.models import ScoringRule
from sales.services.leads import score_of
from sales.services.scoring import rescore_open_leads
from sales.tests.factories import LeadFactory


def watched(customer, times, days_ago=3, kind="live_watch"):
    at = timezone.now() - datetime.timedelta(days=days_ago)
    for i in range(times):
        Event.objects.create(key=f"{customer.pk}-{kind}-{days_ago}-{i}", type=kind, at=at, customer=customer)


def test_a_segment_finds_customers_who_watched_two_live_streams_in_30_days(org):
    twice, once, long_ago = (CustomerFactory(name=n, owner=org.rep1) for n in ("两次", "一次", "很久以前"))
    watched(twice, 2)
    watched(once, 1)
    watched(long_ago, 3, days_ago=45)
    definition = segments.clean_definition(
        "customers",
        {"groups": [{"match": "all", "conditions": [{"field": "events_live_watch_30d", "op": "gte", "value": "2"}]}]},
    )
    found = segments.members(org.marketing, subject="customers", definition=definition)
    assert sorted(found.values_list("name", flat=True)) == ["两次"]


def test_the_counted_customers_are_those_the_former_count_of_ids_found(db):
    from django.db.models import Count

    from cdp.selectors import customers_with_events

    people = CustomerFactory.create_batch(5)
    for customer, times, days_ago, kind in [
        (people[0], 3, 3, "live_watch"),
        (people[1], 2, 29, "live_watch"),
        (people[2], 1, 3, "live_watch"),
        (people[3], 4, 31, "live_watch"),
        (people[4], 5, 3, "page_view"),
    ]:
        watched(customer, times, days_ago=days_ago, kind=kind)
    watched(people[2], 1, days_ago=10)
    since = timezone.now() - datetime.timedelta(days=30)
    former = (
        Event.objects.filter(type="live_watch", at__gte=since)
        .order_by()
        .values("customer_id")
        .annotate(n=Count("id"))
        .filter(n__gte=2)
        .values_list("customer_id", flat=True)
    )
    now = customers_with_events("live_watch", 2, since).values_list("customer_id", flat=True)
    assert sorted(now) == sorted(former) == sorted(c.pk for c in people[:3])


def test_a_scoring_rule_counts_the_live_streams_of_the_leads_customer(org):
    customer = CustomerFactory(owner=org.rep1)
    watched(customer, 2)
    ScoringRule.objects.all().delete()
    ScoringRule.objects.create(criterion="ev_live_watch", value="2", points=30)
    lead = LeadFactory(existing_customer=customer, owner=org.rep1)
    other = LeadFactory(owner=org.rep1)
    assert (score_of(lead), score_of(other)) == (30, 0)
    rescore_open_leads()
    lead.refresh_from_db()
    other.refresh_from_db()
    assert (lead.score, other.score) == (30, 0)


def test_the_timeline_summarizes_a_days_events_in_one_entry(org):
    customer = CustomerFactory(owner=org.rep1)
    watched(customer, 2)
    watched(customer, 3, kind="page_view")
    page = timeline.page(customer, kind="cdp_events")
    assert [(e.obj.total, e.obj.summary) for e in page.entries] == [(5, [("直播观看", 2), ("页面浏览", 3)])]


def test_a_shared_identity_becomes_one_merge_suggestion_seen_by_the_manager(client, org):
    first, second = CustomerFactory(owner=org.rep1), CustomerFactory(owner=org.rep1)
    identities.link_identity(customer=first, kind=IdentityKind.EMAIL, value="Li@Example.com")
    assert identities.link_identity(customer=second, kind=IdentityKind.EMAIL, value="li@example.com") is None
    identities.link_identity(customer=second, kind=IdentityKind.EMAIL, value="li@example.com")
    assert MergeSuggestion.objects.count() == 1
    client.force_login(org.manager1)
    page = client.get("/cdp/merge-suggestions/")
    assert (page.status_code, page.content.decode().count('data-testid="suggestion"')) == (200, 1)
    client.post(f"/cdp/merge-suggestions/{MergeSuggestion.objects.get().pk}/dismiss")
    assert MergeSuggestion.objects.get().status == MergeSuggestion.Status.DISMISSED


@pytest.mark.parametrize("who", ["rep1", "marketing"])
def test_reps_and_marketing_do_not_review_merge_suggestions(client, org, who):
    client.force_login(getattr(org, who))
    assert client.get("/cdp/merge-suggestions/").status_code == 403


def test_merging_the_suggested_pair_keeps_the_identities_and_events_and_ends_the_suggestion(org):
    from customers.services import merge_customers

    first, second = CustomerFactory(owner=org.rep1), CustomerFactory(owner=org.rep1)
    identities.link_identity(customer=first, kind=IdentityKind.EMAIL, value="li@example.com")
    identities.link_identity(customer=second, kind=IdentityKind.EMAIL, value="li@example.com")
    identities.link_identity(customer=second, kind=IdentityKind.MOBILE, value="13900001111")
    watched(second, 2)
    merge_customers(actor=org.admin, survivor=first, duplicate=second)
    assert (
        MergeSuggestion.objects.count(),
        first.cdp_identities.count(),
        Event.objects.filter(customer=first).count(),
    ) == (0, 2, 2)
