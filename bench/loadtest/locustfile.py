"""The load test's mix: sales reps in the browser and channels on the integration API.

Run by ``python -m bench.loadtest``, which sets up the data (API tokens, claimable batches, a
sample of customers) and passes it in the JSON file named by ``LOADTEST_CONFIG``. Two kinds of
users, three reps for each channel:

* :class:`Rep` logs in with a demo account (password ``crm-demo``) and works the day: the home
  page (workbench), the customer list with filters and search, the 360 view of customers found
  there (with the fragments the page loads by itself), a timeline filter, the lead inbox, the
  opportunity list and kanban, the notification badge, and now and then records a follow-up (the
  form, then a POST with its CSRF token and a next follow-up time, which creates a reminder).
* :class:`Channel` is a mini-program, shop or POS: customers claim coupons (demo batches that are
  open, a small batch that sells out, a batch with per-customer and per-day limits that the same
  customers claim again), redeem them on orders (now and then on a cart under the minimum spend:
  refused, and no order may be left behind), push orders with items (some with a coupon), cancel
  some of the orders that used one, push leads, and look customers up — now and then retrying a
  write with the same ``Idempotency-Key``.

A business refusal the contract names (409 ``sold_out``, ``per_customer_limit``, ``daily_limit``
…) is a success; any 5xx, a connection error or an unexpected status is a failure.

Measurement: every user logs in first (the warm-up), then the statistics are reset and the mix
runs for ``run_time`` seconds; the numbers of that window, the status codes per request, the 5xx
of the whole run and a ledger of what was written (claims issued, redemptions, cancellations,
follow-ups, leads, orders) go to ``summary`` in the config; the runner compares the ledger with
the database afterwards.
"""

import itertools
import json
import os
import random
import re
import threading
import time
from collections import Counter, defaultdict
from decimal import Decimal
from urllib.parse import urlencode

import gevent
from locust import between, events, task
from locust.contrib.fasthttp import FastHttpUser

CONFIG = (
    json.loads(open(os.environ["LOADTEST_CONFIG"], encoding="utf-8").read())
    if os.environ.get("LOADTEST_CONFIG")
    else {}
)
THINK = CONFIG.get("think", [0.5, 1.5])

CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
CUSTOMER_LINK = re.compile(r'href="/customers/(\d+)/"')
LOADED_FRAGMENT = re.compile(r'hx-get="([^"]+)"[^>]*hx-trigger="load"')
SURNAMES = "王李张刘陈杨黄赵吴周"
STAGES = ["potential", "first_order", "developing", "stable", "at_risk", "churned"]
SEGMENTS = ["potential", "low", "high_aov", "frequent", "high"]
TIMELINE_KINDS = ["order", "follow_up", "coupon", "opportunity"]
LEAD_SOURCES = ["website", "wechat_oa", "live", "event", "referral"]
CHANNELS = ["app", "mini_program", "store"]


# --- what the runner reads back -----------------------------------------------------------------


class Ledger:
    """Counts that span the whole run (warm-up included): status codes per request in the measured
    window, every 5xx, and what was written, to be compared with the database."""

    def __init__(self):
        self.window = defaultdict(Counter)  # name -> status -> count (measured window)
        self.refusals = defaultdict(Counter)  # name -> business code -> count (measured window)
        self.server_errors = 0  # whole run
        self.server_error_samples = []
        self.connection_errors = 0  # whole run
        self.unexpected = 0  # whole run: failures that are not 5xx nor connection errors
        self.unexpected_samples = []
        self.written = Counter()  # whole run
        self.refused_orders = []  # external ids of orders refused for their coupon (never stored)
        self.pushed_with_items = []  # external ids of orders stored with items (201)
        self.ready = 0
        self.measuring = False

    def reset_window(self):
        self.window.clear()
        self.refusals.clear()


LEDGER = Ledger()
_ids = itertools.count(1)
_ids_lock = threading.Lock()


