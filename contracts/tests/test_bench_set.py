"""The large set's contract generator (``bench/contracts.py``) at a small scale: the rows it
inserts keep the services' rules, and the contract list and the collections dashboard read them
with the same number of queries whatever their number."""

from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from bench import contracts as bench_contracts
from contracts.models import Contract, Instalment, Payment, PaymentMatch
from customers.tests.factories import CustomerFactory


def _customers(org, n=12):
    for index in range(n):
        owner = (org.rep1, org.rep2, org.rep3)[index % 3]
        CustomerFactory(owner=owner, department=owner.department)


def test_the_generator_makes_three_instalments_per_contract_that_add_up(org):
    _customers(org)
    assert bench_contracts.generate(contracts=30) == 30
    contracts = Contract.objects.filter(number__startswith="BX")
    assert (contracts.count(), Instalment.objects.filter(contract__in=contracts).count()) == (30, 90)
    for contract in contracts.prefetch_related("instalments"):
        plan = list(contract.instalments.all())
        assert sum(i.amount for i in plan) == contract.amount
        assert sum(i.received for i in plan) == contract.received
        assert all(Decimal("0") <= i.received <= i.amount for i in plan)
    assert Payment.objects.aggregate(total=Sum("amount"))["total"] == contracts.aggregate(t=Sum("received"))["t"]
    assert PaymentMatch.objects.count() == Payment.objects.count()
    today = timezone.localdate()
    overdue = Instalment.objects.filter(settled_at__isnull=True, due_on__lt=today).count()
    settled = Instalment.objects.filter(settled_at__isnull=False).count()
    assert (overdue > 0, settled > 0) == (True, True)  # the set has both, whatever the day


def test_ensure_adds_the_set_once(org):
    _customers(org, 4)
    assert bench_contracts.ensure(contracts=8, log=lambda _m: None) == 8
    assert bench_contracts.ensure(contracts=8, log=lambda _m: None) == 0
    assert Contract.objects.filter(number__startswith="BX").count() == 8


def _queries(client, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_list_and_the_collections_dashboard_read_with_flat_query_counts(client, org):
    _customers(org)
    client.force_login(org.director)
    year = timezone.localdate().year
    urls = ["/contracts/", f"/contracts/collections/?year={year}", "/contracts/collections/instalments/?bucket=d30"]
    bench_contracts.generate(contracts=10)
    for url in urls:  # warm: what the pages cache (filter choices, the menus) is read once, not per size
        _queries(client, url)
    few = [_queries(client, url) for url in urls]
    bench_contracts.generate(contracts=60, seed=3)
    many = [_queries(client, url) for url in urls]
    assert many == few
