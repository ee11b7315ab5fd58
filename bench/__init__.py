"""Server-side benchmark of the CRM: ``python -m bench`` (or ``make bench``).

Loads the large demo data set once into the configured database, then times each registered
scenario in-process with ``django.test.Client``: median and p95 in milliseconds and the number of
SQL queries. See ``docs/benchmarks.md``.

Each app's scenarios live in ``bench/<app>.py``, a module that calls :func:`bench.scenarios.register`.
"""
