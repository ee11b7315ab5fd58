"""Test set-up shared by every app: eager Celery, fast hashing, a clock, and service checks."""
import os

import pytest
from django.conf import settings

from config.celery import app as celery_app


def pytest_configure(config):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True


def require_services():
    return os.environ.get("CRM_REQUIRE_SERVICES") == "1"


def skip_or_fail(reason):
    """Skip a test that needs a service, or fail it when CI says the services must be there."""
    if require_services():
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture
def postgres(db):
    from django.db import connection

    if connection.vendor != "postgresql":
        skip_or_fail("needs PostgreSQL: set DATABASE_URL")
    return connection


@pytest.fixture
def redis_url():
    url = os.environ.get("REDIS_URL")
    if not url:
        skip_or_fail("needs Redis: set REDIS_URL")
    return url
