import datetime
from decimal import Decimal

from coupons import services
from coupons.models import Alert
from coupons.services import monitoring
from coupons.tests.factories import make_batch, make_budget
from crm.models import Notification
from customers.tests.factories import CustomerFactory, make_order


def test_low_stock_and_low_balance_alerts_are_raised_once_a_day(org):
    account = make_budget(org, total="100.00")
    account.low_balance_alert = Decimal("50")
    account.save()
    batch = make_batch(org, account=account, quantity=3, low_stock_alert=2, per_customer_limit=5, per_day_limit=5)
    customer = CustomerFactory()
    services.claim(batch_code=batch.code, customer=customer, channel="app")
    services.claim(batch_code=batch.code, customer=customer, channel="app")
    order = make_order(customer, "300.00", cost="100.00")
    coupon = batch.coupons.first()
    services.redeem(code=coupon.code, customer=customer, order=order)
    services.allocate(actor=org.admin, account=account, amount="-70")  # balance 100 - 20 - 70 = 10
    assert monitoring.check_alerts() == 2
    assert monitoring.check_alerts() == 0
    kinds = set(Alert.objects.values_list("kind", flat=True))
    assert kinds == {"low_stock", "low_balance"}
    assert Notification.objects.filter(recipient=org.marketing, kind="coupon_alert").exists()
    assert Notification.objects.filter(recipient=org.manager1, kind="coupon_alert").exists()


def test_low_efficiency_when_subsidized_goods_do_not_grow_faster(org):
    batch = make_batch(org, scope="categories", scope_values="数学")
    start = batch.claim_start
    customer = CustomerFactory()
    before = start - datetime.timedelta(hours=12)
    during = start + datetime.timedelta(hours=6)
    make_order(customer, "100", placed_at=before, lines=[{"sku": "M", "category": "数学", "price": "100"}])
    make_order(customer, "100", placed_at=before, lines=[{"sku": "E", "category": "英语", "price": "100"}])
    make_order(customer, "110", placed_at=during, lines=[{"sku": "M", "category": "数学", "price": "110"}])
    make_order(customer, "150", placed_at=during, lines=[{"sku": "E", "category": "英语", "price": "150"}])
    inside, outside = monitoring.efficiency(batch, now=start + datetime.timedelta(days=1))
    assert round(inside, 2) == 0.10 and round(outside, 2) == 0.50
    figures = monitoring.batch_figures([batch.pk])[batch.pk]
    assert figures["issued"] == 0 and figures["redemption_rate"] == 0
