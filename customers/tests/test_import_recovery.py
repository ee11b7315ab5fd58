"""An import whose worker was killed (its transaction rolled back, the job left "running") is taken
over by the minute sweep — once, and never while another worker still holds it."""

import contextlib
import datetime

import psycopg2
import pytest
from django.db import connection

from crm.db import _lock_key
from crm.tasks import requeue_lost_jobs
from customers.models import Customer, ImportJob
from customers.tests.test_imports import CUSTOMERS_CSV, english, tags, upload  # noqa: F401

NOW = datetime.timedelta(0)


@contextlib.contextmanager
def another_worker_holding(namespace, key):
    """A second database session holding the job's lock, like a live worker busy with it."""
    params = connection.get_connection_params()
    other = psycopg2.connect(**{k: v for k, v in params.items() if k in ("dbname", "user", "host", "port", "password")})
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", _lock_key(namespace, key))
        yield
    finally:
        other.close()


def test_a_job_left_running_by_a_killed_worker_is_finished_once(client, org, tags, postgres):
    client.force_login(org.rep1)
    job = upload(client, "customers", CUSTOMERS_CSV)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING)  # taken, then the worker died
    before = Customer.objects.count()

    with another_worker_holding("customer-import", job.pk):
        requeue_lost_jobs(older_than=NOW)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.RUNNING and Customer.objects.count() == before

    requeue_lost_jobs(older_than=NOW)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE and Customer.objects.count() == before + 2

    requeue_lost_jobs(older_than=NOW)  # done is done
    assert Customer.objects.count() == before + 2


def test_without_postgresql_a_running_job_is_left_alone(client, org, tags, settings):
    if connection.vendor == "postgresql":
        pytest.skip("PostgreSQL takes the job over (the test above)")
    client.force_login(org.rep1)
    job = upload(client, "customers", CUSTOMERS_CSV)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING)
    before = Customer.objects.count()
    requeue_lost_jobs(older_than=NOW)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.RUNNING and Customer.objects.count() == before
