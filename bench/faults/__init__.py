"""Fault runs (``make faults``): the product against real processes while things break.

``python -m bench.faults`` builds a private stack under ``var/faults/`` — its own PostgreSQL
cluster (port 5440) and Redis server (port 6390), migrated and loaded with the small demo set —
starts gunicorn (2 workers), two Celery workers and Celery beat (the reminder dispatcher and the
outbox sweep every 2 s) against it, and runs:

* **redis**: Redis stopped for 20 s while people browse and the API takes leads, orders, claims
  and redemptions; notifications made meanwhile must wait in the outbox and go out once after.
* **worker**: the only worker killed (SIGKILL) inside a batch of reminders, twice; every notice
  and its email exactly once.
* **beats**: a second beat process beside the first while reminders fall due; no duplicates.
* **postgres**: PostgreSQL stopped at once (immediate shutdown) for 5 s under load; requests fail
  with an HTTP error while it is down and work again after; nothing half-written.

then checks the data: every acknowledged order is there with its items, claims equal the issued
count, budgets equal the sum of subsidies and reservations, no redemption twice. One PASS/FAIL line
per scenario; the exit status is non-zero if any failed. The shared PostgreSQL and Redis are never
touched. Logs: ``var/faults/logs/``; figures: ``var/faults/results.json``.
"""
