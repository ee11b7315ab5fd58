"""Producing codes in Chromium with a real Celery worker (PostgreSQL + Redis): after "Produce codes"
the batch page shows the progress and follows it to the end without a reload."""

import os

import pytest

# Playwright's sync API runs an asyncio loop in this thread; the ORM of the live server runs beside it.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from config.celery import app as celery_app
from coupons.models import Batch, Coupon
from coupons.tests.factories import make_batch
from crm.tests.test_browser import CHROMIUM_ARGS, browser  # noqa: F401
from crm.tests.test_faults import processes, service_env, use_broker, wait_for, worker_args  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.services]


@pytest.fixture
def real_broker(redis_url):
    """Tasks go to Redis for the worker process (the suite otherwise runs them in place)."""
    before = celery_app.conf.broker_url, celery_app.conf.task_always_eager
    use_broker(redis_url, eager=False)
    yield
    use_broker(*before[:1], eager=before[1])


@pytest.mark.django_db(transaction=True)
def test_production_progress_updates_live_with_a_real_worker(
    postgres, redis_url, real_broker, processes, browser, live_server, client
):
    from crm.tests.factories import OrgFixture

    org = OrgFixture()
    batch = make_batch(org, status=Batch.Status.APPROVED, production=Batch.Production.MANUAL, quantity=40_000)
    worker = processes("worker", *worker_args("produce-live"), env=service_env(redis_url))
    client.force_login(org.marketing)
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/coupons/batches/{batch.pk}/")
        page.get_by_role("button", name="生成券码").click()
        page.wait_for_load_state("load")
        page.evaluate("window.notReloaded = true")
        count = page.get_by_test_id("production-count")
        seen = set()

        def finished():
            seen.add(count.inner_text())
            return "40,000 / 40,000" in seen

        wait_for(finished, 120, f"the page to show every code produced (worker log: {worker.log_path})")
        assert page.evaluate("window.notReloaded") is True  # the figures came in by polling
        assert page.get_by_test_id("production-progress").get_attribute("hx-trigger") is None  # polling stopped
        assert "券码已生成" in page.get_by_test_id("production-progress").inner_text()
        assert Coupon.objects.filter(batch=batch).count() == 40_000
        assert Batch.objects.get(pk=batch.pk).production_state == "done"
    finally:
        context.close()
