"""Code production shows its progress live (the batch page polls a progress partial from the first
moment), and the produced codes export as CSV or XLSX — scoped, formulas neutralised, logged."""

import csv
import io

import pytest

from coupons.models import Batch, Coupon
from coupons.services import production
from coupons.tests.factories import make_batch
from crm.models import AccessLog, AccessLogRecord
from customers.tests.factories import CustomerFactory


@pytest.fixture
def approved(org):
    return make_batch(org, status=Batch.Status.APPROVED, production=Batch.Production.MANUAL, quantity=3000)


def test_pressing_produce_shows_a_polling_progress_before_the_worker_starts(client, org, approved, monkeypatch):
    queued = []
    monkeypatch.setattr("crm.tasks.enqueue_or_log", lambda task, *args: queued.append(args) or True)
    client.force_login(org.marketing)
    page = client.post(f"/coupons/batches/{approved.pk}/produce/", follow=True)
    html = page.content.decode()
    assert queued == [(approved.pk,)]
    assert f'hx-get="/coupons/batches/{approved.pk}/progress/"' in html and 'hx-trigger="every 1s"' in html
    assert "正在排队等待处理……" in html
    partial = client.get(f"/coupons/batches/{approved.pk}/progress/").content.decode()
    assert 'hx-trigger="every 1s"' in partial and 'data-testid="production-count">0 / 3,000<' in partial


def test_the_progress_partial_counts_the_committed_codes_and_stops_polling_when_done(client, org, approved):
    client.force_login(org.marketing)
    production.produce(approved, 1000)  # a worker that has committed a third of the codes
    Batch.objects.filter(pk=approved.pk).update(production_state=production.RUNNING)
    partial = client.get(f"/coupons/batches/{approved.pk}/progress/").content.decode()
    assert 'data-testid="production-count">1,000 / 3,000<' in partial
    assert 'aria-valuenow="33"' in partial
    assert 'hx-trigger="every 1s"' in partial
    production.produce(approved)
    partial = client.get(f"/coupons/batches/{approved.pk}/progress/").content.decode()
    assert 'data-testid="production-count">3,000 / 3,000<' in partial and 'aria-valuenow="100"' in partial
    assert "hx-trigger" not in partial
    assert Batch.objects.get(pk=approved.pk).production_state == "done"


def test_produced_in_steps_so_that_the_bar_moves(org, approved, monkeypatch):
    steps = []
    real = production._insert_generic if production.connection.vendor != "postgresql" else production._insert_pg
    name = "_insert_generic" if production.connection.vendor != "postgresql" else "_insert_pg"
    monkeypatch.setattr(production, name, lambda batch_id, codes: steps.append(len(codes)) or real(batch_id, codes))
    production.produce(approved)
    assert steps == [1000, 1000, 1000]


def test_a_queue_that_cannot_be_reached_leaves_the_batch_as_it_was(client, org, approved, monkeypatch):
    monkeypatch.setattr("crm.tasks.enqueue_or_log", lambda task, *args: False)
    client.force_login(org.marketing)
    page = client.post(f"/coupons/batches/{approved.pk}/produce/", follow=True)
    assert Batch.objects.get(pk=approved.pk).production_state == ""
    assert 'hx-trigger="every 1s"' not in page.content.decode()


def test_a_production_left_running_by_a_dead_worker_is_queued_again(org, approved, monkeypatch):
    import datetime

    from django.utils import timezone

    queued = []
    monkeypatch.setattr("crm.tasks.enqueue_or_log", lambda task, *args: queued.append(args) or True)
    Batch.objects.filter(pk=approved.pk).update(
        production_state="running", approved_at=timezone.now() - datetime.timedelta(hours=1)
    )
    assert production.requeue_unfinished(datetime.timedelta(minutes=2)) == 1
    assert queued == [(approved.pk,)]


# ------------------------------------------------------------ export of the codes
def read_csv(response):
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


def test_the_codes_export_as_csv_with_holders_in_scope_and_formulas_neutralised(client, org):
    from coupons import services

    batch = make_batch(org, status=Batch.Status.ACTIVE, production=Batch.Production.MANUAL, quantity=5)
    production.produce(batch)
    mine = CustomerFactory(owner=org.rep1, name="=HYPERLINK(1)")
    services.claim(batch_code=batch.code, customer=mine, channel="app")
    client.force_login(org.marketing)
    rows = read_csv(client.get(f"/coupons/batches/{batch.pk}/codes/export/?format=csv"))
    assert len(rows) == 6
    codes = sorted(Coupon.objects.filter(batch=batch).values_list("code", flat=True))
    assert sorted(r[0] for r in rows[1:]) == codes
    claimed = [r for r in rows[1:] if r[2] != "—"]
    assert len(claimed) == 1 and claimed[0][2] == "'=HYPERLINK(1)" and claimed[0][3] == "app"
    assert claimed[0][4] == "20.00"
    log = AccessLog.objects.get(action="export")
    assert log.count == 1 and list(AccessLogRecord.objects.filter(log=log).values_list("object_id", flat=True)) == [
        mine.pk
    ]


def test_the_codes_export_as_xlsx_and_hides_holders_outside_the_scope(client, org, settings):
    from openpyxl import load_workbook

    from coupons import services

    batch = make_batch(org, status=Batch.Status.ACTIVE, quantity=5)
    services.claim(batch_code=batch.code, customer=CustomerFactory(owner=org.rep3, name="外部客户"), channel="app")
    org.marketing.data_scope = "self"
    org.marketing.save()
    client.force_login(org.marketing)
    response = client.get(f"/coupons/batches/{batch.pk}/codes/export/?format=xlsx")
    rows = [list(r) for r in load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True)]
    assert len(rows) == 2
    assert rows[1][2] == "—" and rows[1][4] == 20
    assert AccessLog.objects.get(action="export").count == 0


def test_only_coupon_managers_export_codes_of_batches_they_see(client, org):
    batch = make_batch(org, status=Batch.Status.ACTIVE, quantity=5)
    client.force_login(org.manager1)
    assert client.get(f"/coupons/batches/{batch.pk}/codes/export/?format=csv").status_code == 403
    client.force_login(org.marketing)
    assert client.get(f"/coupons/batches/{batch.pk}/codes/export/?format=pdf").status_code == 404


def test_a_large_export_asks_first(client, org, monkeypatch):
    from coupons.views import batches as views

    batch = make_batch(org, status=Batch.Status.ACTIVE, production=Batch.Production.MANUAL, quantity=5)
    production.produce(batch)
    client.force_login(org.marketing)
    html = client.get(f"/coupons/batches/{batch.pk}/").content.decode()
    assert 'data-testid="export-codes"' in html and "data-confirm" not in html.split('data-testid="export-codes"')[1]
    monkeypatch.setattr(views, "EXPORT_CONFIRM_OVER", 4)
    html = client.get(f"/coupons/batches/{batch.pk}/").content.decode()
    assert html.count("导出 5 个券码？文件较大，需要一些时间。") == 2
    Batch.objects.filter(pk=batch.pk).update(quantity=20_000)
    production.produce(batch)
    html = client.get(f"/coupons/batches/{batch.pk}/").content.decode()
    assert html.count("导出 20,000 个券码？文件较大，需要一些时间。") == 2
