"""The large membership generator, proven at a small scale on PostgreSQL: the ledger's invariants
hold for every row it writes, and the member page reads a long ledger in a flat number of queries."""

import pytest
from django.db.models import Sum

from crm.tests.factories import OrgFixture
from customers.tests.factories import CustomerFactory
from members import demo_large
from members.models import Member, PointsEntry, Tier


@pytest.mark.django_db
def test_the_generator_writes_lots_whose_sums_are_the_balances(postgres):
    Tier.objects.create(name="普通", position=0)
    org = OrgFixture()
    for _ in range(12):
        CustomerFactory(owner=org.rep1, department=org.team1)
    rows = demo_large.generate(members=10, entries_per_member=30)
    member = Member.objects.order_by("id").first()
    last = PointsEntry.objects.filter(member=member).order_by("-at", "-id").first()
    by_member = dict(PointsEntry.objects.values_list("member_id").annotate(s=Sum("remaining")))
    assert (rows, Member.objects.count(), PointsEntry.objects.filter(delta__lte=0).count()) == (300, 10, 0)
    assert all(by_member[m.pk] == m.points for m in Member.objects.all())
    assert (last.balance_after, last.expires_on.day == 1) == (member.points, False)


@pytest.mark.django_db
def test_the_member_page_reads_a_long_ledger_in_flat_queries(postgres, client, django_assert_max_num_queries):
    Tier.objects.create(name="普通", position=0)
    org = OrgFixture()
    CustomerFactory(owner=org.rep1, department=org.team1)
    demo_large.generate(members=1, entries_per_member=400)
    member = Member.objects.get()
    client.force_login(org.rep1)
    with django_assert_max_num_queries(20):
        response = client.get(member.get_absolute_url())
    assert (response.status_code, len(response.context["ledger"])) == (200, 200)
