"""催款级别: the company's default dunning levels, set by admins (``contracts.configure``). An
instalment with levels of its own (its contract page) keeps them."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from crm import permissions
from crm.errors import DomainError
from crm.ui import add_domain_error

from ..forms import DefaultDunningLevelForm
from ..models import DunningLevel
from ..services import dunning


def _level_of(form) -> dunning.Level:
    data = form.cleaned_data
    user = data.get("user")
    return dunning.Level(data["offset_days"], data["channel"], data["responsible"], user.pk if user else None)


def _row(pk) -> DunningLevel:
    row = DunningLevel.objects.filter(pk=pk, instalment__isnull=True).first()
    if row is None:
        raise Http404
    return row


@login_required
@require_http_methods(["GET", "POST"])
def dunning_levels(request: HttpRequest) -> HttpResponse:
    """The company's levels, and the form that adds one."""
    permissions.require(request.user, "contracts.configure")
    form = DefaultDunningLevelForm(request.POST or None, initial={"channel": "preference", "responsible": "owner"})
    if request.method == "POST" and form.is_valid():
        try:
            dunning.add_default_level(level=_level_of(form), actor=request.user)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Dunning level added."))
            return redirect("contracts:dunning_levels")
    rows = DunningLevel.objects.filter(instalment__isnull=True).select_related("user").order_by("offset_days", "id")
    return render(
        request,
        "contracts/dunning_levels.html",
        {"rows": rows, "form": form, "builtin": not rows.exists()},
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def dunning_level_edit(request: HttpRequest, pk) -> HttpResponse:
    permissions.require(request.user, "contracts.configure")
    row = _row(pk)
    form = DefaultDunningLevelForm(
        request.POST or None,
        initial={
            "offset_days": row.offset_days,
            "channel": row.channel,
            "responsible": row.responsible,
            "user": row.user_id,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            dunning.change_default_level(row=row, level=_level_of(form), actor=request.user)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Dunning level saved."))
            return redirect("contracts:dunning_levels")
    return render(
        request,
        "contracts/dunning_level_form.html",
        {"row": row, "form": form},
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def dunning_level_delete(request: HttpRequest, pk) -> HttpResponse:
    permissions.require(request.user, "contracts.configure")
    row = _row(pk)
    try:
        dunning.remove_default_level(row=row, actor=request.user)
    except DomainError as exc:
        messages.error(request, _(exc.message))
    else:
        messages.success(request, _("Dunning level removed."))
    return redirect("contracts:dunning_levels")


urlpatterns = [
    path("dunning-levels/", dunning_levels, name="dunning_levels"),
    path("dunning-levels/<int:pk>/", dunning_level_edit, name="dunning_level_edit"),
    path("dunning-levels/<int:pk>/delete/", dunning_level_delete, name="dunning_level_delete"),
]
