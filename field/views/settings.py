"""Work sites and hours per department (admins)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from crm import permissions

from .. import selectors
from ..forms import WorkHoursForm, WorkSiteForm, apply_service_errors
from ..models import WorkHours, WorkSite
from ..services import sites as site_services


@login_required
def field_settings(request: HttpRequest) -> HttpResponse:
    permissions.require(request.user, "field.configure")
    return render(
        request,
        "field/settings.html",
        {
            "sites": selectors.sites_for_admin(request.user)[:500],
            "hours": selectors.hours_for_admin(request.user).order_by("department__path")[:500],
        },
    )


def _edit(request, *, form_class, instance, save, title, saved):
    departments = permissions.departments_for(request.user)
    form = form_class(request.POST or None, instance=instance, departments=departments)
    if request.method == "POST" and form.is_valid():
        try:
            save(form.instance)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, saved)
            return redirect("field:settings")
    return render(request, "field/settings_form.html", {"form": form, "title": title})


@login_required
def site_form(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    permissions.require(request.user, "field.configure")
    site = get_object_or_404(selectors.sites_for_admin(request.user), pk=pk) if pk else WorkSite()
    return _edit(
        request,
        form_class=WorkSiteForm,
        instance=site,
        title=_("Work site"),
        save=lambda obj: site_services.save_work_site(site=obj),
        saved=_("Work site saved."),
    )


@login_required
def hours_form(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    permissions.require(request.user, "field.configure")
    hours = get_object_or_404(selectors.hours_for_admin(request.user), pk=pk) if pk else WorkHours()
    return _edit(
        request,
        form_class=WorkHoursForm,
        instance=hours,
        title=_("Work hours"),
        save=lambda obj: site_services.save_work_hours(hours=obj),
        saved=_("Work hours saved."),
    )
