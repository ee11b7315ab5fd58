from django.core.management import call_command

from coupons import demo
from coupons.models import Batch, BudgetAccount, Coupon, Redemption, SubsidyPlanVersion
from crm.models import User


def test_small_demo_reconciles_and_fills_the_pages(client, db, django_assert_max_num_queries):
    call_command("seed_demo", "--size", "small")
    assert demo.check() == []
    statuses = set(Batch.objects.values_list("status", flat=True))
    assert {"draft", "submitted", "approved", "rejected", "active", "paused", "ended"} <= statuses
    assert Coupon.objects.filter(status="claimed").exists() and Redemption.objects.exists()
    assert BudgetAccount.objects.filter(used__gt=0).exists() and SubsidyPlanVersion.objects.count() == 2
    for redemption in Redemption.objects.select_related("order", "coupon")[:20]:
        assert redemption.order.customer_id == redemption.coupon.customer_id
    client.force_login(User.objects.get(username="director"))
    with django_assert_max_num_queries(15):
        page = client.get("/coupons/monitoring/?start=" + str(Redemption.objects.earliest("at").at.date()))
    assert (
        page.status_code == 200
        and page.context["totals"]["redemptions"]
        == Redemption.objects.filter(
            coupon__batch__campaign__department__path__startswith=page.context["request"].user.department.path
        ).count()
    )
    for url in (
        "/coupons/",
        "/coupons/budgets/",
        f"/coupons/batches/{Batch.objects.filter(status='active').first().pk}/",
    ):
        assert client.get(url).status_code == 200


def test_the_check_catches_counters_that_do_not_match_the_rows(db):
    call_command("seed_demo", "--size", "small")
    batch = Batch.objects.filter(issued__gt=0).first()
    Batch.objects.filter(pk=batch.pk).update(issued=batch.issued - 1)
    account = BudgetAccount.objects.filter(used__gt=0).first()
    BudgetAccount.objects.filter(pk=account.pk).update(used=account.used + 1)
    problems = demo.check()
    assert any(batch.code in p for p in problems) and any(f"account {account.pk}" in p for p in problems)
    demo.reconcile_counters()
    assert demo.check() == []