def next_id():
    with _ids_lock:
        return next(_ids)


@events.request.add_listener
def _on_request(request_type, name, response_time, response_length, response=None, exception=None, **_kwargs):
    status = getattr(response, "status_code", 0) or 0
    if LEDGER.measuring:
        LEDGER.window[f"{request_type} {name}"][status] += 1
    if status >= 500:
        LEDGER.server_errors += 1
        if len(LEDGER.server_error_samples) < 5:
            body = (getattr(response, "text", "") or "")[:300]
            LEDGER.server_error_samples.append(f"{status} {request_type} {name}: {body}")
    elif status == 0:
        LEDGER.connection_errors += 1
    elif exception is not None:
        LEDGER.unexpected += 1
        if len(LEDGER.unexpected_samples) < 5:
            LEDGER.unexpected_samples.append(f"{status} {request_type} {name}: {exception}"[:300])


def _expect(response, *statuses):
    """Mark the response a success when its status is one of ``statuses``; returns whether it was."""
    if response.status_code in statuses:
        response.success()
        return True
    response.failure(f"status {response.status_code}, expected {'/'.join(map(str, statuses))}")
    return False


def _refused(response, name):
    """A 409 with one of the contract's codes: an expected business refusal (a success)."""
    try:
        code = response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        response.failure("409 without an error code")
        return None
    response.success()
    if LEDGER.measuring:
        LEDGER.refusals[name][code] += 1
    return code


# --- measurement window -------------------------------------------------------------------------


def _stats_summary(stats):
    def entry(item):
        return {
            "requests": item.num_requests,
            "failures": item.num_failures,
            "rps": round(item.total_rps, 2),
            "median_ms": item.median_response_time,
            "p95_ms": item.get_response_time_percentile(0.95),
            "p99_ms": item.get_response_time_percentile(0.99),
            "avg_ms": round(item.avg_response_time, 1),
            "max_ms": round(item.max_response_time or 0, 1),
        }

    return {
        "total": entry(stats.total),
        "endpoints": {f"{method} {name}": entry(item) for (name, method), item in sorted(stats.entries.items())},
        "seconds": round((stats.total.last_request_timestamp or time.time()) - stats.total.start_time, 2),
    }


def _controller(environment):
    """Wait until every user is logged in (at most ``warmup_max`` s) plus ``settle`` s, reset the
    statistics, measure for ``run_time`` s, keep the figures, then stop the users gracefully."""
    runner = environment.runner
    deadline = time.monotonic() + CONFIG.get("warmup_max", 90)
    while time.monotonic() < deadline and (
        LEDGER.ready < (runner.target_user_count or 0) or runner.user_count < (runner.target_user_count or 0)
    ):
        gevent.sleep(0.5)
    warmup_ok = LEDGER.ready >= (runner.target_user_count or 0)
    gevent.sleep(CONFIG.get("settle", 3))
    started = time.time()
    environment.stats.reset_all()
    LEDGER.reset_window()
    LEDGER.measuring = True
    load_before = os.getloadavg()
    gevent.sleep(CONFIG.get("run_time", 45))
    LEDGER.measuring = False
    CONFIG["_measured"] = {
        "stats": _stats_summary(environment.stats),
        "started": started,
        "warmup_ok": warmup_ok,
        "ready_users": LEDGER.ready,
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "statuses": {name: {str(k): v for k, v in counts.items()} for name, counts in LEDGER.window.items()},
        "refusals": {name: dict(counts) for name, counts in LEDGER.refusals.items()},
    }
    runner.quit()


@events.test_start.add_listener
def _on_test_start(environment, **_kwargs):
    if CONFIG:
        gevent.spawn(_controller, environment)


