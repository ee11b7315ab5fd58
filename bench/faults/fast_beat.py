"""The CRM's Celery app with a fast beat schedule, for the fault runs and their tests.

``celery -A bench.faults.fast_beat beat -S celery.beat:PersistentScheduler -s FILE`` sends the two
jobs whose "exactly once" the fault runs check — the reminder dispatcher and the outbox sweep —
every ``FAULTS_BEAT_SECONDS`` (default 1) instead of every minute. The tasks are the product's own.
"""

import os

# The fault runs start two beats on purpose (that each job is still sent once without the lock):
# the one-beat lock (crm.beat_lock) is off here unless BEAT_LOCK=1 is asked for, as the rehearsal does.
os.environ.setdefault("BEAT_LOCK", "0")

from config.celery import app

SECONDS = float(os.environ.get("FAULTS_BEAT_SECONDS", "1"))

app.conf.beat_scheduler = "celery.beat:PersistentScheduler"
app.conf.beat_schedule = {
    "sales-dispatch-reminders": {"task": "sales.tasks.dispatch_reminders", "schedule": SECONDS},
    "notifications-sweep-outbox": {"task": "crm.tasks.sweep_outbox", "schedule": SECONDS},
    "operations-beat-heartbeat": {"task": "crm.tasks.beat_heartbeat", "schedule": SECONDS},
}

__all__ = ["app"]
