"""Celery beat, simulated: every entry of the beat schedule run through its real task at the times
its crontab or interval gives, with the clock moved by time-machine.

The schedule is read from the Celery configuration (``app.conf.beat_schedule``), so a beat job
added there is run by the simulation without any change here.

**Crontab jobs** run at every minute their crontab matches, in Celery's time zone.

**Interval jobs** tick every ``interval`` seconds from the moment beat starts. Running each of
them literally — 1,440 ticks a day for each one-minute job, 144 rebuilds of the customer
dashboard — costs far more than the ten minutes a 45-day run may take, and most of those ticks
find exactly what the tick before found. Each interval job has a rule here:

- **Jobs that send what falls due** (reminder notices, scheduled touches, the outbox, nurture
  steps) do nothing at a tick at which nothing is due, whatever else changed. A wake-up rule
  reads the column each one selects on (a reminder's ``next_notice_at``, a touch's
  ``scheduled_at``, a delivery's ``next_attempt_at``, an enrolment's ``next_due_at``…); it is read
  again after every run and whenever a table it reads is written (the simulation watches every
  SQL statement on the connection), and the job runs at the first tick at or after that time — the
  tick at which beat's run would first find it due — and once at the start of each day.
- **Jobs that rebuild figures** (the customer dashboard's rollups, the coupon figures' cache,
  campaign statistics, coupon alerts) run when a table they read has changed, at most once every
  ``coalesce`` (and at least once every ``floor`` for alerts, whose efficiency window also grows
  with the clock), and at their last tick of each day whenever something changed since their
  previous run or that run was on an earlier day — so every figure is exactly as fresh as under
  beat when the day's dashboards are checked, and at most ``coalesce`` older in between.

An interval job without a rule in ``INTERVAL_RULES`` runs at every tick (exact, and slower): a new
one-minute job is simulated faithfully until someone gives it a rule here. ``exact=True``
(``--exact``) runs every tick of every job, to check that the rules change nothing.
"""

import datetime
import re
from dataclasses import dataclass, field

from celery.schedules import crontab, schedule
from django.utils import timezone

WRITE_RE = re.compile(
    r'(?<!FOR\s)\b(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM)\s+"?([A-Za-z0-9_]+)"?', re.IGNORECASE
)
TABLE_RE = re.compile(r'\b(?:FROM|JOIN|INTO|UPDATE)\s+"?([A-Za-z0-9_]+)"?', re.IGNORECASE)


class TableWatch:
    """Which tables each SQL statement on the connection reads and writes.

    ``writes[table]`` is the serial number of the last statement that wrote to the table;
    ``start_reading()`` / ``stop_reading()`` collect the tables a job touches while it runs."""

    def __init__(self):
        self.serial = 0
        self.writes = {}
        self.reading = None
        self.tables = None

    def known_tables(self):
        if self.tables is None:
            from django.apps import apps

            self.tables = {model._meta.db_table for model in apps.get_models(include_auto_created=True)}
        return self.tables

    def __call__(self, execute, sql, params, many, context):
        self.note(sql)
        return execute(sql, params, many, context)

    def note(self, sql):
        if not isinstance(sql, str):
            return
        known = self.known_tables()
        head = sql.lstrip()[:7].upper()
        if head not in ("SELECT ", "SAVEPOI", "RELEASE", "ROLLBAC", "PRAGMA "):
            written = [t for t in WRITE_RE.findall(sql) if t in known]
            if written:
                self.serial += 1
                for table in written:
                    self.writes[table] = self.serial
        if self.reading is not None:
            self.reading.update(t for t in TABLE_RE.findall(sql) if t in known)

    def start_reading(self):
        self.reading = set()

    def stop_reading(self):
        tables, self.reading = self.reading, None
        return tables

    def changed_since(self, serial, tables):
        return any(self.writes.get(table, 0) > serial for table in tables)


def _min_time(*values):
    found = [v for v in values if v is not None]
    return min(found) if found else None


def _reminders_due():
    from django.db.models import Min

    from sales.models import Reminder

    return Reminder.objects.filter(status=Reminder.Status.OPEN).aggregate(t=Min("next_notice_at"))["t"]


def _touches_due():
    from django.db.models import Min

    from marketing.models import Touch

    if Touch.objects.filter(status=Touch.Status.SENDING).exists():
        return timezone.now()
    return Touch.objects.filter(status=Touch.Status.SCHEDULED).aggregate(t=Min("scheduled_at"))["t"]


