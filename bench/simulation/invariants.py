"""The rules a month of operation must keep, checked against the raw rows.

``check_invariants()`` reads the database as it is now and returns every broken rule as a
``Violation`` (the rule, the record, the values); an empty list means all hold. The simulation
calls it after every simulated day with that day as the window; anyone may call it on a database
(``python -m bench.simulation --check-only`` does, on the configured database).

The checks recount from the tables themselves and re-derive what they need (the pool rule of a
department, a user's data scope, a reminder's fire times) with their own code: none of them calls
the service it checks. Events (recycling, warnings, claims, notices, coupons) are checked when they
happened inside the window; states (budgets, durations, dashboards) as they are now.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import F, Q
from django.utils import timezone

RULES = {
    "deal_protected": "no customer with a deal inside the rule's deal period is recycled",
    "warned_before_recycle": "no record is recycled without a warning K days before",
    "one_warning": "one warning per record and return date",
    "cooldown": "no rep re-claims, within the cool-down, a record they let go of",
    "notice_once": "no reminder notice is sent twice",
    "notice_not_past": "no reminder notice for an offset already past",
    "dashboard_recount": "every dashboard figure equals a recount from raw rows",
    "no_negative_duration": "no negative duration",
    "percent_at_most_100": "no percentage over 100",
    "budget_not_negative": "no budget below zero",
    "coupon_not_zero": "no coupon of ¥0",
}

#: a notice may be written this long after its fire time was passed at creation (the request's own seconds)
SET_GRACE = datetime.timedelta(minutes=1)
ZERO = Decimal("0")


@dataclass
class Violation:
    rule: str
    record: str
    detail: str

    @property
    def title(self):
        return RULES.get(self.rule, self.rule)

    def __str__(self):
        return f"[{self.rule}] {self.title}: {self.record} — {self.detail}"


@dataclass
class Journal:
    """What the simulation knows that the tables do not keep: when each reminder got each due time
    (created, or moved by a snooze or a reschedule), and which subsidy plan versions were saved with
    a t fitted to their budget."""

    due_set: dict = field(default_factory=lambda: defaultdict(list))  # reminder id → [(due_at, set_at)]
    fitted_versions: set = field(default_factory=set)

    def reminder_due(self, reminder_id, due_at, set_at):
        self.due_set[reminder_id].append((due_at, set_at))


def when(moment):
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else "—"


def money(value):
    return f"¥{Decimal(value or 0):,.2f}"


class Org:
    """Departments, users and pool rules, read once per check (this module's own reading of them)."""

    def __init__(self):
        from crm.models import Department, User
        from sales.models import PoolRule

        self.departments = {d["id"]: d for d in Department.objects.values("id", "name", "path", "manager_id")}
        self.users = {
            u["id"]: u
            for u in User.objects.values(
                "id", "username", "first_name", "last_name", "department_id", "data_scope", "is_superuser"
            )
        }
        self.rules = {r.department_id: r for r in PoolRule.objects.filter(is_active=True)}

    def ancestors(self, department_id):
        """The department and those above it, nearest first."""
        department = self.departments.get(department_id)
        if department is None:
            return []
        return [int(part) for part in reversed(department["path"].strip("/").split("/")) if part]

    def rule(self, department_id):
        for ancestor in self.ancestors(department_id):
            if ancestor in self.rules:
                return self.rules[ancestor]
        return None

    def rule_of_user(self, user_id, fallback_department=None):
        user = self.users.get(user_id)
        department = user["department_id"] if user else None
        return self.rule(department) or self.rule(fallback_department)

    def department_name(self, department_id):
        department = self.departments.get(department_id)
        return department["name"] if department else "—"

    def rule_home(self, rule):
        return self.department_name(rule.department_id) if rule else "—"

    def user(self, user_id):
        user = self.users.get(user_id)
        if user is None:
            return "nobody" if user_id is None else f"user {user_id}"
        name = f"{user['last_name']}{user['first_name']}".strip()
        return f"{user['username']} ({name})" if name else user["username"]

    def manager_of(self, user_id):
        """The manager of the user's department or the nearest one above it (not the user)."""
        user = self.users.get(user_id)
        if user is None:
            return None
        for department_id in self.ancestors(user["department_id"]):
            manager = self.departments[department_id]["manager_id"]
            if manager and manager != user_id:
                return manager
        return None


def _in(field_name, since, until):
    q = Q()
    if since is not None:
        q &= Q(**{f"{field_name}__gte": since})
    if until is not None:
        q &= Q(**{f"{field_name}__lt": until})
    return q


def _record(kind, pk, names):
    name = names.get((kind, pk))
    return f"{kind} {pk}" + (f" ({name})" if name else "")


def _names(leads=(), customers=()):
    from customers.models import Customer
    from sales.models import Lead

    names = {("lead", pk): name for pk, name in Lead.objects.filter(pk__in=set(leads)).values_list("pk", "name")}
    names.update(
        {
            ("customer", pk): name
            for pk, name in Customer.objects.filter(pk__in=set(customers)).values_list("pk", "name")
        }
    )
    return names


# --- the pool ------------------------------------------------------------------------------------

RECYCLED = ("no_followup", "no_deal")
LET_GO = ("no_followup", "no_deal", "released", "reassigned")


def _subject(move):
    return ("lead", move.lead_id) if move.lead_id else ("customer", move.customer_id)


def check_deal_protection(org, since, until):
    """A customer recycled at time t had no deal (a paid order, a won opportunity) in the rule's
    deal period (t − M days, t]."""
    from customers.models import Order
    from sales.models import Opportunity, PoolMove

    moves = list(
        PoolMove.objects.filter(_in("at", since, until), customer__isnull=False, reason__in=RECYCLED).order_by(
            "at", "id"
        )
    )
    if not moves:
        return []
    ids = {m.customer_id for m in moves}
    orders = defaultdict(list)
    for row in Order.objects.filter(customer_id__in=ids).values(
        "id", "customer_id", "placed_at", "created_at", "status", "cancelled_at", "amount"
    ):
        orders[row["customer_id"]].append(row)
    wins = defaultdict(list)
    for row in Opportunity.objects.filter(customer_id__in=ids, stage__is_won=True, closed_at__isnull=False).values(
        "id", "customer_id", "closed_at", "amount", "name"
    ):
        wins[row["customer_id"]].append(row)
    names = _names(customers=ids)
    found = []
    for move in moves:
        rule = org.rule_of_user(move.from_owner_id)
        if rule is None:
            continue
        start = move.at - datetime.timedelta(days=rule.days_without_deal)
        deals = []
        for o in orders[move.customer_id]:
            live_then = o["status"] == "paid" or (o["cancelled_at"] is not None and o["cancelled_at"] > move.at)
            if live_then and start < o["placed_at"] <= move.at and o["created_at"] <= move.at:
                deals.append((o["placed_at"], f"order {o['id']} placed {when(o['placed_at'])} {money(o['amount'])}"))
        for w in wins[move.customer_id]:
            if start < w["closed_at"] <= move.at:
                deals.append((w["closed_at"], f"opportunity {w['id']} won {when(w['closed_at'])} {money(w['amount'])}"))
        if deals:
            at, text = max(deals)
            days = (move.at - at).total_seconds() / 86400
            found.append(
                Violation(
                    "deal_protected",
                    _record("customer", move.customer_id, names),
                    f"returned to the pool {when(move.at)} ({move.reason}) from "
                    f"{org.user(move.from_owner_id)}; last deal: {text}, {days:.1f} days before, "
                    f"inside the deal period of {rule.days_without_deal} days (rule of "
                    f"{org.rule_home(rule)}); {len(deals)} deal(s) in the period",
                )
            )
    return found


def _taken_at(org, moves_by_record, changes_by_customer, record, owner_id, before):
    """When ``owner_id`` last became the owner of ``record`` before ``before`` (None: since the start)."""
    times = [m.at for m in moves_by_record.get(record, []) if m.to_owner_id == owner_id and m.at < before]
    if record[0] == "customer":
        times += [
            c["changed_at"]
            for c in changes_by_customer.get(record[1], [])
            if c["to_owner_id"] == owner_id and c["changed_at"] < before
        ]
    return max(times) if times else None


def check_warning_before_recycle(org, since, until):
    """Every recycled record's owner was warned at least K days (by date) before the recycling,
    after they last took the record (K = the rule's warn days; K = 0 needs no warning)."""
    from customers.models import OwnershipChange
    from sales.models import PoolMove, PoolWarning

    moves = list(PoolMove.objects.filter(_in("at", since, until), reason__in=RECYCLED).order_by("at", "id"))
    if not moves:
        return []
    leads = {m.lead_id for m in moves if m.lead_id}
    customers = {m.customer_id for m in moves if m.customer_id}
    history = defaultdict(list)
    for m in PoolMove.objects.filter(Q(lead_id__in=leads) | Q(customer_id__in=customers)).only(
        "lead_id", "customer_id", "to_owner_id", "from_owner_id", "at", "reason"
    ):
        history[_subject(m)].append(m)
    changes = defaultdict(list)
    for c in OwnershipChange.objects.filter(customer_id__in=customers).values(
        "customer_id", "to_owner_id", "changed_at"
    ):
        changes[c["customer_id"]].append(c)
    warnings = defaultdict(list)
    for w in PoolWarning.objects.filter(Q(lead_id__in=leads) | Q(customer_id__in=customers)).values(
        "lead_id", "customer_id", "owner_id", "sent_at", "deadline"
    ):
        record = ("lead", w["lead_id"]) if w["lead_id"] else ("customer", w["customer_id"])
        warnings[(record, w["owner_id"])].append(w)
    names = _names(leads, customers)
    found = []
    for move in moves:
        record = _subject(move)
        rule = org.rule_of_user(move.from_owner_id)
        if rule is None or not rule.warn_days:
            continue
        taken = _taken_at(org, history, changes, record, move.from_owner_id, move.at)
        latest_allowed = timezone.localdate(move.at) - datetime.timedelta(days=rule.warn_days)
        sent = sorted(
            w["sent_at"]
            for w in warnings[(record, move.from_owner_id)]
            if w["sent_at"] <= move.at and (taken is None or w["sent_at"] >= taken)
        )
        if any(timezone.localdate(s) <= latest_allowed for s in sent):
            continue
        seen = (
            f"{len(sent)}, the first on {when(sent[0])}, "
            f"{(timezone.localdate(move.at) - timezone.localdate(sent[0])).days} day(s) before"
            if sent
            else "none"
        )
        found.append(
            Violation(
                "warned_before_recycle",
                _record(*record, names),
                f"returned to the pool {when(move.at)} ({move.reason}) from "
                f"{org.user(move.from_owner_id)} (owner since {when(taken) if taken else 'the start'}); "
                f"the rule of {org.rule_home(rule)} warns {rule.warn_days} days ahead, so a warning by "
                f"{latest_allowed}; warnings to that owner: {seen}",
            )
        )
    return found


def check_one_warning_per_return_date(org, since, until):
    """A second warning to the same owner about the same record needs something in between that
    moves the record's return date: a follow-up, an order, an opportunity change, or an owner change.
    Otherwise it is the same return date warned twice."""
    from customers.models import Order, OwnershipChange
    from sales.models import FollowUp, Opportunity, PoolMove, PoolWarning

    fresh = list(
        PoolWarning.objects.filter(_in("sent_at", since, until)).values(
            "id", "lead_id", "customer_id", "owner_id", "sent_at", "deadline"
        )
    )
    if not fresh:
        return []
    leads = {w["lead_id"] for w in fresh if w["lead_id"]}
    customers = {w["customer_id"] for w in fresh if w["customer_id"]}
    every = defaultdict(list)
    for w in PoolWarning.objects.filter(Q(lead_id__in=leads) | Q(customer_id__in=customers)).values(
        "id", "lead_id", "customer_id", "owner_id", "sent_at", "deadline"
    ):
        record = ("lead", w["lead_id"]) if w["lead_id"] else ("customer", w["customer_id"])
        every[(record, w["owner_id"])].append(w)
    events = defaultdict(list)  # record → [(time, what)]
    for row in FollowUp.objects.filter(Q(lead_id__in=leads) | Q(customer_id__in=customers)).values(
        "lead_id", "customer_id", "at"
    ):
        if row["lead_id"]:
            events[("lead", row["lead_id"])].append((row["at"], "follow-up"))
        if row["customer_id"]:
            events[("customer", row["customer_id"])].append((row["at"], "follow-up"))
    for m in PoolMove.objects.filter(Q(lead_id__in=leads) | Q(customer_id__in=customers)).only(
        "lead_id", "customer_id", "at", "reason"
    ):
        events[_subject(m)].append((m.at, m.reason))
    for row in Order.objects.filter(customer_id__in=customers).values("customer_id", "created_at", "cancelled_at"):
        events[("customer", row["customer_id"])].append((row["created_at"], "order"))
        if row["cancelled_at"]:
            events[("customer", row["customer_id"])].append((row["cancelled_at"], "order cancelled"))
    for row in Opportunity.objects.filter(Q(customer_id__in=customers) | Q(lead_id__in=leads)).values(
        "customer_id", "lead_id", "created_at", "stage_entered_at", "closed_at"
    ):
        for moment in (row["created_at"], row["stage_entered_at"], row["closed_at"]):
            if moment:
                events[("customer", row["customer_id"])].append((moment, "opportunity"))
                if row["lead_id"]:
                    events[("lead", row["lead_id"])].append((moment, "opportunity"))
    for row in OwnershipChange.objects.filter(customer_id__in=customers).values("customer_id", "changed_at"):
        events[("customer", row["customer_id"])].append((row["changed_at"], "owner change"))
    names = _names(leads, customers)
    found = []
    for w in fresh:
        record = ("lead", w["lead_id"]) if w["lead_id"] else ("customer", w["customer_id"])
        earlier = [e for e in every[(record, w["owner_id"])] if (e["sent_at"], e["id"]) < (w["sent_at"], w["id"])]
        if not earlier:
            continue
        previous = max(earlier, key=lambda e: (e["sent_at"], e["id"]))
        between = [what for moment, what in events[record] if previous["sent_at"] < moment <= w["sent_at"]]
        if between:
            continue
        found.append(
            Violation(
                "one_warning",
                _record(*record, names),
                f"{org.user(w['owner_id'])} warned again {when(w['sent_at'])} (deadline "
                f"{w['deadline']}) after a warning {when(previous['sent_at'])} (deadline "
                f"{previous['deadline']}), with no follow-up, deal or owner change in between: "
                f"the return date cannot have moved",
            )
        )
    return found


def check_cooldown(org, since, until):
    """A rep who let a record go (recycled, released, re-assigned away) does not claim it back
    within the rule's cool-down."""
    from customers.models import OwnershipChange
    from sales.models import PoolMove

    claims = list(PoolMove.objects.filter(_in("at", since, until), reason="claimed").order_by("at", "id"))
    if not claims:
        return []
    leads = {m.lead_id for m in claims if m.lead_id}
    customers = {m.customer_id for m in claims if m.customer_id}
    gone = defaultdict(list)  # (record, user) → [(time, why)]
    for m in PoolMove.objects.filter(
        Q(lead_id__in=leads) | Q(customer_id__in=customers), reason__in=LET_GO, from_owner__isnull=False
    ).only("lead_id", "customer_id", "from_owner_id", "at", "reason"):
        gone[(_subject(m), m.from_owner_id)].append((m.at, m.reason))
    for c in (
        OwnershipChange.objects.filter(customer_id__in=customers, from_owner__isnull=False)
        .exclude(to_owner_id=F("from_owner_id"))
        .values("customer_id", "from_owner_id", "changed_at", "reason")
    ):
        gone[(("customer", c["customer_id"]), c["from_owner_id"])].append((c["changed_at"], c["reason"]))
    names = _names(leads, customers)
    found = []
    for claim in claims:
        record = _subject(claim)
        rule = org.rule_of_user(claim.to_owner_id)
        if rule is None or not rule.reclaim_cooldown_days:
            continue
        window_start = claim.at - datetime.timedelta(days=rule.reclaim_cooldown_days)
        recent = sorted(item for item in gone[(record, claim.to_owner_id)] if window_start <= item[0] < claim.at)
        if recent:
            at, why = recent[-1]
            found.append(
                Violation(
                    "cooldown",
                    _record(*record, names),
                    f"{org.user(claim.to_owner_id)} claimed it {when(claim.at)}, "
                    f"{(claim.at - at).total_seconds() / 86400:.1f} days after letting it go "
                    f"({why}, {when(at)}); the rule of {org.rule_home(rule)} allows a re-claim "
                    f"after {rule.reclaim_cooldown_days} days",
                )
            )
    return found


# --- reminders -----------------------------------------------------------------------------------


def _fire_time(due_at, offset):
    """Offsets are minutes before due; 0 is due; negative is after due (escalation)."""
    return due_at - datetime.timedelta(minutes=offset)


def check_reminder_notices(org, since, until, journal=None):
    """Each notice (a ``ReminderNotice`` row is the proof of a sent notice) is sent once: one row
    per (reminder, offset, due time), and one in-app notification per notice to its recipient (the
    owner; the owner's manager for an escalation). No notice is for an offset whose time had passed
    when the reminder got that due time (created, snoozed or moved), and no "before due" notice
    goes out once the reminder is due."""
    from crm.models import Notification
    from sales.models import Reminder, ReminderNotice

    notices = list(
        ReminderNotice.objects.filter(_in("sent_at", since, until)).values(
            "id", "reminder_id", "offset", "due_at", "sent_at"
        )
    )
    found = []
    reminders = {
        r["id"]: r
        for r in Reminder.objects.filter(pk__in={n["reminder_id"] for n in notices}).values(
            "id", "title", "owner_id", "due_at", "created_at", "customer_id", "lead_id"
        )
    }

    def record(reminder_id):
        r = reminders.get(reminder_id, {})
        return f"reminder {reminder_id} ({r.get('title', '?')}, owner {org.user(r.get('owner_id'))})"

    seen = defaultdict(list)
    for n in notices:
        seen[(n["reminder_id"], n["offset"], n["due_at"])].append(n)
    for (reminder_id, offset, due_at), rows in seen.items():
        if len(rows) > 1:
            found.append(
                Violation(
                    "notice_once",
                    record(reminder_id),
                    f"{len(rows)} notices for offset {offset} min of the due time {when(due_at)}: "
                    + ", ".join(when(r["sent_at"]) for r in rows),
                )
            )
    expected = defaultdict(int)
    for n in notices:
        owner = reminders.get(n["reminder_id"], {}).get("owner_id")
        recipient = org.manager_of(owner) if n["offset"] < 0 else owner
        if recipient is not None:
            expected[recipient] += 1
    sent = defaultdict(int)
    for row in Notification.objects.filter(_in("created_at", since, until), kind="reminder").values("recipient_id"):
        sent[row["recipient_id"]] += 1
    for user_id in sorted(set(expected) | set(sent)):
        if expected[user_id] != sent[user_id]:
            found.append(
                Violation(
                    "notice_once",
                    f"the reminder notifications of {org.user(user_id)}",
                    f"{sent[user_id]} in-app reminder notifications for {expected[user_id]} notices "
                    f"in {when(since)} … {when(until)}",
                )
            )
    due_set = journal.due_set if journal is not None else {}
    for n in notices:
        reminder = reminders.get(n["reminder_id"])
        if reminder is None:
            continue
        fire = _fire_time(n["due_at"], n["offset"])
        entries = [
            set_at for due, set_at in due_set.get(n["reminder_id"], []) if due == n["due_at"] and set_at <= n["sent_at"]
        ]
        if entries:
            set_at, how = max(entries), "set"
        elif n["due_at"] == reminder["due_at"]:
            set_at, how = reminder["created_at"], "created"  # a lower bound when a reschedule is not known
        else:
            set_at, how = None, None
        what = (
            f"notice {n['offset']} min before the due time {when(n['due_at'])}"
            if n["offset"] > 0
            else f"due notice for {when(n['due_at'])}"
            if n["offset"] == 0
            else f"escalation {-n['offset']} min after the due time {when(n['due_at'])}"
        )
        if set_at is not None and fire < set_at - SET_GRACE:
            found.append(
                Violation(
                    "notice_not_past",
                    record(n["reminder_id"]),
                    f"{what} sent {when(n['sent_at'])}: its time {when(fire)} had already passed when "
                    f"the reminder got that due time ({how} {when(set_at)})",
                )
            )
        elif n["offset"] > 0 and n["sent_at"] >= n["due_at"]:
            found.append(
                Violation(
                    "notice_not_past",
                    record(n["reminder_id"]),
                    f"{what} sent {when(n['sent_at'])}, when the reminder was already due (its time was {when(fire)})",
                )
            )
    return found


# --- money, coupons, durations ---------------------------------------------------------------------


def check_budgets(org, journal=None):
    """Every budget account: balance = total − reserved − used ≥ 0, reserved ≥ 0, used ≥ 0. A
    subsidy plan version saved with a t fitted to its budget stays within that budget."""
    from coupons.models import BudgetAccount, SubsidyPlanVersion

    found = []
    for a in BudgetAccount.objects.values("id", "total", "reserved", "used", "department_id", "period__name"):
        balance = a["total"] - a["reserved"] - a["used"]
        if balance < 0 or a["reserved"] < 0 or a["used"] < 0:
            found.append(
                Violation(
                    "budget_not_negative",
                    f"budget account {a['id']} ({org.department_name(a['department_id'])} · {a['period__name']})",
                    f"total {money(a['total'])}, reserved {money(a['reserved'])}, used "
                    f"{money(a['used'])}: balance {money(balance)}",
                )
            )
    fitted = journal.fitted_versions if journal is not None else set()
    for v in SubsidyPlanVersion.objects.filter(pk__in=fitted).values(
        "id", "number", "plan__name", "t", "budget", "total"
    ):
        if v["budget"] is not None and v["total"] > v["budget"]:
            found.append(
                Violation(
                    "budget_not_negative",
                    f"subsidy plan {v['plan__name']} v{v['number']}",
                    f"saved with t = {v['t']} fitted to the budget {money(v['budget'])}, but its "
                    f"total is {money(v['total'])}: {money(v['total'] - v['budget'])} over",
                )
            )
    return found


def check_coupons(org, since, until):
    """No coupon worth ¥0: a claimed fixed-amount or threshold coupon has an amount above zero, a
    percentage coupon a percentage above zero; no live redemption takes ¥0 off."""
    from coupons.models import Batch, Coupon, Redemption

    found = []
    claimed = (
        Coupon.objects.filter(_in("claimed_at", since, until))
        .exclude(status="available")
        .values(
            "id",
            "code",
            "amount",
            "channel",
            "claimed_at",
            "customer_id",
            "batch__code",
            "batch__discount_type",
            "batch__amount",
            "batch__percent",
            "batch__decay_factor",
            "batch__decay_floor",
        )
    )
    for c in claimed:
        percent = c["batch__discount_type"] == Batch.DiscountType.PERCENT
        if (percent and c["batch__percent"] <= 0) or (not percent and c["amount"] <= 0):
            found.append(
                Violation(
                    "coupon_not_zero",
                    f"coupon {c['id']} ({c['code']}) of batch {c['batch__code']}",
                    f"claimed {when(c['claimed_at'])} by customer {c['customer_id']} in channel "
                    f"{c['channel'] or '—'}: worth {money(c['amount'])} (face "
                    f"{money(c['batch__amount'])}, decay {c['batch__decay_factor']}, floor "
                    f"{money(c['batch__decay_floor'])})",
                )
            )
    for r in Redemption.objects.filter(_in("at", since, until), reversed_at__isnull=True, discount__lte=0).values(
        "id", "coupon__code", "order_id", "discount", "at"
    ):
        found.append(
            Violation(
                "coupon_not_zero",
                f"redemption {r['id']} of coupon {r['coupon__code']}",
                f"took {money(r['discount'])} off order {r['order_id']} at {when(r['at'])}",
            )
        )
    return found


def check_durations(org, now):
    """No stay in a stage ends before it starts or starts in the future; no opportunity entered its
    stage or closed in the future; no negative purchase interval."""
    from customers.models import Customer
    from sales.models import Opportunity, StageHistory

    found = []
    for s in StageHistory.objects.filter(Q(left_at__lt=F("entered_at")) | Q(entered_at__gt=now)).values(
        "id", "opportunity_id", "stage__name", "entered_at", "left_at"
    )[:50]:
        length = ((s["left_at"] or now) - s["entered_at"]).total_seconds() / 86400
        found.append(
            Violation(
                "no_negative_duration",
                f"opportunity {s['opportunity_id']} in stage {s['stage__name']}",
                f"stay {s['id']} entered {when(s['entered_at'])}, left {when(s['left_at'])}: {length:.1f} days",
            )
        )
    for o in Opportunity.objects.filter(Q(stage_entered_at__gt=now) | Q(closed_at__gt=now)).values(
        "id", "name", "stage__name", "stage_entered_at", "closed_at"
    )[:50]:
        days = (now - o["stage_entered_at"]).total_seconds() / 86400
        found.append(
            Violation(
                "no_negative_duration",
                f"opportunity {o['id']} ({o['name']})",
                f"entered {o['stage__name']} {when(o['stage_entered_at'])}, closed "
                f"{when(o['closed_at'])}: now {when(now)}, {days:.1f} days in the stage",
            )
        )
    for c in Customer.objects.filter(median_interval_days__lt=0).values("id", "name", "median_interval_days")[:50]:
        found.append(
            Violation(
                "no_negative_duration",
                f"customer {c['id']} ({c['name']})",
                f"median purchase interval {c['median_interval_days']} days",
            )
        )
    return found


# --- all of them -----------------------------------------------------------------------------------


def check_invariants(*, since=None, until=None, journal=None, viewers=("manager1", "director", "admin"), now=None):
    """Every broken rule, as ``Violation``s (an empty list: all hold).

    ``since``/``until`` (aware datetimes, optional) bound the events checked (recycling, warnings,
    claims, notices, coupons); states are checked as they are now. ``journal`` (a ``Journal``) adds
    what only the simulation knows (snoozes, fitted plan versions). ``viewers``: the usernames whose
    dashboards are recounted (those that exist). Dashboards read from rollups (the customer
    overview) are compared after their refresh job has run."""
    from . import dashboards

    now = now or timezone.now()
    org = Org()
    found = []
    found += check_deal_protection(org, since, until)
    found += check_warning_before_recycle(org, since, until)
    found += check_one_warning_per_return_date(org, since, until)
    found += check_cooldown(org, since, until)
    found += check_reminder_notices(org, since, until, journal)
    found += check_budgets(org, journal)
    found += check_coupons(org, since, until)
    found += check_durations(org, now)
    found += dashboards.check_dashboards(org, viewers=viewers, now=now)
    return found