@events.test_stop.add_listener
def _on_test_stop(environment, **_kwargs):
    path = CONFIG.get("summary")
    if not path:
        return
    summary = dict(CONFIG.get("_measured") or {"stats": None})
    summary.update(
        {
            "server_errors": LEDGER.server_errors,
            "server_error_samples": LEDGER.server_error_samples,
            "connection_errors": LEDGER.connection_errors,
            "unexpected": LEDGER.unexpected,
            "unexpected_samples": LEDGER.unexpected_samples,
            "written": dict(LEDGER.written),
            "refused_orders": LEDGER.refused_orders,
            "pushed_with_items": LEDGER.pushed_with_items,
        }
    )
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(summary, handle, ensure_ascii=False, indent=1)


# --- the users ----------------------------------------------------------------------------------


class Rep(FastHttpUser):
    """A rep (or a manager) in the browser; think time between clicks."""

    weight = 3
    wait_time = between(*THINK)

    def on_start(self):
        logins = CONFIG["logins"]
        self.username = logins[next_id() % len(logins)]
        self.customers = []
        with self.client.get("/login/", name="/login/", catch_response=True) as response:
            token = CSRF_FIELD.search(response.text or "")
            if not _expect(response, 200) or not token:
                LEDGER.ready += 1  # counted anyway: the warm-up must not wait for a user that failed
                return
        body = urlencode(
            {
                "username": self.username,
                "password": CONFIG["password"],
                "csrfmiddlewaretoken": token.group(1),
                "next": "/",
            }
        )
        with self.client.post(
            "/login/",
            data=body,
            name="/login/ (POST)",
            allow_redirects=False,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            catch_response=True,
        ) as response:
            _expect(response, 302)
        LEDGER.ready += 1

    def _page(self, url, name):
        with self.client.get(url, name=name, catch_response=True) as response:
            if _expect(response, 200):
                found = CUSTOMER_LINK.findall(response.text or "")
                if found:
                    self.customers = (found + self.customers)[:200]
                return response.text or ""
        return ""

    @task(3)
    def home(self):
        self._page("/", "/ (workbench)")

    @task(4)
    def customer_list(self):
        choice = random.random()
        if choice < 0.4:
            self._page("/customers/", "/customers/")
        elif choice < 0.7:
            self._page(f"/customers/?q={random.choice(SURNAMES)}", "/customers/?q= (search)")
        else:
            query = random.choice(
                [
                    {"lifecycle_stage": random.choice(STAGES)},
                    {"value_segment": random.choice(SEGMENTS)},
                    {"sort": random.choice(["-total_amount", "-last_order_at", "name"])},
                    {"page": random.randint(2, 5)},
                ]
            )
            self._page(f"/customers/?{urlencode(query)}", "/customers/?filter")

    @task(6)
    def customer_360(self):
        if not self.customers:
            return self.customer_list()
        customer = random.choice(self.customers)
        html = self._page(f"/customers/{customer}/", "/customers/[id]/ (360)")
        for fragment in LOADED_FRAGMENT.findall(html)[:3]:  # what htmx loads with the page
            self._page(fragment.replace("&amp;", "&"), "/customers/[id]/ (fragment on load)")

    @task(1)
    def customer_timeline(self):
        if self.customers:
            customer = random.choice(self.customers)
            self._page(
                f"/customers/{customer}/timeline/?kind={random.choice(TIMELINE_KINDS)}&card=1",
                "/customers/[id]/timeline/?kind=",
            )

    @task(2)
    def leads(self):
        query = random.choice(["", "?grade=A", "?status=all", f"?q={random.choice(SURNAMES)}"])
        self._page(f"/sales/leads/{query}", "/sales/leads/")

    @task(2)
    def opportunities(self):
        self._page("/sales/opportunities/", "/sales/opportunities/")

    @task(1)
    def kanban(self):
        self._page("/sales/opportunities/board/", "/sales/opportunities/board/")

    @task(1)
    def notification_badge(self):
        self._page("/notifications/badge/", "/notifications/badge/")

    @task(2)
    def record_followup(self):
        if not self.customers:
            return self.customer_list()
        customer = random.choice(self.customers)
        url = f"/sales/followups/new/?customer={customer}"
        with self.client.get(url, name="/sales/followups/new/", catch_response=True) as response:
            token = CSRF_FIELD.search(response.text or "")
            if not _expect(response, 200) or not token:
                return
        when = time.strftime("%Y-%m-%dT%H:%M", time.localtime(time.time() + random.randint(1, 7) * 86400))
        body = urlencode(
            {
                "csrfmiddlewaretoken": token.group(1),
                "channel": random.choice(["phone", "wechat", "visit"]),
                "direction": "outbound",
                "outcome": "talked",
                "content": "负载测试：电话回访，确认上课时间",
                "next_followup_at": when,
                "reminder_offsets": "",
            }
        )
        with self.client.post(
            url,
            data=body,
            name="/sales/followups/new/ (POST)",
            allow_redirects=False,
            headers={"Content-Type": "application/x-www-form-urlencoded", "Referer": self.host + url},
            catch_response=True,
        ) as response:
            if _expect(response, 302):
                LEDGER.written["followups"] += 1


