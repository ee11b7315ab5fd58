"""Catalogue import: upload → row report → commit (all or nothing)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm import permissions
from crm.uploads import UploadRefused, read_upload
from customers.imports import ImportFileError

from ..forms import ImportForm
from ..models import ProductImport
from ..services import imports

REPORT_ROWS = 200


@login_required
def import_upload(request: HttpRequest) -> HttpResponse:
    permissions.require(request.user, "catalog.manage")
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            data = read_upload(upload, max_bytes=imports.MAX_FILE_SIZE)
            job = imports.start_import(user=request.user, file_name=upload.name, data=data)
        except (UploadRefused, ImportFileError) as exc:
            form.add_error("file", str(exc))
        else:
            return redirect(job)
    return render(
        request,
        "catalog/import.html",
        {
            "form": form,
            "columns": imports.EXPORT_HEADER,
            "required": imports.REQUIRED,
            "jobs": ProductImport.objects.filter(created_by=request.user)[:10],
        },
    )


def _job(request, pk):
    return get_object_or_404(ProductImport, pk=pk, created_by=request.user)


@login_required
def import_job(request: HttpRequest, pk) -> HttpResponse:
    permissions.require(request.user, "catalog.manage")
    job = _job(request, pk)
    return render(
        request,
        "catalog/import_job.html",
        {
            "job": job,
            "errors": job.errors[:REPORT_ROWS],
            "more_errors": max(len(job.errors) - REPORT_ROWS, 0),
            "preview": job.rows[:20],
        },
    )


@login_required
@require_POST
def import_commit(request: HttpRequest, pk) -> HttpResponse:
    permissions.require(request.user, "catalog.manage")
    job = imports.commit_import(job=_job(request, pk), user=request.user)
    if job.status == ProductImport.Status.DONE:
        messages.success(request, job.message)
    else:
        messages.error(request, job.message or _("This file cannot be imported."))
    return redirect(job)


urlpatterns = [
    path("import/", import_upload, name="import"),
    path("import/<int:pk>/", import_job, name="import_job"),
    path("import/<int:pk>/commit/", import_commit, name="import_commit"),
]
