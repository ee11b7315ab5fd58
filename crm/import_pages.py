"""The pages of the import framework (``crm.imports``), the same for every import: the upload form,
the job page (preview or result, errors, the commit button), the progress bar htmx polls, the
commit, the errors as a CSV file and the sample file. Each app's views give what is their own —
which jobs the user may open, the preview's rows, the figures and the addresses."""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .imports import MAX_FILE_SIZE, Status, read_progress
from .ui import StyledFormMixin, export_rows

SAMPLES_DIR = settings.BASE_DIR / "docs" / "import-samples"
MAX_ERRORS_SHOWN = 200
RUNNING = (Status.QUEUED, Status.RUNNING)
STATUS_CSS = {
    Status.VALIDATED: "primary",
    Status.INVALID: "danger",
    Status.QUEUED: "secondary",
    Status.RUNNING: "info",
    Status.DONE: "success",
    Status.FAILED: "danger",
}


class ImportFileForm(StyledFormMixin, forms.Form):
    """The upload: a CSV or XLSX file of at most 20 MB (the upload guard checks the rest)."""

    file = forms.FileField(
        label=gettext_lazy("File (CSV or XLSX, at most 20 MB)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,text/csv"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_FILE_SIZE:
            raise forms.ValidationError(_("The file is larger than 20 MB; split it into smaller files."))
        return upload


def recent_jobs(jobs, limit=10):
    """The user's latest jobs for the upload page, each with its status colour."""
    recent = list(jobs.defer("rows", "errors")[:limit])
    for job in recent:
        job.css = STATUS_CSS.get(job.status, "secondary")
    return recent


def progress_context(job, urls, read=read_progress):
    """What the import pages (customers/import/job.html, progress.html) show of a job, with the
    import's ``urls`` and progress reader."""
    running = job.status in RUNNING
    phase, processed = read(job) if running else ("", job.processed)
    if job.status == Status.DONE:
        processed = job.total
    percent = int(100 * processed / job.total) if job.total else 0
    return {
        "job": job,
        "running": running,
        "phase": phase,
        "processed": processed,
        "percent": min(percent, 100),
        "status_css": STATUS_CSS.get(job.status, "secondary"),
        "urls": urls,
    }


def job_page(
    request: HttpRequest, job, *, urls, preview: Callable, figures: Callable, may_commit=True, read=read_progress
) -> HttpResponse:
    """The job's page: while it runs, the progress; otherwise the preview (or the result), the
    figures, the first errors and — for a checked job without errors — the commit button."""
    context = progress_context(job, urls, read)
    if job.status not in RUNNING:
        headers, rows = preview(job, request.user)
        context.update(
            headers=headers,
            rows=rows,
            figures=figures(job),
            errors=job.errors[:MAX_ERRORS_SHOWN],
            more_errors=max(0, len(job.errors) - MAX_ERRORS_SHOWN),
            can_commit=job.status == Status.VALIDATED and not job.errors and may_commit,
        )
    return render(request, "customers/import/job.html", context)


def progress_page(request: HttpRequest, job, *, urls, read=read_progress) -> HttpResponse:
    """The progress bar alone, polled by htmx every second while the job runs. Once finished it
    comes back without the polling trigger, and an htmx request reloads the page for the result."""
    response = render(request, "customers/import/progress.html", progress_context(job, urls, read))
    if job.status not in RUNNING and request.headers.get("HX-Request"):
        response["HX-Refresh"] = "true"
    return response


def commit_job(request: HttpRequest, job, *, commit: Callable, job_url: str) -> HttpResponse:
    """Queue the job's import (once, whatever the clicks) and go back to its page."""
    if commit(job=job, user=request.user):
        messages.info(request, _("Import started. Nothing is stored until every row is written."))
    else:
        messages.warning(request, _("This file cannot be imported (it has errors, or it is already being imported)."))
    return redirect(job_url)


def errors_file(job, *, filename: str) -> HttpResponse:
    """Every error of a job as a spreadsheet (row, column, reason), for files with many."""
    rows = [[_("row"), _("column"), _("reason")]] + [[e["row"], e["column"], e["message"]] for e in job.errors]
    return export_rows(rows, fmt="csv", filename=filename)


def sample_file(name: str, *, filename: str) -> FileResponse:
    """A sample file from docs/import-samples, as a download."""
    sample = SAMPLES_DIR / name
    if not sample.is_file():
        raise Http404
    return FileResponse(
        sample.open("rb"), as_attachment=True, filename=filename, content_type="text/csv; charset=utf-8"
    )