class Channel(FastHttpUser):
    """A mini-program, shop or POS calling the integration API for its customers."""

    weight = 1
    wait_time = between(*THINK)

    def on_start(self):
        number = next_id()
        tokens = CONFIG["tokens"]
        self.prefix = f"lt{CONFIG['run']}-{number}"
        self.headers = {"Authorization": f"Bearer {tokens[number % len(tokens)]}", "Content-Type": "application/json"}
        self.held = []  # (code, customer id, threshold) claimed and not used yet
        self.coupon_orders = []  # external ids of orders that used a coupon
        self.regulars = random.sample(CONFIG["customers"], min(5, len(CONFIG["customers"])))
        self.counter = itertools.count(1)
        LEDGER.ready += 1

    def _external_id(self):
        return f"{self.prefix}-{next(self.counter)}"

    def _post(self, path, payload, name, *, created=(201,), key=None):
        headers = dict(self.headers)
        if key:
            headers["Idempotency-Key"] = key
        with self.client.post(
            path, data=json.dumps(payload), headers=headers, name=name, catch_response=True
        ) as response:
            if response.status_code == 409:
                return response, _refused(response, name), False
            ok = _expect(response, *created)
            replayed = (response.headers or {}).get("Idempotent-Replayed") == "true"
            return response, ok, replayed

    @task(6)
    def claim(self):
        batches = CONFIG["batches"]
        batch = random.choices(batches, weights=[b.get("weight", 1) for b in batches])[0]
        if batch.get("repeat"):  # the same few customers come back for more
            customer = random.choice(self.regulars)
        else:
            customer = random.choice(CONFIG["customers"])
        payload = {
            "batch": batch["code"],
            "customer": {"id": customer},
            "channel": random.choice(batch.get("channels") or CHANNELS),
        }
        key = f"{self._external_id()}-claim" if random.random() < 0.1 else None
        response, ok, _replayed = self._post("/api/v1/coupons/claim", payload, "/api/v1/coupons/claim", key=key)
        if ok is True and response.status_code == 201:
            LEDGER.written["claims"] += 1
            self.held = self.held[-49:] + [(response.json()["code"], customer, Decimal(batch["threshold"]))]
            if key and random.random() < 0.5:  # the app lost the answer and tries again: same key, same body
                again, ok, replayed = self._post(
                    "/api/v1/coupons/claim", payload, "/api/v1/coupons/claim (retry, same key)", key=key
                )
                if ok is True and not replayed:  # a second coupon for one request: the runner fails the run
                    LEDGER.written["claims"] += 1
                    LEDGER.written["idempotency_broken"] += 1

    def _amount(self, threshold):
        amount = max(threshold, Decimal(60)) + Decimal(random.randint(0, 400))
        return amount, (amount * Decimal("0.5")).quantize(Decimal("0.01"))

    @task(3)
    def redeem(self):
        if not self.held:
            return self.claim()
        code, customer, threshold = self.held.pop(0)
        amount, cost = self._amount(threshold)
        short = threshold > 1 and random.random() < 0.1  # the cart misses the minimum spend: refused
        if short:
            amount, cost = threshold - 1, ((threshold - 1) * Decimal("0.5")).quantize(Decimal("0.01"))
        external_id = self._external_id()
        payload = {
            "code": code,
            "customer": {"id": customer},
            "order": {"external_id": external_id, "amount": str(amount), "cost": str(cost)},
        }
        response, ok, _replayed = self._post(
            "/api/v1/coupons/redeem", payload, "/api/v1/coupons/redeem", created=(200,)
        )
        if ok is True and response.status_code == 200:
            LEDGER.written["redemptions"] += 1
            LEDGER.written["orders"] += 1
            self.coupon_orders.append(external_id)
        elif response.status_code == 409:
            LEDGER.refused_orders.append(external_id)  # the order is rolled back with the refusal
            if ok == "threshold_not_met":
                self.held.append((code, customer, threshold))  # still usable on a bigger order

    def _items(self, amount):
        first = (amount * Decimal("0.6")).quantize(Decimal("0.01"))
        return [
            {"sku": "PIANO-1V1", "category": "music", "quantity": 1, "price": str(first)},
            {"sku": "BOOK-01", "category": "books", "quantity": 1, "price": str(amount - first)},
        ]

    @task(3)
    def order(self):
        with_coupon = bool(self.held) and random.random() < 0.4
        if with_coupon:
            code, customer, threshold = self.held.pop(0)
            amount, cost = self._amount(threshold)
            ref = {"id": customer}
        else:
            amount, cost = self._amount(Decimal(0))
            if random.random() < 0.1:  # a walk-in the CRM does not know yet: the order creates them
                ref = {"mobile": f"19{random.randint(0, 999_999_999):09d}", "name": "新客户"}
            else:
                ref = {"id": random.choice(CONFIG["customers"])}
        external_id = self._external_id()
        payload = {
            "external_id": external_id,
            "customer": ref,
            "amount": str(amount),
            "cost": str(cost),
            "channel": "mini_program",
            "items": self._items(amount),
        }
        if with_coupon:
            payload["coupon_code"] = code
        name = "/api/v1/orders (with coupon)" if with_coupon else "/api/v1/orders"
        response, ok, _replayed = self._post("/api/v1/orders", payload, name)
        if ok is True:
            LEDGER.written["orders"] += 1
            LEDGER.pushed_with_items.append(external_id)
            if with_coupon:
                LEDGER.written["redemptions"] += 1
                self.coupon_orders.append(external_id)
        elif response.status_code == 409:
            LEDGER.refused_orders.append(external_id)

    @task(1)
    def cancel(self):
        if not self.coupon_orders:
            return self.order()
        external_id = self.coupon_orders.pop(random.randrange(len(self.coupon_orders)))
        with self.client.post(
            f"/api/v1/orders/{external_id}/cancel",
            data="{}",
            headers=self.headers,
            name="/api/v1/orders/[external_id]/cancel",
            catch_response=True,
        ) as response:
            if _expect(response, 200):
                LEDGER.written["cancellations"] += 1

    @task(3)
    def lead(self):
        payload = {
            "name": "负载测试线索",
            "mobile": f"18{random.randint(0, 999_999_999):09d}",
            "source": random.choice(LEAD_SOURCES),
            "note": "想了解暑期班",
            "tags": [],
        }
        response, ok, _replayed = self._post("/api/v1/leads", payload, "/api/v1/leads")
        if ok is True:
            LEDGER.written["leads"] += 1

    @task(1)
    def lookup(self):
        customer = random.choice(CONFIG["customers"])
        with self.client.get(
            f"/api/v1/customers/{customer}", headers=self.headers, name="/api/v1/customers/[id]", catch_response=True
        ) as response:
            _expect(response, 200)
