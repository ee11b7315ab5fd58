"""Merge suggestions (合并建议): customers that share an identity, for managers and admins."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm import permissions

from .. import selectors
from ..services import identities


@login_required
def merge_suggestions(request: HttpRequest) -> HttpResponse:
    permissions.require(request.user, "cdp.merge")
    suggestions = list(selectors.merge_suggestions_for(request.user)[:200])
    return render(
        request,
        "cdp/merge_suggestions.html",
        {"suggestions": suggestions, "can_merge": permissions.can(request.user, "customers.merge")},
    )


@login_required
@require_POST
def dismiss(request: HttpRequest, pk: int) -> HttpResponse:
    permissions.require(request.user, "cdp.merge")
    suggestion = selectors.merge_suggestions_for(request.user).filter(pk=pk).first()
    if suggestion is None:
        raise Http404
    identities.dismiss_suggestion(suggestion=suggestion, actor=request.user)
    messages.success(request, _("The suggestion was dismissed."))
    return redirect("cdp:merge_suggestions")
