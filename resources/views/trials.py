"""Trial lessons (试听) booked from an opportunity, and their outcome."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm import permissions
from crm.errors import DomainError
from sales.models import Opportunity

from .. import selectors
from ..models import Session
from ..services import trials


@login_required
def book(request: HttpRequest, pk: int) -> HttpResponse:
    permissions.require(request.user, "resources.enrol")
    opportunity = permissions.get_visible_or_404(
        request.user, Opportunity.objects.select_related("customer", "stage"), pk=pk
    )
    if request.method == "POST":
        try:
            session_id = int(request.POST.get("session", ""))
        except ValueError:
            session_id = 0
        session = Session.objects.filter(pk=session_id).first() if 0 < session_id < 2**31 else None
        if session is None:
            messages.error(request, _("Choose a session."))
        else:
            try:
                trials.book_trial(opportunity=opportunity, session=session, actor=request.user)
            except DomainError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, _("Trial lesson booked."))
                return redirect(opportunity)
    booked = list(
        opportunity.trial_lessons.select_related("session__school_class", "session__teacher").order_by("-booked_at")[
            :20
        ]
    )
    live = set(opportunity.trial_lessons.filter(status__in=trials.LIVE).values_list("session_id", flat=True))
    return render(
        request,
        "resources/trial_book.html",
        {
            "opportunity": opportunity,
            "sessions": [s for s in selectors.upcoming_with_seats() if s.pk not in live],
            "booked": booked,
        },
    )


@login_required
@require_POST
def mark(request: HttpRequest, pk: int) -> HttpResponse:
    permissions.require(request.user, "resources.enrol")
    trial = get_object_or_404(selectors.trials_for(request.user).select_related("session"), pk=pk)
    try:
        trials.mark_trial(trial=trial, attended=request.POST.get("attended") == "1", actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Trial lesson recorded."))
    return redirect(trial.session)
