"""The region picker's re-render (htmx) and the list of region text without a code."""

import re

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET

from crm import permissions

from ..region_field import RegionWidget
from ..selectors import unmatched_regions

FIELD_NAME = re.compile(r"^[A-Za-z][\w-]{0,60}$")


@login_required
@require_GET
def region_picker(request):
    """The three selects again, the next one offering the children of the place just chosen."""
    name = request.GET.get("name", "")
    if not FIELD_NAME.match(name):
        return HttpResponse(status=400)
    widget = RegionWidget(attrs={"id": f"id_{name}"})
    value = widget.value_from_datadict(request.GET, {}, name)
    return HttpResponse(widget.render(name, value))


@login_required
@require_GET
def unmatched(request):
    """区域未匹配: region text that no code was found for, so an admin can correct the records."""
    permissions.require(request.user, "customers.configure")
    return render(request, "customers/settings/unmatched_regions.html", {"rows": unmatched_regions(request.user)})


urlpatterns = [
    path("regions/picker/", region_picker, name="region_picker"),
    path("regions/unmatched/", unmatched, name="unmatched_regions"),
]
