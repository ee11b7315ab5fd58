"""Test set-up shared by every app: eager Celery, fast hashing, a clock, and service checks."""

import os
from itertools import zip_longest
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings

from config.celery import app as celery_app


def pytest_addoption(parser):
    parser.addoption(
        "--persona-shots",
        action="store_true",
        default=False,
        help="persona tests save a screenshot of every page they visit (docs/screenshots/personas/)",
    )


def _worker_redis(url: str, worker: str) -> str:
    """``url`` on a Redis database of the parallel test worker's own (gw0 the given one, gw1 the next):
    two workers never purge, consume or lock each other's queues and keys."""
    parts = urlsplit(url)
    base = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{(base + int(worker.removeprefix('gw'))) % 16}"))


def pytest_configure(config):
    if config.getoption("persona_shots"):
        os.environ["CRM_PERSONA_SHOTS"] = "1"
    worker = os.environ.get("PYTEST_XDIST_WORKER")  # set in each process of a parallel run (make test)
    if worker and os.environ.get("REDIS_URL"):
        url = _worker_redis(os.environ["REDIS_URL"], worker)
        os.environ["REDIS_URL"] = url  # the worker and beat processes that tests start inherit it
        settings.REDIS_URL = settings.CELERY_BROKER_URL = url
        celery_app.conf.broker_url = url
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True


@pytest.fixture(autouse=True)
def _fresh_process_state():
    """Each test starts from the state a fresh process has, whatever the test before it left:
    the default language (a request through LocaleMiddleware leaves its language active in the
    thread) and Celery allowed to join results (an eager task run in several threads at once
    restores the "would block" flag out of order and can leave it set, so every later
    ``task.apply().get()`` raises "Never call result.get() within a task")."""
    from celery import _state as celery_state
    from django.core.cache import cache
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    celery_state._set_task_join_will_block(False)
    cache.clear()  # (a fresh process's cache is empty: nothing cached from another test's rows)
    yield
    translation.activate(settings.LANGUAGE_CODE)
    celery_state._set_task_join_will_block(False)


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


def pytest_collection_modifyitems(config, items):
    """Files with browser tests alternate with the others, each file's tests in their order: in a
    parallel run one process drives Chromium (which waits on the browser) while the other keeps the
    cores busy, the long browser files start early, and small files fill the end evenly."""
    files = {}
    for item in items:
        files.setdefault(item.path, []).append(item)
    browser = {
        path: None for path, found in files.items() if any(i.get_closest_marker("browser") for i in found)
    }  # (ordered)
    others = [path for path in files if path not in browser]
    order = [path for pair in zip_longest(browser, others) for path in pair if path is not None]
    rank = {path: n for n, path in enumerate(order)}
    items.sort(key=lambda item: rank[item.path])  # (a stable sort)


#: test packages that share one package-scoped fixture and run in one process, in file order (the
#: personas work one after the other in one demo business)
TOGETHER = ("crm/tests/persona_days/",)


def pytest_xdist_make_scheduler(config, log):
    """A parallel run hands out whole files, and the packages of ``TOGETHER`` whole."""
    from xdist.scheduler import LoadFileScheduling

    class Scheduling(LoadFileScheduling):
        def _split_scope(self, nodeid):
            path = nodeid.split("::", 1)[0]
            return next((package for package in TOGETHER if path.startswith(package)), path)

    return Scheduling(config, log)
