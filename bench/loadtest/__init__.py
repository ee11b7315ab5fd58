"""Load test through the real server: ``python -m bench.loadtest`` (or ``make loadtest``).

``locustfile.py`` is the mix (reps in the browser, channels on the API), ``__main__.py`` runs it
through gunicorn for each number of workers and users, ``reconcile.py`` checks afterwards that the
coupon counters, budgets and orders still add up (also used by ``coupons/tests/test_reconcile.py``).
Nothing here imports locust except the locustfile, which runs in its own process.
"""
