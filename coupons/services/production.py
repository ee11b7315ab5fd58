"""Code production (生产): set-based inserts — PostgreSQL COPY into a staging table, then one
INSERT … ON CONFLICT DO NOTHING, repeated for the (rare) codes that collided."""
import io
import time

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from crm.db import exclusive

from ..models import Batch, Coupon
from . import codes

CHUNK = 100_000


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
                ON CONFLICT (code) DO NOTHING""", [batch_id])
        inserted = cursor.rowcount
        cursor.execute("TRUNCATE coupon_codes_in")
    return inserted


def _insert_generic(batch_id, new_codes):
    before = Coupon.objects.filter(batch_id=batch_id).count()
    Coupon.objects.bulk_create([Coupon(batch_id=batch_id, code=code) for code in new_codes], ignore_conflicts=True,
                               batch_size=5000)
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
        while done < wanted:
            size = min(CHUNK, wanted - done)
            with transaction.atomic():
                inserted = insert(batch.pk, codes.new_codes(size))
                Batch.objects.filter(pk=batch.pk).update(produced=F("produced") + inserted)
            done += inserted
            cache.set(progress_key(batch.pk), {"done": done, "total": wanted}, 3600)
    return done, time.monotonic() - started


def requeue_unfinished(older_than):
    """Queue again the production of batches produced on approval whose codes are not all there
    ``older_than`` after the approval (the task was lost, or the worker died half-way). Returns how
    many were queued; a batch already being produced ignores the extra task."""
    from crm.tasks import enqueue_or_log

    from ..tasks import produce_batch

    unfinished = Batch.objects.filter(
        production=Batch.Production.ON_APPROVAL, produced__lt=F("quantity"),
        status__in=[Batch.Status.APPROVED, Batch.Status.ACTIVE, Batch.Status.PAUSED],
        approved_at__lt=timezone.now() - older_than)
    return sum(enqueue_or_log(produce_batch, batch_id) for batch_id in unfinished.values_list("pk", flat=True))
