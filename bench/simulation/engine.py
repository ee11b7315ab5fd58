"""The day loop: the clock moved by time-machine, beat jobs and people in time order, the rules
checked after every day, one line printed per day."""

import datetime
import heapq
import random
import time
import traceback
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection
from django.db.models import Q, Sum
from django.utils import timezone

from .beat import Beat, JobError, TableWatch
from .invariants import RULES, Journal, Violation, check_invariants, money
from .people import World

RULES.setdefault("jobs_run", "every beat job runs without an error")
RULES.setdefault("answers_allowed", "every action of a person gets an answer the rules allow")
#: the simulated business opens at 9:00 on the first day (as a fresh ``make run`` in the morning)
OPENING = datetime.time(9, 0)
EXAMPLES = 5


@dataclass
class Outcome:
    days: int = 0
    planned: int = 0
    start: datetime.date | None = None
    seed: int = 1
    failed_day: int | None = None
    violations: list = field(default_factory=list)  # (day number, date, Violation)
    activity: Counter = field(default_factory=Counter)
    refusals: Counter = field(default_factory=Counter)
    notes: list = field(default_factory=list)
    jobs: list = field(default_factory=list)
    seconds: float = 0.0
    spent: Counter = field(default_factory=Counter)  # seconds: seeding, people, jobs, checks

    @property
    def ok(self):
        return not self.violations

    def report(self, examples=EXAMPLES):
        """What broke: per day and rule, the count and the first examples (record and values)."""
        if self.ok:
            return f"{self.days} days, all invariants hold"
        lines = []
        by_day = defaultdict(list)
        for number, day, violation in self.violations:
            by_day[(number, day)].append(violation)
        for (number, day), found in sorted(by_day.items()):
            rules = defaultdict(list)
            for violation in found:
                rules[violation.rule].append(violation)
            lines.append(f"day {number} ({day}): {len(rules)} rule(s) broken, {len(found)} violation(s)")
            for rule, items in rules.items():
                lines.append(f"  {RULES.get(rule, rule)} [{rule}] — {len(items)}:")
                for violation in items[:examples]:
                    lines.append(f"    {violation.record}: {violation.detail}")
                if len(items) > examples:
                    lines.append(f"    … and {len(items) - examples} more")
        return "\n".join(lines)


class Session:
    def __init__(self, name, steps):
        self.name, self.steps = name, steps


