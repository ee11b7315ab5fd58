"""The fault scenarios and the checks of the data they leave behind.

Each scenario returns a ``Result``: passed or not, one line of figures, and the raw figures."""

import datetime
import logging
import signal
import time
from dataclasses import dataclass, field
from decimal import Decimal

from .stack import settle, wait_until
from .traffic import Traffic, summarize

log = logging.getLogger("bench.faults")


@dataclass
class Result:
    name: str
    passed: bool
    line: str
    figures: dict = field(default_factory=dict)


@dataclass
class Context:
    run_id: str
    token: str
    batch_code: str
    customers: list
    owners: list


# --- preparing the private database ------------------------------------------------------------


def prepare(stack):
    """Migrate and load the small demo set into the private database, then set up the run's API
    token, coupon batch and the people who get emails."""
    stack.manage("migrate", "--noinput")
    stack.manage("seed_demo", "--size", "small")
    import os

    os.environ.update(stack.env())
    import django

    django.setup()
    for name in ("crm", "celery", "kombu"):  # the outage warnings of this process are expected
        logging.getLogger(name).setLevel(logging.CRITICAL)
    from django.utils import timezone

    from coupons.models import Batch, BudgetAccount, Campaign, FiscalPeriod
    from crm.models import ApiScope, User
    from crm.services import create_api_client, issue_token
    from customers.models import Customer

    run_id = str(int(time.time()))
    for user in User.objects.filter(is_active=True):
        user.notify_by_email, user.email = True, user.email or f"{user.username}@example.com"
        user.save(update_fields=["notify_by_email", "email"])
    client = create_api_client(name=f"faults-{run_id}", description="python -m bench.faults", can_see_mobile=False)
    _token, raw = issue_token(client=client, scopes=list(ApiScope.values), name="faults")
    marketing = User.objects.get(username="marketing")
    today = timezone.localdate()
    period = FiscalPeriod.objects.create(
        name=f"FAULTS-{run_id}", kind="quarter", start=today, end=today + datetime.timedelta(days=80)
    )
    account = BudgetAccount.objects.create(
        period=period, department=marketing.department, total=Decimal("10000000"), owner=marketing
    )
    campaign = Campaign.objects.create(
        name=f"FAULTS-{run_id}",
        owner=marketing,
        department=marketing.department,
        budget_account=account,
        start=today,
        end=today + datetime.timedelta(days=30),
    )
    now = timezone.now()
    batch = Batch.objects.create(
        campaign=campaign,
        code=f"faults-{run_id}",
        name="故障演练 满200减20",
        discount_type="threshold",
        amount=Decimal("20"),
        threshold=Decimal("200"),
        quantity=1_000_000,
        per_customer_limit=1000,
        per_day_limit=1000,
        claim_start=now - datetime.timedelta(hours=1),
        claim_end=now + datetime.timedelta(days=30),
        use_days=7,
        status=Batch.Status.ACTIVE,
        production=Batch.Production.LAZY,
        budget_mode=Batch.BudgetMode.RESERVE_AT_CLAIM,
        created_by=marketing,
    )
    customers = list(Customer.objects.order_by("id").values_list("id", flat=True))
    owners = list(User.objects.filter(username__in=["rep1", "rep2", "rep3", "rep4"]))
    return Context(run_id=run_id, token=raw, batch_code=batch.code, customers=customers, owners=owners)


def traffic_for(stack, ctx, clients):
    return Traffic(
        base_url=f"http://127.0.0.1:{stack.web_port}",
        token=ctx.token,
        customers=ctx.customers,
        batch_code=ctx.batch_code,
        run_id=ctx.run_id,
        clients=clients,
    )


def fresh_db():
    from django.db import connections

    connections.close_all()


# --- reminders ---------------------------------------------------------------------------------


def make_reminders(ctx, tag, count, *, due_from, spread_seconds=0.0):
    """``count`` reminders created two days ago and due from ``due_from`` on: each has three
    notices (1 day and 1 hour before, when due), the first two due at once."""
    from django.utils import timezone

    from sales.models import Reminder, SalesSettings
    from sales.services.reminders import _next_notice_at

    settings = SalesSettings.current()
    created = timezone.now() - datetime.timedelta(days=2)
    reminders = []
    for n in range(count):
        reminder = Reminder(
            owner=ctx.owners[n % len(ctx.owners)],
            title=f"回访 [{tag}-{n}]",
            created_at=created,
            due_at=due_from + datetime.timedelta(seconds=spread_seconds * n / count),
        )
        reminder.next_notice_at = _next_notice_at(reminder, settings)
        reminders.append(reminder)
    Reminder.objects.bulk_create(reminders, batch_size=1000)
    return count