def _outbox_due():
    from django.db.models import F, Min

    from coupons.models import Batch
    from crm.models import Delivery
    from crm.tasks import REQUEUE_AFTER
    from customers.models import ImportJob
    from sales.models import LeadImportJob

    delivery = Delivery.objects.filter(status=Delivery.Status.PENDING).aggregate(t=Min("next_attempt_at"))["t"]
    batch = Batch.objects.filter(
        production=Batch.Production.ON_APPROVAL,
        produced__lt=F("quantity"),
        status__in=[Batch.Status.APPROVED, Batch.Status.ACTIVE, Batch.Status.PAUSED],
    ).aggregate(t=Min("approved_at"))["t"]
    imports = [
        model.objects.filter(status__in=[ImportJob.Status.QUEUED, ImportJob.Status.RUNNING]).aggregate(
            t=Min("created_at")
        )["t"]
        for model in (ImportJob, LeadImportJob)
    ]
    later = [t + REQUEUE_AFTER for t in [batch, *imports] if t is not None]
    return _min_time(delivery, *later)


def _nurture_due():
    from django.db.models import Min

    from marketing.models import Enrollment, NurturePlan
    from marketing.services.nurture import ENROL_EVERY

    plans = NurturePlan.objects.filter(active=True)
    if plans.filter(enrolled_at__isnull=True).exists():
        return timezone.now()
    enrol = plans.aggregate(t=Min("enrolled_at"))["t"]
    step = Enrollment.objects.filter(status=Enrollment.Status.ACTIVE).aggregate(t=Min("next_due_at"))["t"]
    return _min_time(step, enrol + ENROL_EVERY if enrol else None)


@dataclass(frozen=True)
class Rule:
    """How an interval job may skip a tick: ``wake`` gives its next due time (None: nothing due);
    ``coalesce``: changed data waits for a run at most this long (and never past the day's last
    tick); ``floor``: the job runs at least this often."""

    wake: object = None
    coalesce: datetime.timedelta | None = None
    floor: datetime.timedelta | None = None


REFRESH = datetime.timedelta(hours=4)


#: task name → Rule. A job not listed here runs at every tick of its interval.
INTERVAL_RULES = {
    "sales.tasks.dispatch_reminders": Rule(wake=_reminders_due),
    "marketing.tasks.send_due_touches": Rule(wake=_touches_due),
    "crm.tasks.sweep_outbox": Rule(wake=_outbox_due),
    "marketing.tasks.run_nurture_plans": Rule(wake=_nurture_due),
    # stock and budget alerts follow the data; the efficiency window also grows with the clock
    "coupons.tasks.check_coupon_alerts": Rule(coalesce=REFRESH, floor=datetime.timedelta(hours=6)),
    "coupons.tasks.warm_dashboard_figures": Rule(coalesce=REFRESH),
    "customers.tasks.refresh_customer_dashboard": Rule(coalesce=REFRESH),
    "marketing.tasks.refresh_campaign_stats": Rule(coalesce=REFRESH),
}


class JobError(Exception):
    """A beat job raised: the simulation stops (a job that crashes is a broken rule too)."""

    def __init__(self, job, when, error):
        super().__init__(
            f"{job.name} ({job.task_name}) raised at {timezone.localtime(when):%Y-%m-%d %H:%M}: "
            f"{type(error).__name__}: {error}"
        )
        self.job, self.when, self.error = job, when, error


@dataclass
class Job:
    name: str
    task_name: str
    schedule: object
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    rule: Rule | None = None
    last_run: datetime.datetime | None = None
    serial: int = 0
    reads: set = field(default_factory=set)
    next_wake: datetime.datetime | None = None
    wake_serial: int = 0
    wake_reads: set = field(default_factory=set)
    runs: int = 0
    skipped: int = 0
    seconds: float = 0.0

    @property
    def interval(self):
        if isinstance(self.schedule, crontab):
            return None
        if isinstance(self.schedule, schedule):
            return self.schedule.run_every
        if isinstance(self.schedule, datetime.timedelta):
            return self.schedule
        return datetime.timedelta(seconds=float(self.schedule))


