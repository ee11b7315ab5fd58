import datetime
from decimal import Decimal

from django.utils import timezone

from coupons.models import Coupon, Redemption
from coupons.tests.factories import make_batch, make_budget
from customers.tests.factories import CustomerFactory, make_order


def _activity(org):
    """sales1: 3 claims (2 yesterday, 1 today), 1 redemption today; sales2: 1 claim 5 days ago."""
    now = timezone.now()
    one = make_batch(org, account=make_budget(org, department=org.sales1), code="s1")
    two = make_batch(org, account=make_budget(org, department=org.sales2), code="s2")
    customer = CustomerFactory(owner=org.rep1)
    made = []
    for index, (batch, when) in enumerate(
        [
            (one, now - datetime.timedelta(days=1)),
            (one, now - datetime.timedelta(days=1)),
            (one, now),
            (two, now - datetime.timedelta(days=5)),
        ]
    ):
        made.append(
            Coupon.objects.create(
                batch=batch,
                code=f"C{index}",
                status="claimed",
                customer=customer,
                claimed_at=when,
                amount=Decimal("20"),
            )
        )
    order = make_order(customer, amount=Decimal("300"))
    Redemption.objects.create(
        coupon=made[2],
        order=order,
        account=one.campaign.budget_account,
        order_amount=Decimal("300"),
        discount=Decimal("20"),
        subsidy=Decimal("20"),
        at=now,
    )
    reversed_order = make_order(customer, amount=Decimal("500"))
    Redemption.objects.create(
        coupon=made[0],
        order=reversed_order,
        account=one.campaign.budget_account,
        order_amount=Decimal("500"),
        discount=Decimal("20"),
        subsidy=Decimal("20"),
        at=now,
        reversed_at=now,
    )
    return one, two


def test_daily_figures_by_department_in_scope(client, org, django_assert_max_num_queries):
    _activity(org)
    client.force_login(org.director)
    with django_assert_max_num_queries(14):
        page = client.get("/coupons/monitoring/")
    html = page.content.decode()
    assert page.status_code == 200
    assert page.context["totals"]["claims"] == 4 and page.context["totals"]["redemptions"] == 1
    assert page.context["totals"]["subsidy"] == Decimal("20") and page.context["totals"]["gmv"] == Decimal("300")
    assert {d.pk for d in page.context["departments"]} == {org.sales1.pk, org.sales2.pk}
    for key in ("claims", "redemptions", "subsidy", "gmv"):
        assert f'data-chart="chart-{key}"' in html
    today = timezone.localdate()
    rows = {(r["day"], r["department"].pk): r for r in page.context["rows"]}
    assert rows[(today - datetime.timedelta(days=1), org.sales1.pk)]["claims"] == 2
    assert rows[(today, org.sales1.pk)]["redemptions"] == 1


def test_scope_period_and_department_filters_in_the_url(english, client, org, django_assert_max_num_queries):
    _activity(org)
    client.force_login(org.manager1)  # sales1 tree only
    page = client.get("/coupons/monitoring/")
    assert page.context["totals"]["claims"] == 3
    assert {d.pk for d in page.context["departments"]} == {org.sales1.pk}
    client.force_login(org.director)
    today = timezone.localdate()
    start = (today - datetime.timedelta(days=3)).isoformat()
    with django_assert_max_num_queries(14):
        page = client.get(f"/coupons/monitoring/?start={start}&end={today.isoformat()}&department={org.sales2.pk}")
    assert page.context["totals"]["claims"] == 0
    page = client.get(f"/coupons/monitoring/?department={org.sales2.pk}&start={(today - datetime.timedelta(days=10))}")
    assert page.context["totals"]["claims"] == 1 and len(page.context["charts"][0]["option"]["xAxis"]["data"]) == 11
    bad = client.get(f"/coupons/monitoring/?start={today}&end={today - datetime.timedelta(days=2)}")
    assert bad.status_code == 200 and "must start before it ends" in bad.content.decode()
    client.force_login(org.rep1)
    assert client.get("/coupons/monitoring/").status_code == 403


def test_todays_figures_are_live_and_earlier_days_cached_for_ten_minutes(client, org):
    from django.core.cache import cache

    one, _two = _activity(org)
    client.force_login(org.director)
    assert client.get("/coupons/monitoring/").context["totals"]["claims"] == 4
    customer = CustomerFactory(owner=org.rep1)
    now = timezone.now()
    Coupon.objects.create(batch=one, code="T1", status="claimed", customer=customer, claimed_at=now)
    Coupon.objects.create(
        batch=one, code="T2", status="claimed", customer=customer, claimed_at=now - datetime.timedelta(days=2)
    )
    assert client.get("/coupons/monitoring/").context["totals"]["claims"] == 5  # today's at once
    cache.clear()  # what ten minutes do
    assert client.get("/coupons/monitoring/").context["totals"]["claims"] == 6