def notice_figures(tag):
    """Notices, notifications, sent emails and duplicates of the reminders tagged ``tag``."""
    from django.db.models import Count

    from crm.models import Delivery, DeliveryAttempt, Notification
    from sales.models import ReminderNotice

    notifications = Notification.objects.filter(title__contains=f"[{tag}-")
    deliveries = Delivery.objects.filter(notification__in=notifications)
    return {
        "notices": ReminderNotice.objects.filter(reminder__title__contains=f"[{tag}-").count(),
        "notifications": notifications.count(),
        "distinct_notifications": notifications.values("title").distinct().count(),
        "emails_sent": deliveries.filter(status=Delivery.Status.SENT).count(),
        "emails_sent_twice": DeliveryAttempt.objects.filter(delivery__in=deliveries, ok=True)
        .values("delivery")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count(),
    }


def exactly_once(figures, expected):
    return (
        figures["notices"]
        == figures["notifications"]
        == figures["distinct_notifications"]
        == figures["emails_sent"]
        == expected
        and figures["emails_sent_twice"] == 0
    )


def dispatch_transaction_open():
    """A reminder dispatcher is inside its batch transaction (it holds the reminder rows)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("""SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
                          WHERE c.relname = 'sales_reminder' AND l.mode = 'RowShareLock' AND l.granted
                          AND l.pid <> pg_backend_pid()""")
        return cursor.fetchone()[0] > 0


# --- scenarios ---------------------------------------------------------------------------------


def redis_stopped(stack, ctx, *, outage_seconds, clients, warm_seconds=5, after_seconds=5):
    """Redis stops while people work: pages and API writes go on; notifications made meanwhile
    wait in the outbox and are sent, once each, after Redis is back."""
    from django.db import transaction
    from django.db.models import Count

    from crm.models import Delivery, DeliveryAttempt
    from crm.notifications import notify

    traffic = traffic_for(stack, ctx, clients)
    traffic.start()
    time.sleep(warm_seconds)
    stopped = time.monotonic()
    stack.stop_redis()
    notes = []
    while time.monotonic() < stopped + outage_seconds:
        with transaction.atomic():
            note = notify(
                recipient=ctx.owners[len(notes) % len(ctx.owners)],
                kind="fault",
                title=f"故障演练通知 [FR{ctx.run_id}-{len(notes)}]",
            )
        notes.append(note.pk)
        time.sleep(0.3)
    deliveries = Delivery.objects.filter(notification_id__in=notes)
    waiting = deliveries.filter(status=Delivery.Status.PENDING).count()
    restarted = time.monotonic()
    stack.start_redis()
    time.sleep(after_seconds)
    traffic.stop()
    drained = None
    if settle(lambda: deliveries.filter(status=Delivery.Status.SENT).count() == len(notes), 120):
        drained = time.monotonic() - restarted
    sent = deliveries.filter(status=Delivery.Status.SENT).count()
    twice = (
        DeliveryAttempt.objects.filter(delivery__in=deliveries, ok=True)
        .values("delivery")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    before = summarize(traffic.window(0, stopped))
    during = summarize(traffic.window(stopped, restarted))
    whole = summarize(traffic.outcomes)
    passed = whole["errors"] == 0 and during["ok"] > 0 and waiting == len(notes) == sent and not twice
    kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(during["by_kind"].items()))
    line = (
        f"redis stopped {outage_seconds:.0f} s: {during['requests']} requests during the outage ({kinds}), "
        f"{during['errors']} errors ({whole['errors']} in the whole run of {whole['requests']}), "
        f"p95 {during['p95_ms']} ms (before: {before['p95_ms']} ms); {len(notes)} notifications made meanwhile, "
        f"{waiting} waited in the outbox, "
        f"{sent} sent {'%.1f s' % drained if drained is not None else 'NOT all'} after Redis was back, "
        f"{twice} twice"
    )
    return Result(
        "redis",
        passed,
        line,
        {
            "during": during,
            "whole": whole,
            "notifications": len(notes),
            "waited": waiting,
            "sent": sent,
            "twice": twice,
            "drain_s": drained,
        },
    ), traffic


def worker_killed(stack, ctx, *, reminders, kills):
    """The only worker is killed (SIGKILL) inside a batch of reminders, ``kills`` times; the next
    worker and the next beat ticks send every notice and email exactly once."""
    from django.utils import timezone

    from sales.models import ReminderNotice

    stack.kill("worker-2", signal.SIGTERM)  # one worker: the one killed is the one dispatching
    tag = f"FK{ctx.run_id}"
    make_reminders(ctx, tag, reminders, due_from=timezone.now() - datetime.timedelta(minutes=1))
    expected = 3 * reminders
    notices = ReminderNotice.objects.filter(reminder__title__contains=f"[{tag}-")
    worker, landed, inside = "worker-1", [], 0

    def batch_under_way(since):
        """A dispatcher is inside a batch (after the first kill: once the next worker made progress)."""
        done = notices.count()
        return done < expected and (since is None or done > since) and dispatch_transaction_open()

    for _kill in range(kills):
        since = landed[-1] if landed else None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and notices.count() < expected and not batch_under_way(since):
            time.sleep(0.02)
        if not batch_under_way(since):
            break  # every notice went out before a dispatcher could be caught inside a batch
        open_before = dispatch_transaction_open()
        stack.kill(worker, signal.SIGKILL)
        landed.append(notices.count())
        inside += open_before
        worker = f"worker-1-{len(landed)}"
        stack.start_worker(worker)
    settle(lambda: notice_figures(tag)["emails_sent"] >= expected, 180)
    time.sleep(3)  # more ticks: nothing more is sent
    figures = notice_figures(tag)
    stack.processes["worker-1"] = stack.processes.pop(worker)
    stack.start_worker("worker-2")
    passed = exactly_once(figures, expected) and inside >= 1
    line = (
        f"worker killed mid-batch: {len(landed)} SIGKILLs, {inside} inside a batch transaction "
        f"(notices committed at each kill: {', '.join(map(str, landed))} of {expected}); {reminders} reminders: "
        f"{figures['notices']} notices, {figures['notifications']} notifications, {figures['emails_sent']} "
        f"emails, {figures['emails_sent_twice']} sent twice"
    )
    return Result("worker", passed, line, {**figures, "expected": expected, "kills": landed, "inside": inside})


def two_beats(stack, ctx, *, reminders, spread_seconds, beat_seconds):
    """A second beat process runs beside the first (both send the dispatcher and the sweep) while
    reminders fall due: every notice and email once."""
    from django.utils import timezone

    stack.start_beat("beat-b", beat_seconds)

    def ticks(name):
        return stack.log_text(name).count("sales.tasks.dispatch_reminders")

    wait_until(lambda: ticks("beat-b") > 0, 60, "the second beat to tick")
    before = {name: ticks(name) for name in ("beat-a", "beat-b")}
    tag = f"FB{ctx.run_id}"
    make_reminders(ctx, tag, reminders, due_from=timezone.now(), spread_seconds=spread_seconds)
    expected = 3 * reminders
    settle(lambda: notice_figures(tag)["emails_sent"] >= expected, 150)
    time.sleep(3)  # more ticks of both beats: nothing more is sent
    during = {name: ticks(name) - before[name] for name in before}
    stack.kill("beat-b", signal.SIGTERM)
    figures = notice_figures(tag)
    passed = exactly_once(figures, expected) and min(during.values()) >= 2
    line = (
        f"two beat processes: beat-a {during['beat-a']} and beat-b {during['beat-b']} dispatcher ticks while "
        f"{reminders} reminders fell due over {spread_seconds:.0f} s; {figures['notices']} notices, "
        f"{figures['notifications']} notifications, {figures['emails_sent']} emails of {expected}, "
        f"{figures['emails_sent_twice']} sent twice"
    )
    return Result("beats", passed, line, {**figures, "expected": expected, "ticks": during})


def postgres_restarted(stack, ctx, *, down_seconds, clients, warm_seconds=5, after_seconds=15, recover_within=10):
    """PostgreSQL stops at once (immediate shutdown, as in a crash) under load and starts again:
    requests fail with an HTTP error while it is down, then work again; nothing is half-written."""
    traffic = traffic_for(stack, ctx, clients)
    traffic.start()
    time.sleep(warm_seconds)
    down = time.monotonic()
    stack.stop_postgres(mode="immediate")
    time.sleep(down_seconds)
    stack.start_postgres()
    up = time.monotonic()
    time.sleep(after_seconds)
    traffic.stop()
    fresh_db()
    before = summarize(traffic.window(0, down))
    outage = summarize(traffic.window(down, up))
    after = traffic.window(up, float("inf"))
    errors_after = [o for o in after if o.error]
    recovered = (max(o.at for o in errors_after) - up) if errors_after else 0.0
    transport = sum(1 for o in traffic.outcomes if not isinstance(o.status, int))
    unclean = sum(not o.clean for o in traffic.outcomes)
    late = summarize([o for o in after if o.at > up + recover_within])
    passed = before["errors"] == 0 and late["errors"] == 0 and late["ok"] > 0 and unclean == 0
    line = (
        f"postgresql restarted under load (down {down_seconds:.0f} s, immediate stop): "
        f"{summarize(traffic.outcomes)['requests']} requests; while down {outage['requests']}, "
        f"{outage['errors']} failed ({', '.join(f'{k}: {v}' for k, v in sorted(outage['statuses'].items()))}); "
        f"{unclean} not the product's own error answer ({transport} without any HTTP answer); "
        f"errors until {recovered:.1f} s after it was back, "
        f"{late['errors']} after {recover_within} s ({late['ok']} ok)"
    )
    return Result(
        "postgres",
        passed,
        line,
        {"before": before, "outage": outage, "late": late, "recovered_s": recovered, "transport_errors": transport},
    ), traffic


# --- the data afterwards -----------------------------------------------------------------------


def check_data(ctx, traffics):
    """What the database must say after every fault: each acknowledged write is there, whole;
    nothing is half-written; the coupon figures reconcile."""
    from django.db.models import Count, F, Q, Sum

    from coupons import demo
    from coupons.models import Coupon, Redemption
    from customers.models import Customer, Order
    from sales.models import Lead

    fresh_db()
    problems = []
    orders = Order.objects.filter(external_id__startswith=f"FAULT-{ctx.run_id}-")
    item_orders = orders.filter(external_id__contains="-O").annotate(
        n=Count("lines"), total=Sum(F("lines__quantity") * F("lines__price"))
    )
    half = item_orders.filter(~Q(n=2) | ~Q(total=F("amount"))).count()
    if half:
        problems.append(f"{half} orders without all their items")
    acknowledged = {}
    claims, redeemed = {}, {}
    for traffic in traffics:
        acknowledged.update(traffic.orders)
        claims.update(traffic.claims)
        redeemed.update(traffic.redeemed)
    leads = set().union(*(traffic.leads for traffic in traffics)) if traffics else set()
    missing_leads = len(leads - set(Lead.objects.filter(pk__in=leads).values_list("pk", flat=True)))
    if missing_leads:
        problems.append(f"{missing_leads} acknowledged leads missing")
    stored = set(orders.filter(external_id__in=list(acknowledged)).values_list("external_id", flat=True))
    if stored != set(acknowledged):
        problems.append(f"{len(set(acknowledged) - stored)} acknowledged orders missing")
    coupons = {c.code: c for c in Coupon.objects.filter(code__in=list(claims))}
    wrong = [
        code
        for code, customer in claims.items()
        if code not in coupons or coupons[code].customer_id != customer or coupons[code].status == "available"
    ]
    if wrong:
        problems.append(f"{len(wrong)} acknowledged claims not stored for their customer")
    active = Redemption.objects.filter(reversed_at__isnull=True)
    twice = active.values("coupon").annotate(n=Count("id")).filter(n__gt=1).count()
    missing = len(
        set(redeemed) - set(active.filter(coupon__code__in=list(redeemed)).values_list("coupon__code", flat=True))
    )
    if twice or missing:
        problems.append(f"redemptions: {twice} coupons redeemed twice, {missing} acknowledged missing")
    touched = Customer.objects.filter(pk__in=set(orders.values_list("customer_id", flat=True)))
    paid = Q(orders__status=Order.Status.PAID)
    off = (
        touched.annotate(n=Count("orders", filter=paid), total=Sum("orders__amount", filter=paid))
        .filter(~Q(order_count=F("n")) | ~Q(total_amount=F("total")))
        .count()
    )
    if off:
        problems.append(f"{off} customers whose order figures disagree with their orders")
    problems += demo.check()
    batch_issued = Coupon.objects.filter(batch__code=ctx.batch_code).exclude(status="available").count()
    line = (
        f"data afterwards: {len(leads)} leads acknowledged, {missing_leads} missing; {orders.count()} orders "
        f"({len(acknowledged)} acknowledged with items, "
        f"{half} half-written), {len(claims)} claims acknowledged, issued = claimed rows = {batch_issued}, "
        f"{len(redeemed)} redemptions acknowledged, {twice} twice; budgets reconcile: "
        f"{'yes' if not any('account' in p for p in problems) else 'NO'}"
        + (f"; problems: {'; '.join(problems[:5])}" if problems else "")
    )
    return Result("data", not problems, line, {"problems": problems})
