"""Lead import pages (线索导入): upload and check a file, preview it, commit it, follow the
progress — the import framework's pages (``crm.import_pages``), for leads (``sales.imports``)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm import import_pages as pages
from crm import permissions
from crm.phone import mask_mobile
from customers.selectors import customers_for, may_see_mobile
from customers.services.sources import source_choices, source_names

from .. import imports
from ..models import Lead, LeadImportJob
from ..selectors import leads_for

SAMPLE = "leads.csv"


def _require(user):
    permissions.require(user, "sales.change")


def _jobs_of(user):
    return LeadImportJob.objects.filter(created_by=user)


def _column_help():
    return [
        (column, next((n for n in names if not n.isascii()), ""), column in imports.REQUIRED_COLUMNS)
        for column, names in imports.COLUMNS.items()
    ]


@login_required
@require_http_methods(["GET", "POST"])
def lead_import(request):
    _require(request.user)
    form = pages.ImportFileForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = imports.start_import(user=request.user, file_name=upload.name, data=upload.read())
        except imports.ImportFileError as exc:
            form.add_error("file", str(exc))
        else:
            return redirect("sales:lead_import_job", pk=job.pk)
    recent = pages.recent_jobs(_jobs_of(request.user))
    return render(
        request,
        "sales/imports/index.html",
        {
            "form": form,
            "recent": recent,
            "columns": _column_help(),
            "max_rows": f"{imports.MAX_ROWS:,}",
            "sources": source_choices(),
            "may_assign": permissions.can(request.user, "sales.assign"),
        },
    )


def _preview(job, user, limit=imports.PREVIEW_ROWS):
    """(headers, rows) of the first rows, with what each becomes (or became)."""
    show_mobile = may_see_mobile(user)
    sources = source_names()
    rows = job.rows[:limit] if isinstance(job.rows, list) else []
    done = job.status == LeadImportJob.Status.DONE
    lead_ids = {e.get("lead_id") for e in rows} | {e.get("duplicate_lead_id") for e in rows}
    visible_leads = set(leads_for(user).filter(pk__in=lead_ids - {None}).values_list("pk", flat=True))
    customer_ids = {e.get("customer_id") for e in rows} - {None}
    visible_customers = set(customers_for(user).filter(pk__in=customer_ids).values_list("pk", flat=True))
    created = (
        {
            lead.pk: lead
            for lead in Lead.objects.filter(pk__in={e.get("lead_id") for e in rows} - {None})
            .select_related("owner")
            .only("pk", "status", "score", "grade", "owner")
        }
        if done
        else {}
    )
    table = []
    for entry in rows:
        v = entry["values"]
        mobile = v.get("mobile", "")
        lead = created.get(entry.get("lead_id"))
        score, grade = (lead.score, lead.grade) if lead else (entry["score"], entry["grade"])
        if entry["action"] == "duplicate":
            if entry.get("duplicate_row"):
                result = _("Duplicate of row %(row)s: linked, not assigned") % {"row": entry["duplicate_row"]}
            else:
                result = _("Duplicate of lead #%(id)s %(name)s: linked, not assigned") % {
                    "id": entry["duplicate_lead_id"],
                    "name": entry.get("duplicate_name", ""),
                }
            owner = "—"
        elif entry["action"] == "customer":
            result = _("Lead of existing customer #%(id)s %(name)s") % {
                "id": entry["customer_id"],
                "name": entry.get("customer_name", ""),
            }
            owner = entry.get("customer_owner") or v.get("owner") or _("By the assignment rules")
        else:
            result = _("Created") if done else _("New lead")
            owner = v.get("owner") or _("By the assignment rules")
        if lead is not None:
            owner = str(lead.owner or "—")
        link = ""
        if lead is not None and lead.pk in visible_leads:
            link = reverse("sales:lead", args=[lead.pk])
        elif entry.get("duplicate_lead_id") in visible_leads:
            link = reverse("sales:lead", args=[entry["duplicate_lead_id"]])
        elif entry.get("customer_id") in visible_customers:
            link = reverse("customers:detail", args=[entry["customer_id"]])
        table.append(
            {
                "row": entry["row"],
                "link": link,
                "result": result,
                "linked": entry["action"] != "create",
                "cells": [
                    v.get("name", ""),
                    mobile if show_mobile else mask_mobile(mobile),
                    v.get("email", ""),
                    sources.get(v["source"], v["source"]),
                    v.get("region", ""),
                    "; ".join(v.get("tags", [])),
                    f"{score} / {grade}",
                    owner,
                ],
            }
        )
    headers = [_("name"), _("mobile"), _("email"), _("source"), _("region"), _("tags"), _("score / grade"), _("owner")]
    return headers, table


def _urls(job):
    return {
        "list": reverse("sales:leads"),
        "list_label": _("Leads"),
        "upload": reverse("sales:lead_import"),
        "job": reverse("sales:lead_import_job", args=[job.pk]),
        "progress": reverse("sales:lead_import_progress", args=[job.pk]),
        "errors": reverse("sales:lead_import_errors", args=[job.pk]),
        "commit": reverse("sales:lead_import_commit", args=[job.pk]),
        "results": [(_("Leads"), reverse("sales:leads"))],
    }


@login_required
@require_GET
def lead_import_job(request, pk):
    _require(request.user)
    job = get_object_or_404(_jobs_of(request.user), pk=pk)
    return pages.job_page(
        request, job, urls=_urls(job), preview=_preview, figures=imports.summary, read=imports.read_progress
    )


@login_required
@require_GET
def lead_import_progress(request, pk):
    """The progress bar alone, polled by htmx while the job runs."""
    _require(request.user)
    job = get_object_or_404(_jobs_of(request.user).defer("rows", "errors"), pk=pk)
    return pages.progress_page(request, job, urls=_urls(job), read=imports.read_progress)


@login_required
@require_POST
def lead_import_commit(request, pk):
    _require(request.user)
    job = get_object_or_404(_jobs_of(request.user), pk=pk)
    return pages.commit_job(
        request, job, commit=imports.commit_import, job_url=reverse("sales:lead_import_job", args=[job.pk])
    )


@login_required
@require_GET
def lead_import_errors(request, pk):
    """Every error of a job as a spreadsheet (row, column, reason)."""
    _require(request.user)
    job = get_object_or_404(_jobs_of(request.user).defer("rows"), pk=pk)
    return pages.errors_file(job, filename=f"lead-import-{job.pk}-errors")


@login_required
@require_GET
def lead_import_sample(request):
    _require(request.user)
    return pages.sample_file(SAMPLE, filename="leads-sample.csv")


urlpatterns = [
    path("leads/import/", lead_import, name="lead_import"),
    path("leads/import/sample.csv", lead_import_sample, name="lead_import_sample"),
    path("leads/import/<int:pk>/", lead_import_job, name="lead_import_job"),
    path("leads/import/<int:pk>/progress/", lead_import_progress, name="lead_import_progress"),
    path("leads/import/<int:pk>/commit/", lead_import_commit, name="lead_import_commit"),
    path("leads/import/<int:pk>/errors.csv", lead_import_errors, name="lead_import_errors"),
]
