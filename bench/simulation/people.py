"""The scripted people of a simulated day, working through the real services and the real API.

Reps (rep1 … rep4) work in the morning and the afternoon through the service functions their
pages call: they complete or snooze the reminders due, answer the pool's warnings with a
follow-up (most of the time), follow up on part of their records (some with a next follow-up time,
which makes a reminder), claim from their pool, release a lead now and then, try to claim back
something they let go of, and open, move, win or lose opportunities. Outside systems use the HTTP
API (``/api/v1/…``, with a bearer token, through Django's test client): a web form sends leads, a
shop sends orders (some paying with a coupon) and cancels a few, and customers claim the "lucky red
packet" coupons of a batch the marketing admin configures on day 1 and a manager approves. The
marketing admin also sends a push to a running campaign every week and fits a subsidy plan to its
budget. Every choice comes from one seeded random generator, so a seed gives the same run.

A session is a generator: it does one thing, then yields how many seconds pass before the next;
the engine moves the clock and runs the beat jobs that fall due in between.
"""

import datetime
import json
import logging
from collections import Counter, defaultdict
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

REPS = ("rep1", "rep2", "rep3", "rep4")
PRODUCTS = [
    ("MATH-01", "数学", 2980),
    ("ENG-01", "英语", 3680),
    ("CODE-01", "编程", 4280),
    ("ART-01", "美术", 1880),
    ("PIANO-01", "钢琴", 5800),
    ("BOOK-01", "教辅", 128),
    ("TRIAL-01", "试听课", 99),
    ("BOOK-02", "练习册", 36),
]
CONTENTS = [
    "电话沟通了课程安排，家长比较关心师资",
    "微信发送了课程介绍和价格",
    "约了周六来校区试听",
    "家长说再考虑一下，下周回访",
    "没接电话",
    "到店参观，孩子很喜欢老师",
    "发了寒假班优惠信息",
]
LEAD_SOURCES = ["website", "wechat_oa", "live", "referral", "store", "other"]
LUCKY_BATCH = "sim-lucky"
CLUB_SIZE = 40


class SimulationError(Exception):
    """Something a person did was answered in a way no rule allows (a 5xx, an unknown refusal)."""


def local(day, hour, minute=0):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