def load_jobs(app):
    """The beat schedule of the Celery configuration, as jobs."""
    app.loader.import_default_modules()
    jobs = []
    for name, entry in sorted(app.conf.beat_schedule.items()):
        every = entry["schedule"]
        if not isinstance(every, (crontab, schedule, datetime.timedelta, int, float)):
            raise TypeError(f"beat entry {name}: schedule {every!r} is neither a crontab nor an interval")
        if entry["task"] not in app.tasks:
            raise LookupError(f"beat entry {name}: no task {entry['task']} is registered")
        jobs.append(
            Job(
                name=name,
                task_name=entry["task"],
                schedule=every,
                args=tuple(entry.get("args") or ()),
                kwargs=dict(entry.get("kwargs") or {}),
                rule=INTERVAL_RULES.get(entry["task"]),
            )
        )
    return jobs


def cron_matches(cron, moment):
    """Whether ``crontab`` fires at the minute ``moment`` (aware; compared in Celery's time zone)."""
    local = moment.astimezone(cron.tz) if cron.tz is not None else moment
    return (
        local.minute in cron.minute
        and local.hour in cron.hour
        and local.isoweekday() % 7 in cron.day_of_week
        and local.day in cron.day_of_month
        and local.month in cron.month_of_year
    )


class Beat:
    """Runs the jobs for the moments of a simulated day. ``started`` is when beat came up (every
    interval job runs then, as Celery beat does for a job it has never run)."""

    def __init__(self, app, *, started, exact=False, watch=None):
        self.app = app
        self.jobs = load_jobs(app)
        self.started = started
        self.exact = exact
        self.watch = watch or TableWatch()
        for job in self.jobs:
            if isinstance(job.schedule, crontab) and job.schedule.tz is None:
                job.schedule.tz = app.conf.timezone
            if isinstance(job.schedule, crontab):
                job.schedule.tz = job.schedule.tz or timezone.get_current_timezone()

    def unruled(self):
        """Interval jobs without a wake-up rule (each runs at every tick)."""
        return [job for job in self.jobs if job.interval is not None and job.rule is None]

    def moments(self, start, end):
        """[(time, job, last)] of the ticks in [start, end), in time order (crontab jobs first at a
        tie); ``last``: the job's last tick in the span."""
        ticks = []
        for order, job in enumerate(self.jobs):
            if isinstance(job.schedule, crontab):
                minute = start.replace(second=0, microsecond=0)
                if minute < start:
                    minute += datetime.timedelta(minutes=1)
                while minute < end:
                    if cron_matches(job.schedule, minute):
                        ticks.append((minute, 0, order, job))
                    minute += datetime.timedelta(minutes=1)
            else:
                step = job.interval
                n = max(0, -(-(start - self.started) // step))
                moment = self.started + n * step
                while moment < end:
                    ticks.append((moment, 1, order, job))
                    moment += step
        ticks.sort(key=lambda item: item[:3])
        last = {}
        for moment, _kind, _order, job in ticks:
            last[job.name] = moment
        return [(moment, job, last[job.name] == moment) for moment, _kind, _order, job in ticks]

    def due(self, job, now, last=False):
        """Whether this tick of ``job`` must run (see the module's docstring)."""
        if self.exact or job.interval is None or job.rule is None or job.last_run is None:
            return True
        new_day = timezone.localdate(now) != timezone.localdate(job.last_run)
        rule = job.rule
        if rule.wake is not None:
            if new_day:
                return True
            if self.watch.changed_since(job.wake_serial, job.wake_reads):
                self.wake(job)
            return job.next_wake is not None and job.next_wake <= now
        if last and new_day:
            return True
        if self.watch.changed_since(job.serial, job.reads) and (
            rule.coalesce is None or last or now - job.last_run >= rule.coalesce
        ):
            return True
        return rule.floor is not None and now - job.last_run >= rule.floor

    def wake(self, job):
        """Read the job's next due time (and note the tables that reading depends on)."""
        self.watch.start_reading()
        job.next_wake = job.rule.wake()
        job.wake_reads = self.watch.stop_reading()
        job.wake_serial = self.watch.serial

    def run(self, job, now, last=False):
        """Run the job's task now (its real function, in this process), unless its rule says this
        tick would find nothing new. Returns whether it ran."""
        import time

        if not self.due(job, now, last):
            job.skipped += 1
            return False
        task = self.app.tasks[job.task_name]
        began = time.perf_counter()
        self.watch.start_reading()
        try:
            task(*job.args, **job.kwargs)
        except Exception as error:
            self.watch.stop_reading()
            raise JobError(job, now, error) from error
        job.reads = self.watch.stop_reading()
        job.serial = self.watch.serial
        job.last_run = now
        if job.rule is not None and job.rule.wake is not None and not self.exact:
            self.wake(job)
        job.runs += 1
        job.seconds += time.perf_counter() - began
        return True
