"""Code production (生产): set-based inserts — PostgreSQL COPY into a staging table, then one
INSERT … ON CONFLICT DO NOTHING, repeated for the (rare) codes that collided."""

import io
import time

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from crm import tasks as crm_tasks
from crm.db import exclusive

from .. import tasks
from ..models import Batch, Coupon
from . import codes

CHUNK = 100_000
STEP_MIN = 1_000
QUEUED, RUNNING, DONE = "queued", "running", "done"


def progress_key(batch_id):
    return f"coupon-production:{batch_id}"


def progress(batch_id):
    return cache.get(progress_key(batch_id))


def _insert_pg(batch_id, new_codes):
    buffer = io.StringIO("".join(f"{code}\n" for code in new_codes))
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE IF NOT EXISTS coupon_codes_in (code varchar(16)) ON COMMIT DELETE ROWS")
        cursor.cursor.copy_expert("COPY coupon_codes_in (code) FROM STDIN", buffer)
        cursor.execute(
            f"""INSERT INTO {Coupon._meta.db_table} (batch_id, code, status, channel, amount, reserved, is_compensation)
                SELECT %s, code, 'available', '', 0, 0, false FROM coupon_codes_in
                ON CONFLICT (code) DO NOTHING""",
            [batch_id],
        )
        inserted = cursor.rowcount
        cursor.execute("TRUNCATE coupon_codes_in")
    return inserted


def _insert_generic(batch_id, new_codes):
    before = Coupon.objects.filter(batch_id=batch_id).count()
    Coupon.objects.bulk_create(
        [Coupon(batch_id=batch_id, code=code) for code in new_codes], ignore_conflicts=True, batch_size=5000
    )
    return Coupon.objects.filter(batch_id=batch_id).count() - before


def _producing(batch_id):
    """True while this session is the batch's only producer (see ``crm.db.exclusive``)."""
    return exclusive("coupon-production", batch_id)


def produce(batch, count=None):
    """Produce ``count`` codes (default: up to the batch's quantity) for an approved batch.
    Returns (produced, seconds). Safe to call twice, even at once: it never produces more than the
    quantity, and a second producer of the same batch returns (0, 0.0) at once."""
    started = time.monotonic()
    with _producing(batch.pk) as alone:
        if not alone:
            return 0, 0.0
        batch = Batch.objects.get(pk=batch.pk)
        if batch.status not in (Batch.Status.APPROVED, Batch.Status.ACTIVE, Batch.Status.PAUSED):
            raise ValueError("Only an approved batch produces codes.")
        wanted = min(count or batch.quantity, batch.quantity - batch.produced)
        done = 0
        insert = _insert_pg if connection.vendor == "postgresql" else _insert_generic
        Batch.objects.filter(pk=batch.pk).update(production_state=RUNNING)
        # about twenty steps, so that the batch page's progress bar moves (each step commits)
        step = min(CHUNK, max(STEP_MIN, wanted // 20))
        while done < wanted:
            size = min(step, wanted - done)
            with transaction.atomic():
                inserted = insert(batch.pk, codes.new_codes(size))
                Batch.objects.filter(pk=batch.pk).update(produced=F("produced") + inserted)
            done += inserted
            cache.set(progress_key(batch.pk), {"done": done, "total": wanted}, 3600)
        Batch.objects.filter(pk=batch.pk).update(production_state=DONE)
    return done, time.monotonic() - started


def request(*, batch):
    """Queue the production of the batch's remaining codes ("Produce codes"). The batch shows
    "waiting for a worker" at once, so its page follows the progress from the first moment.
    Returns False (and changes nothing) when the queue cannot be reached."""
    if batch.status not in (Batch.Status.APPROVED, Batch.Status.ACTIVE, Batch.Status.PAUSED):
        raise ValidationError(_("Only an approved batch produces codes."))
    before = Batch.objects.filter(pk=batch.pk).values_list("production_state", flat=True).get()
    Batch.objects.filter(pk=batch.pk).exclude(production_state=RUNNING).update(production_state=QUEUED)
    if crm_tasks.enqueue_or_log(tasks.produce_batch, batch.pk):
        return True
    Batch.objects.filter(pk=batch.pk, production_state=QUEUED).update(production_state=before)
    return False


def progress_for(batch):
    """What the batch page's progress bar shows: codes produced of the quantity (with thousands
    separators), the percentage, and whether the page keeps polling."""
    return {
        "under_way": under_way(batch),
        "done": f"{batch.produced:,}",
        "total": f"{batch.quantity:,}",
        "percent": batch.produced * 100 // batch.quantity if batch.quantity else 0,
    }


def under_way(batch):
    """Whether codes are being produced (or waiting for a worker) — the page then polls its progress:
    asked for by hand, or produced on approval and not all there yet."""
    if batch.produced >= batch.quantity:
        return False
    if batch.production_state in (QUEUED, RUNNING):
        return True
    return batch.production == Batch.Production.ON_APPROVAL and batch.status in (
        Batch.Status.APPROVED,
        Batch.Status.ACTIVE,
        Batch.Status.PAUSED,
    )


def requeue_unfinished(older_than):
    """Queue again the production of batches produced on approval (or asked for by hand) whose codes are not all there
    ``older_than`` after the approval (the task was lost, or the worker died half-way). Returns how
    many were queued; a batch already being produced ignores the extra task."""
    unfinished = Batch.objects.filter(
        Q(production=Batch.Production.ON_APPROVAL) | Q(production_state__in=[QUEUED, RUNNING]),
        produced__lt=F("quantity"),
        status__in=[Batch.Status.APPROVED, Batch.Status.ACTIVE, Batch.Status.PAUSED],
        approved_at__lt=timezone.now() - older_than,
    )
    return sum(
        crm_tasks.enqueue_or_log(tasks.produce_batch, batch_id) for batch_id in unfinished.values_list("pk", flat=True)
    )