class Simulation:
    """``days`` simulated days from ``start`` (a local date; the first day opens at 9:00) with the
    people's choices drawn from ``seed``. ``seed_data``: load the small demo set first (at the
    opening moment). ``keep_going``: check every day even after a rule broke. ``exact``: run every
    beat tick (slow). ``out``: where the lines go."""

    def __init__(
        self,
        *,
        days=45,
        seed=1,
        start=None,
        seed_data=True,
        keep_going=False,
        exact=False,
        out=print,
        viewers=("manager1", "director", "admin"),
    ):
        self.days, self.seed, self.seed_data = days, seed, seed_data
        self.start = start or timezone.localdate()
        self.keep_going, self.exact, self.out, self.viewers = keep_going, exact, out, viewers

    def run(self):
        import time_machine

        from config.celery import app

        began = time.monotonic()
        opening = timezone.make_aware(datetime.datetime.combine(self.start, OPENING))
        outcome = Outcome(planned=self.days, start=self.start, seed=self.seed)
        journal = Journal()
        watch = TableWatch()
        with time_machine.travel(opening, tick=False) as traveller, connection.execute_wrapper(watch):
            if self.seed_data:
                from io import StringIO

                from django.core.management import call_command

                mark = time.monotonic()
                call_command("seed_demo", "--size", "small", "--seed", "1", stdout=StringIO())
                outcome.spent["seeding"] += time.monotonic() - mark
            world = World(rng=random.Random(self.seed), journal=journal)
            beat = Beat(app, started=opening, exact=self.exact, watch=watch)
            for job in beat.unruled():
                self.out(
                    f"note: beat job {job.name} has no wake-up rule (bench/simulation/beat.py): "
                    f"it runs at every tick of {job.interval}"
                )
            queue, serial = [], 0
            for number in range(1, self.days + 1):
                day = self.start + datetime.timedelta(days=number - 1)
                begin = opening if number == 1 else timezone.make_aware(datetime.datetime.combine(day, datetime.time()))
                end = timezone.make_aware(datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time()))
                for moment, job, last in beat.moments(begin, end):
                    serial += 1
                    heapq.heappush(queue, (moment, 0, serial, (job, last)))
                for moment, name, steps in world.plan(number, day):
                    serial += 1
                    heapq.heappush(queue, (moment, 1, serial, Session(name, steps)))
                failures = []
                while queue and queue[0][0] < end:
                    moment, kind, _serial, item = heapq.heappop(queue)
                    traveller.move_to(moment)
                    mark = time.monotonic()
                    if kind == 0:
                        job, last = item
                        try:
                            beat.run(job, moment, last)
                        except JobError as error:
                            failures.append(Violation("jobs_run", f"beat job {job.name}", _trace(error.error)))
                        outcome.spent["beat jobs"] += time.monotonic() - mark
                        continue
                    try:
                        delay = next(item.steps)
                    except StopIteration:
                        continue
                    except Exception as error:  # a person's action failed: the rest of their session is dropped
                        failures.append(Violation("answers_allowed", f"{item.name} at {moment:%H:%M}", _trace(error)))
                        continue
                    finally:
                        outcome.spent["people"] += time.monotonic() - mark
                    serial += 1
                    heapq.heappush(queue, (moment + datetime.timedelta(seconds=delay or 1), 1, serial, item))
                traveller.move_to(end - datetime.timedelta(seconds=1))
                mark = time.monotonic()
                found = failures + check_invariants(since=begin, until=end, journal=journal, viewers=self.viewers)
                outcome.spent["checks"] += time.monotonic() - mark
                outcome.days = number
                self.out(day_line(number, day, begin, end, world) + (f"  ✗ {len(found)} broken" if found else ""))
                for violation in found:
                    outcome.violations.append((number, day, violation))
                if found and outcome.failed_day is None:
                    outcome.failed_day = number
                if found and not self.keep_going:
                    break
            outcome.activity, outcome.refusals, outcome.notes = world.count, world.refusals, world.notes
            outcome.jobs = [(job.name, job.runs, job.skipped, job.seconds) for job in beat.jobs]
        outcome.seconds = time.monotonic() - began
        return outcome


def _trace(error):
    lines = traceback.format_exception(type(error), error, error.__traceback__)
    return f"{type(error).__name__}: {error}\n" + "".join(lines[-6:])


def day_line(number, day, begin, end, world):
    """day N date | in pool | recycled | warned | reminders sent | orders | claims | budget left."""
    from coupons.models import BudgetAccount, Coupon
    from customers.models import Customer, Order
    from sales.models import Lead, PoolMove, PoolWarning, ReminderNotice

    window = {"gte": begin, "lt": end}

    def between(field_name):
        return {f"{field_name}__{op}": value for op, value in window.items()}

    in_pool = (
        Customer.objects.filter(owner__isnull=True).count()
        + Lead.objects.filter(owner__isnull=True, status__in=Lead.OPEN_STATUSES).count()
    )
    recycled = PoolMove.objects.filter(reason__in=["no_followup", "no_deal"], **between("at")).count()
    warned = PoolWarning.objects.filter(**between("sent_at")).count()
    notices = ReminderNotice.objects.filter(**between("sent_at")).count()
    orders = Order.objects.filter(**between("created_at")).count()
    cancelled = Order.objects.filter(**between("cancelled_at")).count()
    pool_claims = PoolMove.objects.filter(reason="claimed", **between("at")).count()
    coupon_claims = Coupon.objects.filter(**between("claimed_at")).count()
    accounts = BudgetAccount.objects.filter(Q(period__start__lte=day) & Q(period__end__gte=day)).aggregate(
        total=Sum("total"), reserved=Sum("reserved"), used=Sum("used")
    )
    left = (accounts["total"] or Decimal(0)) - (accounts["reserved"] or Decimal(0)) - (accounts["used"] or Decimal(0))
    return (
        f"day {number:>2} {day} {day:%a} | in pool {in_pool:>3} | recycled {recycled:>3} | warned {warned:>3} | "
        f"reminders sent {notices:>3} | orders {orders:>2} ({cancelled} cancelled) | "
        f"claims pool {pool_claims} coupons {coupon_claims:>2} | budget left {money(left)}"
    )
