"""Import pages (导入): upload and check a file, preview it, commit it, follow the progress."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm import import_pages as pages
from crm import permissions
from crm.money import money
from crm.phone import mask_mobile

from .. import imports
from ..forms.imports import ImportForm
from ..models import ImportJob, RelationKind
from ..selectors import may_see_mobile


def _jobs_of(user):
    """The user's own jobs; the rows and errors (large) are only loaded where shown."""
    return ImportJob.objects.filter(created_by=user)


def _column_help(kinds):
    """[(kind, label, [(column, a Chinese header name, required)])] for the page's reference."""
    return [
        (
            kind,
            label,
            [
                (column, next((n for n in names if not n.isascii()), ""), column in imports.REQUIRED_COLUMNS[kind])
                for column, names in imports.COLUMNS[kind].items()
            ],
        )
        for kind, label in kinds
    ]


@login_required
@require_http_methods(["GET", "POST"])
def import_index(request):
    permissions.require(request.user, "customers.import")
    form = ImportForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = imports.start_import(
                user=request.user, kind=form.cleaned_data["kind"], file_name=upload.name, data=upload.read()
            )
        except imports.ImportFileError as exc:
            form.add_error("file", str(exc))
        else:
            return redirect("customers:import_job", pk=job.pk)
    recent = pages.recent_jobs(_jobs_of(request.user))
    kinds = [(value, label) for value, label in ImportJob.Kind.choices if imports.may_import(request.user, value)]
    return render(
        request,
        "customers/import/index.html",
        {
            "form": form,
            "recent": recent,
            "kinds": kinds,
            "column_help": _column_help(kinds),
            "relation_kinds": RelationKind.choices,
            "max_rows": f"{imports.ASYNC_CHECK_ROWS:,}",
        },
    )


def _preview(job, user, limit=imports.PREVIEW_ROWS):
    """(headers, rows) of the first rows for the preview or the result."""
    show_mobile = may_see_mobile(user)

    def mobile(value):
        return value if show_mobile else mask_mobile(value)

    kinds = dict(RelationKind.choices)
    rows = job.rows[:limit] if isinstance(job.rows, list) else []
    done = job.status == ImportJob.Status.DONE
    table = []
    for entry in rows:
        v = entry["values"]
        link = reverse("customers:detail", args=[entry["customer_id"]]) if entry.get("customer_id") else ""
        if job.kind == ImportJob.Kind.CUSTOMERS:
            cells = [
                v.get("name", ""),
                mobile(v.get("mobile", "")),
                v.get("birthday", ""),
                v.get("region", ""),
                v.get("owner", ""),
                "; ".join(v.get("tags", [])),
            ]
            if entry["action"] == "link":
                result = _("Links to existing customer #%(id)s %(name)s") % {
                    "id": entry["customer_id"],
                    "name": entry.get("customer_name", ""),
                }
            else:
                result = _("Created") if done else _("New customer")
        elif job.kind == ImportJob.Kind.RELATIONS:
            cells = [
                f"{v['from_name']} {mobile(v['from_mobile'])}",
                kinds.get(v["kind"], v["kind"]),
                f"{v['to_name']} {mobile(v['to_mobile'])}",
                v.get("note", ""),
            ]
            result = _("Already linked") if entry["action"] == "skip" else (_("Linked") if done else _("New link"))
        elif job.kind == ImportJob.Kind.TAGS:
            cells = [mobile(v["mobile"]), v["customer_name"], "; ".join(v["tags"])]
            result = _("Tagged") if done else _("Add tags")
        else:
            cells = [
                v["external_id"],
                mobile(v["mobile"]),
                v["name"],
                money(v["amount"]),
                v["placed_at"][:16].replace("T", " "),
                v["sku"],
                v["quantity"] if v["sku"] else "",
                money(v["price"]) if v["price"] else "",
            ]
            if entry["action"] == "line":
                result = _("Another line of the order above")
            elif entry.get("new_customer"):
                result = _("Order; new customer") if not done else _("Order; customer created")
            else:
                result = _("Order of existing customer #%(id)s") % {"id": entry["customer_id"]}
        table.append(
            {"row": entry["row"], "cells": cells, "result": result, "link": link, "linked": entry["action"] == "link"}
        )
    headers = {
        ImportJob.Kind.CUSTOMERS: [_("name"), _("mobile"), _("birthday"), _("region"), _("owner"), _("tags")],
        ImportJob.Kind.RELATIONS: [_("customer"), _("relation"), _("related customer"), _("note")],
        ImportJob.Kind.TAGS: [_("mobile"), _("customer"), _("tags")],
        ImportJob.Kind.ORDERS: [
            _("external id"),
            _("mobile"),
            _("name"),
            _("amount"),
            _("placed at"),
            _("SKU"),
            _("quantity"),
            _("price"),
        ],
    }[job.kind]
    return headers, table


def _urls(job):
    results = [(_("Customers"), reverse("customers:list"))]
    if job.kind == ImportJob.Kind.ORDERS:
        results.append((_("Orders"), reverse("customers:orders")))
    return {
        "list": reverse("customers:list"),
        "list_label": _("Customers"),
        "upload": reverse("customers:import"),
        "job": reverse("customers:import_job", args=[job.pk]),
        "progress": reverse("customers:import_progress", args=[job.pk]),
        "errors": reverse("customers:import_errors", args=[job.pk]),
        "commit": reverse("customers:import_commit", args=[job.pk]),
        "results": results,
    }


@login_required
@require_GET
def import_job(request, pk):
    permissions.require(request.user, "customers.import")
    job = get_object_or_404(_jobs_of(request.user), pk=pk)
    return pages.job_page(
        request,
        job,
        urls=_urls(job),
        preview=_preview,
        figures=imports.summary,
        may_commit=imports.may_import(request.user, job.kind),
    )


@login_required
@require_GET
def import_progress(request, pk):
    """The progress bar alone, polled by htmx while the job runs."""
    permissions.require(request.user, "customers.import")
    job = get_object_or_404(_jobs_of(request.user).defer("rows", "errors"), pk=pk)
    return pages.progress_page(request, job, urls=_urls(job))


@login_required
@require_POST
def import_commit(request, pk):
    permissions.require(request.user, "customers.import")
    job = get_object_or_404(_jobs_of(request.user), pk=pk)
    if not imports.may_import(request.user, job.kind):
        raise PermissionDenied
    return pages.commit_job(
        request, job, commit=imports.commit_import, job_url=reverse("customers:import_job", args=[job.pk])
    )


@login_required
@require_GET
def import_errors(request, pk):
    """Every error of a job as a spreadsheet (row, column, reason), for files with many."""
    permissions.require(request.user, "customers.import")
    job = get_object_or_404(_jobs_of(request.user).defer("rows"), pk=pk)
    return pages.errors_file(job, filename=f"import-{job.pk}-errors")


@login_required
@require_GET
def import_sample(request, kind):
    permissions.require(request.user, "customers.import")
    if kind not in ImportJob.Kind.values:
        raise Http404
    return pages.sample_file(f"{kind}.csv", filename=f"{kind}-sample.csv")


urlpatterns = [
    path("import/", import_index, name="import"),
    path("import/samples/<slug:kind>.csv", import_sample, name="import_sample"),
    path("import/<int:pk>/", import_job, name="import_job"),
    path("import/<int:pk>/progress/", import_progress, name="import_progress"),
    path("import/<int:pk>/commit/", import_commit, name="import_commit"),
    path("import/<int:pk>/errors.csv", import_errors, name="import_errors"),
]
