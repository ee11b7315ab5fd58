"""外勤签到 pages: check in at a customer, the visit (check out, photo), the team's visits today."""

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm import permissions
from crm.maps import map_link, static_map
from crm.privacy import mobile_search_q
from crm.ui import search_text
from customers.selectors import customers_for

from .. import selectors
from ..forms import CheckOutForm, VisitForm, apply_service_errors
from ..services import visits as visit_services
from .clock import draft_refused, is_draft

PICK_LIMIT = 20


def _customer_or_none(request):
    customer_id = request.GET.get("customer", "")
    if not customer_id:
        return None
    if not customer_id.isdigit():
        raise Http404
    return get_object_or_404(customers_for(request.user), pk=customer_id)


@login_required
def visit_new(request: HttpRequest) -> HttpResponse:
    """Check in at a customer (?customer=); without one, find the customer first."""
    permissions.require(request.user, "field.use")
    customer = _customer_or_none(request)
    if customer is None:
        query = search_text(request)
        found = []
        if query:
            q = Q(name__icontains=query)
            by_mobile = mobile_search_q(request.user, query)
            if by_mobile is not None:
                q |= by_mobile
            found = list(customers_for(request.user).filter(q).order_by("name", "id")[:PICK_LIMIT])
        return render(request, "field/visit_pick.html", {"query": query, "found": found})
    form = VisitForm(request.POST or None, request.FILES or None, user=request.user)
    draft = request.method == "POST" and is_draft(request)
    if request.method == "POST" and form.is_valid():
        try:
            visit = visit_services.check_in(
                user=request.user,
                customer=customer,
                **form.position(),
                **form.evidence(request),
                photo=form.cleaned_data["photo"],
                notes=form.cleaned_data["notes"],
                remember_location=form.cleaned_data["remember_location"],
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            if draft:
                return JsonResponse({"ok": True, "url": reverse("field:visit", args=[visit.pk])})
            messages.success(
                request, _("Checked in at %(name)s; the visit is on the customer's record.") % {"name": customer.name}
            )
            return redirect("field:visit", pk=visit.pk)
    if draft:
        return draft_refused(form)
    return render(
        request,
        "field/visit_form.html",
        {
            "form": form,
            "customer": customer,
            "open_visit": selectors.my_day(request.user)["open_visit"],
            "has_location": customer.latitude is not None,
        },
    )


def _visible_visit(request, pk):
    return get_object_or_404(selectors.visits_for(request.user).select_related("customer", "user", "followup"), pk=pk)


@login_required
def visit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    permissions.require(request.user, "field.use")
    visit = _visible_visit(request, pk)
    return render(
        request,
        "field/visit_detail.html",
        {
            "visit": visit,
            "form": CheckOutForm(),
            "can_check_out": visit.is_open and visit.user_id == request.user.pk,
            "map_url": map_link(latitude=visit.latitude, longitude=visit.longitude, name=visit.customer.name),
        },
    )


@login_required
@require_POST
def visit_checkout(request: HttpRequest, pk: int) -> HttpResponse:
    permissions.require(request.user, "field.use")
    visit = _visible_visit(request, pk)
    form = CheckOutForm(request.POST)
    if form.is_valid():
        try:
            visit = visit_services.check_out(visit=visit, user=request.user, notes=form.cleaned_data["notes"])
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            messages.success(request, _("Checked out after %(minutes)s min.") % {"minutes": visit.duration_minutes})
    return redirect("field:visit", pk=visit.pk)


@login_required
def visit_photo(request: HttpRequest, pk: int) -> HttpResponse:
    """The photo, to whoever may see the visit (never a public media URL)."""
    permissions.require(request.user, "field.use")
    visit = _visible_visit(request, pk)
    if not visit.photo:
        raise Http404
    response = FileResponse(visit.photo.open("rb"))
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
def team_visits(request: HttpRequest) -> HttpResponse:
    """Today's visits of the team (?day=YYYY-MM-DD), with times, places and distances."""
    permissions.require(request.user, "field.team")
    day = timezone.localdate()
    if request.GET.get("day"):
        try:
            day = datetime.date.fromisoformat(request.GET["day"])
        except ValueError as exc:
            raise Http404 from exc
    visits = selectors.team_visits(request.user, day)
    for visit in visits:
        visit.map_url = map_link(latitude=visit.latitude, longitude=visit.longitude, name=visit.customer.name)
    map_image = static_map([(float(v.latitude), float(v.longitude)) for v in visits if v.latitude is not None])
    response = render(
        request,
        "field/team_visits.html",
        {
            "visits": visits,
            "day": day,
            "previous": day - datetime.timedelta(days=1),
            "following": day + datetime.timedelta(days=1),
            "map_image": map_image,
        },
    )
    if map_image:  # the one image from the provider, and only on this page
        origin = "/".join(map_image.split("/")[:3])
        response._csp_update = {"img-src": [origin]}  # django-csp adds it to the page's policy
    return response
