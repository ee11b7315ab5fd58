"""People at work while a fault happens: threads that log in and mix page views with the API
writes of the contract (leads, orders with items, coupon claims and redemptions). Every request
is recorded with its time and outcome, and every write the server acknowledged is kept, so the
checks afterwards can ask the database whether it holds exactly what was acknowledged."""

import itertools
import random
import re
import threading
import time
from dataclasses import dataclass, field

import requests

PAGES = [
    "/",
    "/customers/",
    "/customers/{customer}/",
    "/customers/dashboard/",
    "/sales/dashboard/",
    "/coupons/dashboard/",
    "/sales/leads/",
    "/notifications/",
]
OPERATIONS = ["page", "lead", "page", "order", "claim", "redeem"]


@dataclass
class Outcome:
    at: float
    kind: str
    status: object  # an HTTP status, or the name of the transport error
    ms: float
    clean: bool = True  # a 5xx is the product's own error answer (JSON error, or the 500 page)

    @property
    def ok(self):
        return isinstance(self.status, int) and self.status < 400

    @property
    def refused(self):
        """A 4xx answer: a business rule said no (e.g. a coupon limit) — an answer, not an error."""
        return isinstance(self.status, int) and 400 <= self.status < 500

    @property
    def error(self):
        return not (self.ok or self.refused)


@dataclass
class Traffic:
    base_url: str
    token: str
    customers: list
    batch_code: str
    run_id: str
    clients: int = 4
    username: str = "admin"
    password: str = "crm-demo"
    login_timeout: float = 10  # a password check is ~1 s of CPU (PBKDF2): on a loaded machine, wait longer
    outcomes: list = field(default_factory=list)
    orders: dict = field(default_factory=dict)  # external_id -> customer id, for acknowledged orders
    claims: dict = field(default_factory=dict)  # code -> customer id, for acknowledged claims
    redeemed: dict = field(default_factory=dict)  # code -> order external id, for acknowledged redemptions
    sent_orders: set = field(default_factory=set)  # every order external id sent, answered or not
    leads: set = field(default_factory=set)  # ids of acknowledged leads

    def __post_init__(self):
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._numbers = itertools.count()
        self._to_redeem = []
        self._threads = []

    # --- running -------------------------------------------------------------------------------

    def start(self):
        self._stop.clear()
        self._threads = [threading.Thread(target=self._client, args=(n,), daemon=True) for n in range(self.clients)]
        for thread in self._threads:
            thread.start()

    def stop(self):
        self._stop.set()
        for thread in self._threads:
            thread.join(60)

    def window(self, start, end):
        with self._lock:
            return [o for o in self.outcomes if start <= o.at < end]

    # --- one person ----------------------------------------------------------------------------

    def _login(self, session):
        while not self._stop.is_set():
            try:
                page = session.get(f"{self.base_url}/login/", timeout=self.login_timeout)
                token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
                answer = session.post(
                    f"{self.base_url}/login/",
                    timeout=self.login_timeout,
                    allow_redirects=False,
                    data={"username": self.username, "password": self.password, "csrfmiddlewaretoken": token},
                )
                if answer.status_code == 302:
                    return True
            except (requests.RequestException, AttributeError):
                pass
            time.sleep(0.5)
        return False

    def _client(self, index):
        session = requests.Session()
        if not self._login(session):
            return
        api = {"Authorization": f"Bearer {self.token}"}
        rng = random.Random(index)
        for step in itertools.count():
            if self._stop.is_set():
                return
            kind = OPERATIONS[(step + index) % len(OPERATIONS)]
            if kind == "redeem" and not self._to_redeem:
                kind = "claim"
            self._one(session, api, kind, rng)

    def _one(self, session, api, kind, rng):
        n = next(self._numbers)
        customer = rng.choice(self.customers)
        body = None
        if kind == "page":
            path = rng.choice(PAGES).format(customer=customer)
        elif kind == "lead":
            path = "/api/v1/leads"
            body = {
                "name": f"故障线索{n}",
                "mobile": f"137{self.run_id[-4:]}{n % 10000:04d}",
                "source": "website",
                "external_id": f"FAULT-{self.run_id}-L{n}",
            }
        elif kind == "order":
            path = "/api/v1/orders"
            external_id = f"FAULT-{self.run_id}-O{n}"
            body = {
                "external_id": external_id,
                "customer": {"id": customer},
                "amount": "300.00",
                "cost": "150.00",
                "items": [
                    {"sku": "FAULT-A", "category": "课程", "quantity": 1, "price": "100.00"},
                    {"sku": "FAULT-B", "category": "教材", "quantity": 2, "price": "100.00"},
                ],
            }
            with self._lock:
                self.sent_orders.add(external_id)
        elif kind == "claim":
            path = "/api/v1/coupons/claim"
            body = {"batch": self.batch_code, "customer": {"id": customer}, "channel": "app"}
        else:
            with self._lock:
                code, customer = self._to_redeem.pop(rng.randrange(len(self._to_redeem)))
            path = "/api/v1/coupons/redeem"
            external_id = f"FAULT-{self.run_id}-R{n}"
            body = {
                "code": code,
                "order": {"external_id": external_id, "amount": "300.00", "cost": "150.00"},
                "customer": {"id": customer},
            }
            with self._lock:
                self.sent_orders.add(external_id)
        started = time.monotonic()
        try:
            if body is None:
                answer = session.get(self.base_url + path, timeout=30, allow_redirects=False)
            else:
                answer = session.post(self.base_url + path, json=body, headers=api, timeout=30)
            status = answer.status_code
            clean = status < 500 or (
                '"server_error"' in answer.text if path.startswith("/api/") else "<title>500</title>" in answer.text
            )
        except requests.RequestException as exc:
            status, answer, clean = type(exc).__name__, None, False
        outcome = Outcome(
            at=time.monotonic(), kind=kind, status=status, ms=(time.monotonic() - started) * 1000, clean=clean
        )
        with self._lock:
            self.outcomes.append(outcome)
            if outcome.ok and kind == "order":
                self.orders[body["external_id"]] = customer
            elif outcome.ok and kind == "claim":
                code = answer.json()["code"]
                self.claims[code] = customer
                self._to_redeem.append((code, customer))
            elif outcome.ok and kind == "redeem":
                self.redeemed[body["code"]] = body["order"]["external_id"]
            elif kind == "lead" and outcome.ok:
                self.leads.add(answer.json()["id"])
            elif kind == "redeem" and outcome.error:
                self._to_redeem.append((body["code"], customer))  # unknown outcome: try again later


def summarize(outcomes):
    """{"requests", "ok", "refused", "errors", "unclean", "by_kind": {kind: n}, "statuses": {...}, "p95_ms"}."""
    by_kind, statuses = {}, {}
    for o in outcomes:
        by_kind[o.kind] = by_kind.get(o.kind, 0) + 1
        statuses[str(o.status)] = statuses.get(str(o.status), 0) + 1
    latencies = sorted(o.ms for o in outcomes)
    return {
        "requests": len(outcomes),
        "ok": sum(o.ok for o in outcomes),
        "refused": sum(o.refused for o in outcomes),
        "errors": sum(o.error for o in outcomes),
        "unclean": sum(not o.clean for o in outcomes),
        "by_kind": by_kind,
        "statuses": statuses,
        "p95_ms": round(latencies[int(len(latencies) * 0.95)]) if latencies else None,
    }