class World:
    """What the people share: users, the API client, the random source, the journal, the counters."""

    def __init__(self, *, rng, journal):
        from crm.models import ApiScope, User
        from crm.services import create_api_client, issue_token

        self.rng = rng
        self.journal = journal
        self.users = {u.username: u for u in User.objects.select_related("department")}
        self.reps = [self.users[name] for name in REPS if name in self.users]
        shop = create_api_client(
            name="simulated-shop",
            description="The simulation's shop and web form.",
            department=self.users["manager1"].department,
            can_see_mobile=True,
        )
        _token, raw = issue_token(client=shop, scopes=list(ApiScope.values), name="simulation")
        self.http = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
        self.count = Counter()
        self.refusals = Counter()
        self.wallet = defaultdict(list)  # customer id → [coupon code] claimed and not yet used
        self.orders = []  # (external id, customer id, placed at)
        self.club = []  # customers who claim the lucky red packets
        self.serial = 0
        self.notes = []

    # --- helpers -----------------------------------------------------------------------------------

    def user(self, name):
        from crm.models import User

        return User.objects.select_related("department").get(pk=self.users[name].pk)

    def next_serial(self):
        self.serial += 1
        return self.serial

    def name(self):
        from crm.demo import GIVEN, SURNAMES

        given = self.rng.choice(GIVEN) + (self.rng.choice(GIVEN) if self.rng.random() < 0.7 else "")
        return self.rng.choice(SURNAMES) + given

    def mobile(self, prefix):
        return f"{prefix}{(self.next_serial() * 7919 + 4242) % 100_000_000:08d}"

    def api(self, path, body, *, allowed):
        """POST to the API; returns (status, json). Anything but ``allowed`` statuses (and 409s with a
        code in ``allowed``) stops the simulation."""
        logging.disable(logging.WARNING)  # a 409 refusal is an answer the rules allow, not news
        try:
            response = self.http.post(
                f"/api/v1/{path}", data=json.dumps(body, default=str), content_type="application/json"
            )
        finally:
            logging.disable(logging.NOTSET)
        data = response.json() if response.content else {}
        code = (data.get("error") or {}).get("code") if isinstance(data, dict) else None
        if response.status_code in allowed or (response.status_code == 409 and code in allowed):
            return response.status_code, data
        raise SimulationError(
            f"POST /api/v1/{path} {json.dumps(body, ensure_ascii=False, default=str)} answered "
            f"{response.status_code}: {response.content[:500].decode(errors='replace')}"
        )

    # --- the plan of a day -------------------------------------------------------------------------

    def plan(self, number, day):
        """[(time, name, session)] of simulated day ``number`` (1-based) on local date ``day``."""
        items = []
        for hour, minute in ((8, 30), (11, 0), (15, 0), (19, 30)):
            items.append((local(day, hour, minute), "web form", self.leads_arrive()))
        for index, rep in enumerate(self.reps):
            items.append((local(day, 9, 2 + 12 * index), f"{rep.username} morning", self.rep_morning(rep.username)))
            items.append(
                (local(day, 14, 5 + 10 * index), f"{rep.username} afternoon", self.rep_afternoon(rep.username))
            )
        if number == 1:
            items.append((local(day, 10, 0), "marketing: lucky red packets", self.configure_lucky_batch()))
            items.append((local(day, 10, 40), "manager: approvals", self.approve_batches()))
            items.append((local(day, 11, 10), "marketing: start the batch", self.start_lucky_batch()))
        if number % 7 == 2:
            items.append((local(day, 10, 20), "marketing: push", self.marketing_push()))
            items.append((local(day, 16, 0), "marketing: subsidy plan", self.fit_subsidy_plan()))
        for hour in (12, 19):
            items.append((local(day, hour, 0), "customers: red packets", self.claim_coupons()))
            items.append((local(day, hour, 20), "customers: orders", self.place_orders()))
        items.append((local(day, 20, 30), "customers: cancellations", self.cancel_orders()))
        return items

    # --- reps ----------------------------------------------------------------------------------------

    def _owned(self, rep):
        from customers.models import Customer
        from sales.models import Lead

        customers = list(Customer.objects.filter(owner=rep).order_by("pk"))
        leads = list(Lead.objects.filter(owner=rep, status__in=Lead.OPEN_STATUSES).order_by("pk"))
        return customers, leads

    def _follow_up(self, rep, record, *, next_time=True):
        from customers.models import Customer
        from sales import services
        from sales.models import FollowUp

        now = timezone.now()
        next_at, offsets = None, ""
        if next_time and self.rng.random() < 0.45:
            day = timezone.localdate(now) + datetime.timedelta(days=self.rng.choice([0, 1, 1, 2, 3, 5]))
            next_at = local(day, self.rng.randint(10, 17), self.rng.choice([0, 15, 30, 45]))
            if next_at <= now + datetime.timedelta(minutes=30):
                next_at = local(day + datetime.timedelta(days=1), 10, 0)
            offsets = self.rng.choice(["", "", "", "120,15", "30"])
        kwargs = {"customer": record} if isinstance(record, Customer) else {"lead": record}
        followup = services.record_followup(
            actor=rep,
            content=self.rng.choice(CONTENTS),
            channel=self.rng.choice(list(FollowUp.Channel.values)),
            outcome=self.rng.choice(["no_answer", "talked", "talked", "interested", "appointment"]),
            direction="inbound" if self.rng.random() < 0.15 else "outbound",
            next_followup_at=next_at,
            reminder_offsets=offsets,
            **kwargs,
        )
        self.count["follow-ups"] += 1
        for reminder in followup.reminders.all():
            self.journal.reminder_due(reminder.pk, reminder.due_at, reminder.created_at)
            self.count["reminders created"] += 1

    def rep_morning(self, name):
        from sales import services
        from sales.models import PoolWarning, Reminder

        rep = self.user(name)
        now = timezone.now()
        end_of_day = local(timezone.localdate(now) + datetime.timedelta(days=1), 0)
        # the reminders due today (and those left overdue): done, snoozed, or left
        due = list(
            Reminder.objects.filter(owner=rep, status=Reminder.Status.OPEN, due_at__lt=end_of_day).order_by(
                "due_at", "pk"
            )[:8]
        )
        for reminder in due:
            roll = self.rng.random()
            if roll < 0.55:
                services.complete_reminder(reminder=reminder, actor=rep)
                self.count["reminders completed"] += 1
            elif roll < 0.85:
                self._snooze(reminder, "1h" if self.rng.random() < 0.5 else "tomorrow")
            yield 25
        # the pool's warnings: most are answered with a follow-up, the rest return to the pool
        since = timezone.now() - datetime.timedelta(days=4)
        warned = list(PoolWarning.objects.filter(owner=rep, sent_at__gte=since).order_by("pk"))
        answered = set()
        for warning in warned:
            record = warning.customer if warning.customer_id else warning.lead
            key = ("c", warning.customer_id) if warning.customer_id else ("l", warning.lead_id)
            if key in answered or record.owner_id != rep.pk or getattr(record, "is_open", True) is False:
                continue
            answered.add(key)
            if self.rng.random() < 0.6:
                self._follow_up(rep, record)
                self.count["warnings answered"] += 1
                yield 30
        # routine follow-ups on part of the book
        customers, leads = self._owned(rep)
        book = customers + leads
        for record in self.rng.sample(book, min(len(book), max(1, len(book) // 25))):
            self._follow_up(rep, record)
            yield 30
        yield from self._pool_work(rep)

    def _snooze(self, reminder, until):
        """As the snooze buttons do: one hour from now, or tomorrow 9:00."""
        from sales import services

        if until == "tomorrow":
            due_at = local(timezone.localdate() + datetime.timedelta(days=1), 9, 0)
        else:
            due_at = timezone.now() + datetime.timedelta(hours=1)
        services.reschedule_reminder(reminder=reminder, due_at=due_at)
        self.journal.reminder_due(reminder.pk, due_at, timezone.now())
        self.count["reminders snoozed"] += 1

    def _pool_work(self, rep):
        from customers.models import Customer
        from sales import services
        from sales.models import Lead, PoolMove
        from sales.services.pool import pool_q

        rep = self.user(rep.username)
        pool_customers = list(Customer.objects.filter(pool_q(rep)).order_by("pk").values_list("pk", flat=True))
        pool_leads = list(
            Lead.objects.filter(pool_q(rep), status__in=Lead.OPEN_STATUSES).order_by("pk").values_list("pk", flat=True)
        )
        picks = [("customer", pk) for pk in self.rng.sample(pool_customers, min(len(pool_customers), 1))]
        picks += [("lead", pk) for pk in self.rng.sample(pool_leads, min(len(pool_leads), self.rng.choice([0, 1, 1])))]
        # now and then, a record this rep let go of in the last week (released, or taken by the pool)
        lost = list(
            PoolMove.objects.filter(
                from_owner=rep,
                at__gte=timezone.now() - datetime.timedelta(days=7),
                reason__in=["released", "no_followup", "no_deal"],
            )
            .order_by("pk")
            .values_list("lead_id", "customer_id")
        )
        if lost and self.rng.random() < 0.5:
            lead_id, customer_id = self.rng.choice(lost)
            picks.append(("lead", lead_id) if lead_id else ("customer", customer_id))
            self.count["claims back tried"] += 1
        for kind, pk in picks:
            try:
                if kind == "lead":
                    services.claim_lead(user=rep, lead_id=pk)
                else:
                    services.claim_customer(user=rep, customer_id=pk)
            except services.PoolError as refusal:
                self.refusals[f"pool claim: {refusal.code}"] += 1
            else:
                self.count["pool claims"] += 1
            yield 20
        # a lead not worth keeping goes back to the pool
        if self.rng.random() < 0.3:
            leads = list(Lead.objects.filter(owner=rep, status__in=Lead.OPEN_STATUSES).order_by("pk"))
            if leads:
                services.release_lead(user=rep, lead=self.rng.choice(leads))
                self.count["leads released"] += 1
                yield 20

    def rep_afternoon(self, name):
        from sales import services
        from sales.models import Opportunity, OpportunityStage

        rep = self.user(name)
        customers, leads = self._owned(rep)
        book = customers + leads
        for record in self.rng.sample(book, min(len(book), max(1, len(book) // 40))):
            self._follow_up(rep, record)
            yield 30
        stages = list(OpportunityStage.objects.order_by("position", "pk"))
        open_stages = [s for s in stages if not s.is_closed]
        if customers and self.rng.random() < 0.3:
            customer = self.rng.choice(customers)
            services.open_opportunity(
                actor=rep,
                customer=customer,
                name=f"{self.rng.choice(['寒假班', '春季班', '一对一'])} · {customer.name}",
                amount=Decimal(self.rng.choice([1980, 3600, 5800, 9800])),
                expected_close=timezone.localdate() + datetime.timedelta(days=self.rng.randint(5, 60)),
            )
            self.count["opportunities opened"] += 1
            yield 30
        mine = list(
            Opportunity.objects.filter(owner=rep, closed_at__isnull=True).select_related("stage").order_by("pk")
        )
        if mine and self.rng.random() < 0.5:
            opportunity = self.rng.choice(mine)
            roll = self.rng.random()
            if roll < 0.2:
                target, reason = next(s for s in stages if s.is_won), ""
            elif roll < 0.3:
                target, reason = next(s for s in stages if s.is_lost), self.rng.choice(["价格太高", "时间不合适"])
            else:
                later = [s for s in open_stages if s.position > opportunity.stage.position]
                target, reason = (later[0] if later else None), ""
            if target is not None:
                try:
                    services.move_stage(actor=rep, opportunity=opportunity, stage=target, lost_reason=reason)
                except ValidationError as refusal:
                    self.refusals[f"stage move: {getattr(refusal, 'code', None) or 'refused'}"] += 1
                else:
                    self.count["stage moves"] += 1
                yield 30

    # --- outside systems: the web form, the shop, customers ---------------------------------------

    def leads_arrive(self):
        for _ in range(self.rng.choice([0, 1, 1, 2])):
            self.api(
                "leads",
                {
                    "name": self.name(),
                    "mobile": self.mobile("167"),
                    "source": self.rng.choice(LEAD_SOURCES),
                    "note": "官网表单",
                },
                allowed={201},
            )
            self.count["leads captured"] += 1
            yield 40

    def _lucky_batch(self):
        from coupons.models import Batch

        return Batch.objects.filter(code=LUCKY_BATCH).first()

    def claim_coupons(self):
        from customers.models import Customer

        batch = self._lucky_batch()
        if batch is None or batch.status != batch.Status.ACTIVE:
            return
        if not self.club:
            ids = list(Customer.objects.order_by("pk").values_list("pk", flat=True))
            self.club = self.rng.sample(ids, min(CLUB_SIZE, len(ids)))
        for customer_id in self.rng.sample(self.club, min(len(self.club), 14)):
            status, data = self.api(
                "coupons/claim",
                {
                    "batch": LUCKY_BATCH,
                    "customer": {"id": customer_id},
                    "channel": "app" if self.rng.random() < 0.85 else "mini_program",
                },
                allowed={201, "per_customer_limit", "daily_limit", "sold_out", "budget_exhausted", "not_eligible"},
            )
            if status == 201:
                self.wallet[customer_id].append(data["code"])
                self.count["coupon claims"] += 1
            else:
                self.refusals[f"coupon claim: {data['error']['code']}"] += 1
            yield 15

    def place_orders(self):
        from customers.models import Customer

        buyers = list(Customer.objects.filter(order_count__gt=0).order_by("pk").values_list("pk", flat=True))
        others = list(Customer.objects.filter(order_count=0).order_by("pk").values_list("pk", flat=True))
        for _ in range(self.rng.randint(4, 8)):
            roll = self.rng.random()
            holders = [pk for pk, codes in sorted(self.wallet.items()) if codes]
            if holders and roll < 0.35:
                customer = {"id": self.rng.choice(holders)}
            elif roll < 0.8 and buyers:
                customer = {"id": self.rng.choice(buyers)}
            elif roll < 0.92 and others:
                customer = {"id": self.rng.choice(others)}
            else:
                customer = {"mobile": self.mobile("166"), "name": self.name()}
            sku, category, price = self.rng.choice(PRODUCTS)
            quantity = 1 if price > 500 else self.rng.randint(1, 3)
            amount = Decimal(price * quantity)
            body = {
                "external_id": f"SIM-{self.next_serial():06d}",
                "customer": customer,
                "amount": f"{amount:.2f}",
                "cost": f"{(amount * Decimal('0.55')).quantize(Decimal('0.01')):.2f}",
                "channel": self.rng.choice(["online", "mini_program", "store"]),
                "items": [{"sku": sku, "category": category, "quantity": quantity, "price": f"{price:.2f}"}],
            }
            codes = self.wallet.get(customer.get("id"), [])
            if codes:
                body["coupon_code"] = codes[-1]
            status, data = self.api(
                "orders",
                body,
                allowed={
                    201,
                    "not_found",
                    "not_owner",
                    "already_redeemed",
                    "not_yet_valid",
                    "expired",
                    "threshold_not_met",
                    "order_has_coupon",
                    "negative_margin",
                    "budget_exhausted",
                },
            )
            if codes:
                codes.pop()
            if status == 409:  # the shop takes the order without the coupon
                self.refusals[f"coupon at checkout: {data['error']['code']}"] += 1
                del body["coupon_code"]
                body["external_id"] = f"SIM-{self.next_serial():06d}"
                status, data = self.api("orders", body, allowed={201})
            elif "coupon_code" in body:
                self.count["coupons redeemed"] += 1
            self.orders.append((body["external_id"], data["customer"], timezone.now()))
            self.count["orders"] += 1
            yield 45

    def cancel_orders(self):
        recent = [o for o in self.orders if o[2] >= timezone.now() - datetime.timedelta(days=3)]
        for external_id, _customer, _placed in recent:
            if self.rng.random() < 0.05:
                self.api(f"orders/{external_id}/cancel", {}, allowed={200})
                self.orders.remove((external_id, _customer, _placed))
                self.count["orders cancelled"] += 1
                yield 60

    # --- marketing and managers --------------------------------------------------------------------

    def configure_lucky_batch(self):
        """ "天天领红包": ¥2 off from ¥10, each further claim in the same channel worth a tenth of the
        one before. The admin first leaves the decay floor at ¥0; if the configuration check refuses
        that, they set ¥0.50."""
        from coupons import services as coupons
        from coupons.models import Batch, BudgetAccount
        from coupons.models import Campaign as CouponCampaign

        marketing = self.user("marketing")
        today = timezone.localdate()
        account = (
            BudgetAccount.objects.filter(
                department=self.users["manager1"].department, period__start__lte=today, period__end__gte=today
            )
            .order_by("pk")
            .first()
        )
        if account is None:
            raise SimulationError("no budget account of 销售一部 for today: the demo data has none")
        campaign = CouponCampaign.objects.create(
            name="天天领红包",
            owner=marketing,
            department=account.department,
            budget_account=account,
            goal="老客复购",
            start=today,
            end=today + datetime.timedelta(days=59),
        )
        now = timezone.now()
        batch = Batch(
            campaign=campaign,
            code=LUCKY_BATCH,
            name="天天领红包",
            discount_type=Batch.DiscountType.FIXED,
            amount=Decimal("2.00"),
            threshold=Decimal("10.00"),
            quantity=3000,
            per_customer_limit=8,
            per_day_limit=2,
            claim_start=now,
            claim_end=now + datetime.timedelta(days=59),
            use_days=7,
            channels="app,mini_program",
            decay_factor=Decimal("0.10"),
            decay_floor=Decimal("0"),
            production=Batch.Production.ON_APPROVAL,
        )
        try:
            batch = coupons.save_batch(actor=marketing, batch=batch)
        except ValidationError as refusal:
            self.notes.append(f"the decay floor ¥0 was refused ({'; '.join(refusal.messages)}); set to ¥0.50")
            batch.decay_floor = Decimal("0.50")
            batch = coupons.save_batch(actor=marketing, batch=batch)
        yield 60
        coupons.submit(actor=marketing, batch=batch)
        self.count["batches configured"] += 1

    def approve_batches(self):
        """A manager approves what waits for them (here: the lucky batch)."""
        batch = self._lucky_batch()
        if batch is not None and batch.status == batch.Status.SUBMITTED:
            approver = approve_batch(self, batch)
            self.notes.append(f"batch {batch.code} approved by {approver}")
            self.count["batches approved"] += 1
        yield 10

    def start_lucky_batch(self):
        from coupons import services as coupons

        batch = self._lucky_batch()
        if batch is not None and batch.status == batch.Status.APPROVED:
            coupons.change_status(actor=self.user("marketing"), batch=batch, action="activate")
        yield 10

    def marketing_push(self):
        """A content push on a running (or approved) campaign with a segment."""
        from marketing.models import Campaign, Touch

        marketing = self.user("marketing")
        campaign = (
            Campaign.objects.filter(
                status__in=[Campaign.Status.RUNNING, Campaign.Status.APPROVED],
                segment__isnull=False,
                end__gte=timezone.localdate(),
            )
            .order_by("pk")
            .first()
        )
        if campaign is None:
            self.notes.append(f"{timezone.localdate()}: no running campaign to push to")
            return
        touch = Touch.objects.create(
            campaign=campaign,
            kind=Touch.Kind.CONTENT,
            channel="sms",
            body="{name}您好，寒假班开始报名，点击查看课程：",
            created_by=marketing,
        )
        send_touch(marketing, touch)
        self.count["pushes sent"] += 1
        yield 60

    def fit_subsidy_plan(self):
        """The admin asks what t fits the plan's budget (and a tighter one), and saves that version."""
        from coupons.models import SubsidyPlan
        from coupons.services import subsidy_plans

        marketing = self.user("marketing")
        plan = SubsidyPlan.objects.order_by("pk").first()
        if plan is None:
            return
        latest = plan.versions.order_by("-number").first()
        budget = (latest.total * Decimal(self.rng.choice(["0.95", "0.9", "0.85", "0.8"]))).quantize(Decimal("1"))
        base = subsidy_plans.save_version(
            actor=marketing,
            plan=plan,
            columns=latest.columns,
            rows=latest.input_rows,
            a=latest.a,
            b=latest.b,
            t=latest.t,
            weights=latest.weights,
            rank=latest.rank,
            budget=budget,
            note="预算收紧",
        )
        yield 60
        suggestion = subsidy_plans.fit(base)
        if suggestion and suggestion.get("t"):
            fitted = subsidy_plans.save_version(
                actor=marketing,
                plan=plan,
                columns=base.columns,
                rows=base.input_rows,
                a=base.a,
                b=base.b,
                t=suggestion["t"],
                weights=base.weights,
                rank=base.rank,
                budget=budget,
                note="按预算拟合 t",
            )
            self.journal.fitted_versions.add(fitted.pk)
            self.count["plans fitted"] += 1
        yield 30


def approve_batch(world, batch):
    """The first of manager1, director, admin allowed to approve ``batch`` approves it."""
    from coupons import services as coupons
    from coupons.services.batches import can_approve

    for name in ("manager1", "director", "admin"):
        user = world.user(name)
        if can_approve(user, batch):
            coupons.approve(actor=user, batch=batch)
            return name
    raise SimulationError(f"nobody among manager1, director, admin may approve batch {batch.code}")


def send_touch(actor, touch):
    """Send a touch as its page's Send button does."""
    from marketing.services import sending

    return sending.start_send(actor=actor, touch=touch)
