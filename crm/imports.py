"""导入: the one import framework every file import uses (customers, relations, tags and orders in
``customers.imports``, leads in ``sales.imports``, and any new one).

An app gives what is its own — the columns, the check of a row, the writer — and the framework
runs the same life cycle for all, on a job model built on ``crm.models.ImportJobBase``:

1. **Preview**: the file is read behind the upload guard (``crm.uploads``), every row checked;
   the job is stored *checked* (the rows as they will be written) or *has errors* (each naming
   the row and the column). Nothing is written yet (:func:`finish_check`).
2. **Commit**: a conditional UPDATE moves a checked job to *queued* — a double click queues it
   once — and its task is enqueued when the transaction commits (:func:`commit`).
3. **Run**: the task takes a queued job (or, on PostgreSQL, one whose worker died: the runner's
   lock proves nobody works on it), writes every row in ONE transaction — all or nothing — and
   keeps the progress in the cache, which the page polls (:func:`run`, :class:`Progress`). A
   :class:`RowFailure` rolls everything back and the job names the row.
4. **Recovery**: :func:`requeue` queues again the jobs whose task was lost (the broker was down)
   or whose worker was killed; the beat sweep calls each app's ``requeue_waiting``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from auditlog.context import set_actor
from django.core.cache import cache
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from .db import takeable
from .models import ImportJobBase
from .tasks import enqueue_or_log

logger = logging.getLogger(__name__)

Status = ImportJobBase.Status
PROGRESS_EVERY = 200
MAX_FILE_SIZE = 20 * 1024 * 1024  # the upload's limit, before the upload guard reads it


class ImportFileError(Exception):
    """The file as a whole cannot be read (wrong format, no header, too many rows)."""


class RowFailure(Exception):
    """A row failed while writing: the transaction is rolled back and the job names the row."""

    def __init__(self, row, column, message):
        super().__init__(message)
        self.row, self.column, self.message = row, column, str(message)

    def as_dict(self):
        return {"row": self.row, "column": self.column, "message": self.message}


def progress_key(job_id):
    return f"import-progress:{job_id}"


class Progress:
    """Writes "processed so far" to the cache every ``PROGRESS_EVERY`` rows: the database row of
    the job cannot show it while the import's transaction is open. An import whose job ids may
    meet another's gives its own ``key_of``."""

    key_of = staticmethod(progress_key)  # the cache key of a job's progress

    def __init__(self, job, phase):
        self.key, self.total, self.phase = self.key_of(job.pk), job.total, phase
        self.done = self.written = 0
        self.write()

    def advance(self, count=1):
        self.done += count
        if self.done - self.written >= PROGRESS_EVERY or self.done >= self.total:
            self.write()

    def write(self):
        self.written = self.done
        cache.set(
            self.key,
            {"phase": self.phase, "processed": min(self.done, self.total), "total": self.total},
            timeout=24 * 3600,
        )


def read_progress(job, key_of=progress_key):
    """(phase, processed) of a queued or running job."""
    value = cache.get(key_of(job.pk)) or {}
    return value.get("phase", ""), value.get("processed", job.processed)


def finish_check(job: ImportJobBase, ignored) -> None:
    """The preview is ready: checked, or has errors; columns the import does not know are named."""
    job.status = Status.INVALID if job.errors else Status.VALIDATED
    job.total = len(job.rows) if not job.errors else job.total
    job.processed = 0
    job.message = (_("Columns ignored (unknown): %(names)s") % {"names": ", ".join(ignored)}) if ignored else ""


def commit(job: ImportJobBase, *, task, progress: type[Progress] = Progress) -> bool:
    """Queue the import of a checked job without errors. False when it is not (or no longer)
    waiting for a commit, e.g. after a double click: the conditional UPDATE lets one through."""
    if job.errors:
        return False
    if not type(job).objects.filter(pk=job.pk, status=Status.VALIDATED).update(status=Status.QUEUED):
        return False
    job.status = Status.QUEUED
    progress(job, "import")
    language = translation.get_language()
    transaction.on_commit(lambda: enqueue_or_log(task, job.pk, language=language))
    return True


def takeable_jobs(model) -> QuerySet:
    """The jobs a runner may take: queued, or running with a dead worker (PostgreSQL)."""
    return model.objects.filter(status__in=takeable(Status.QUEUED, Status.RUNNING))


def run(
    model,
    job_id,
    *,
    write: Callable[[Any, Progress], Any],
    done: Callable[[Any, Any], None] | None = None,
    progress: type[Progress] = Progress,
    language=None,
    claim: Callable[[QuerySet], QuerySet] | None = None,
    name="import",
) -> None:
    """Write every row of a checked job in one transaction (all or nothing). Safe to run twice:
    only a queued job is taken, or one whose worker died (its transaction was rolled back).

    ``write(job, progress)`` writes the rows (raising :class:`RowFailure` for a row that fails) and
    returns what ``done(job, result)`` records on the rows once everything is stored (the record
    each row touched). ``claim`` narrows which takeable jobs this task may take."""
    jobs = takeable_jobs(model).filter(pk=job_id)
    if not (claim(jobs) if claim else jobs).update(status=Status.RUNNING):
        return
    job = model.objects.select_related("created_by").get(pk=job_id)
    tracker = progress(job, "import")
    with translation.override(language or translation.get_language()):
        try:
            with transaction.atomic(), set_actor(job.created_by):  # the audit log names the importing user
                result = write(job, tracker)
        except RowFailure as failure:
            job.status, job.errors = Status.FAILED, [failure.as_dict()]
            job.processed = tracker.done
            job.message = _("Nothing was imported: row %(row)s failed (%(column)s: %(reason)s).") % {
                "row": failure.row,
                "column": failure.column or "-",
                "reason": failure.message,
            }
        except Exception:
            logger.exception("%s %s failed", name, job_id)
            job.status, job.processed = Status.FAILED, tracker.done
            job.message = _("Nothing was imported because of an unexpected error. Try again, or ask an administrator.")
        else:
            job.status, job.processed, job.errors = Status.DONE, job.total, []
            if done is not None:
                done(job, result)
        job.finished_at = timezone.now()
        job.save()
    tracker.done = job.processed
    tracker.write()


def waiting(model, older_than) -> QuerySet:
    """Jobs still waiting ``older_than`` after they were created (their task was lost), or left
    running by a killed worker (the task sees whether anyone still works on it)."""
    return takeable_jobs(model).filter(created_at__lt=timezone.now() - older_than)


def requeue(job_ids, task) -> int:
    """Queue ``task`` again for each job; returns how many were queued."""
    return sum(enqueue_or_log(task, job_id) for job_id in job_ids)
