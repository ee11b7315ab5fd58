import pytest
from django.core.management import call_command
from django.http import HttpRequest

from crm.models import Department, User
from customers.models import Customer


def _snapshot():
    return list(Customer.objects.order_by("mobile").values_list("name", "mobile", "region", "owner__username"))


@pytest.mark.django_db(transaction=True)
def test_seed_demo_is_deterministic_and_loads_once():
    call_command("seed_demo", "--size", "small", "--seed", "7")
    first = _snapshot()
    assert (
        User.objects.filter(
            username__in=["admin", "director", "manager1", "manager2", "rep1", "rep2", "rep3", "rep4", "marketing"]
        ).count()
        == 9
    )
    assert Department.objects.filter(name__in=["销售一部", "销售二部", "市场部"]).count() == 3
    assert 100 <= len(first) <= 1000
    call_command("seed_demo", "--if-empty")
    assert _snapshot() == first
    # same seed, fresh data: the same rows
    call_command("flush", "--noinput")
    call_command("seed_demo", "--size", "small", "--seed", "7")
    assert _snapshot() == first


def test_demo_users_log_in_with_the_demo_password(client, db):
    call_command("seed_demo", "--size", "small")
    # the login protection (django-axes) wants the request that the login form would pass
    assert client.login(request=HttpRequest(), username="rep1", password="crm-demo")
