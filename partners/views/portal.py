"""The partner portal (合作伙伴门户) at ``/portal/``: a partner user's own registrations, customers and
orders, statements and grade, in a small layout of its own. Every read goes through the permission
layer, which scopes a partner user to their partner; internal users get 403 here."""

import functools

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm import permissions
from crm.errors import DomainError
from crm.models import Notification
from crm.ui import add_domain_error, export_rows

from .. import selectors
from ..forms import OutcomeForm, RegistrationForm
from ..models import LeadHandover, LeadRegistration, Statement
from ..services import distribution
from ..services import registrations as registration_services
from ..services import statements as statement_services
from ..services.registrations import protection_days

app_name = "portal"


def portal_view(view):
    """Signed in, a partner user, linked to a partner."""

    @login_required
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        permissions.require(request.user, "partners.portal")
        if not permissions.is_partner_user(request.user):
            raise PermissionDenied("partner users only")  # (a superuser has no partner)
        request.partner = selectors.portal_partner(request.user)
        return view(request, *args, **kwargs)

    return wrapper


def _render(request, template, context, *, status=200):
    context = {"partner": request.partner, "section": template.rsplit("/", 1)[-1].removesuffix(".html"), **context}
    return render(request, f"partners/portal/{template}", context, status=status)


@portal_view
def home(request: HttpRequest) -> HttpResponse:
    month = timezone.localdate().replace(day=1)
    orders = selectors.portal_orders(request.user).filter(order__placed_at__date__gte=month, order__status="paid")
    return _render(
        request,
        "home.html",
        {
            "protected": selectors.portal_registrations(request.user).filter(status="protected").count(),
            "month_orders": orders.count(),
            "latest": selectors.portal_statements(request.user).first(),
            "days": protection_days(request.partner),
            "notices": Notification.objects.filter(recipient=request.user).order_by("-created_at")[:5],
        },
    )


@portal_view
def registrations(request: HttpRequest) -> HttpResponse:
    """The registrations, and the form that registers a lead and says at once what it got."""
    form = RegistrationForm(request.POST or None)
    result = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                result = registration_services.register_lead(
                    partner=request.partner, name=form.cleaned_data["name"], mobile=form.cleaned_data["mobile"]
                )
            except DomainError as exc:
                add_domain_error(form, exc)
                status = 422
            else:
                form = RegistrationForm()
        else:
            status = 422
    rows = selectors.portal_registrations(request.user)[: selectors.PORTAL_PAGE]
    return _render(request, "registrations.html", {"form": form, "result": result, "rows": rows}, status=status)


@portal_view
@require_POST
def extend(request: HttpRequest, pk: int) -> HttpResponse:
    registration = permissions.get_visible_or_404(
        request.user, LeadRegistration.objects.select_related("partner"), pk=pk
    )
    try:
        registration = registration_services.extend_registration(registration=registration, actor=request.user)
    except DomainError as exc:
        messages.error(request, _(exc.message))
    else:
        messages.success(
            request,
            _("Protection extended to %(until)s.")
            % {"until": timezone.localtime(registration.protected_until).strftime("%Y-%m-%d")},
        )
    return redirect("portal:registrations")


@portal_view
def leads(request: HttpRequest) -> HttpResponse:
    """交给我的线索: the leads handed to the partner, with what came of each."""
    rows = list(selectors.portal_handovers(request.user)[: selectors.PORTAL_PAGE])
    for row in rows:
        row.next_outcomes = distribution.OUTCOME_MOVES[row.outcome]
    return _render(request, "leads.html", {"rows": rows})


@portal_view
@require_POST
def outcome(request: HttpRequest, pk: int) -> HttpResponse:
    handover = permissions.get_visible_or_404(request.user, LeadHandover.objects.select_related("lead"), lead_id=pk)
    form = OutcomeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose an outcome."))
        return redirect("portal:leads")
    try:
        handover = distribution.record_outcome(
            handover=handover, outcome=form.cleaned_data["outcome"], actor=request.user
        )
    except DomainError as exc:
        messages.error(request, _(exc.message))
    else:
        messages.success(
            request,
            _("%(lead)s: %(outcome)s recorded.")
            % {"lead": handover.lead.name, "outcome": handover.get_outcome_display()},
        )
    return redirect("portal:leads")


@portal_view
def orders(request: HttpRequest) -> HttpResponse:
    return _render(
        request,
        "orders.html",
        {
            "customers": selectors.portal_customers(request.user),
            "rows": selectors.portal_orders(request.user)[: selectors.PORTAL_PAGE],
        },
    )


@portal_view
def statements(request: HttpRequest) -> HttpResponse:
    return _render(request, "statements.html", {"rows": selectors.portal_statements(request.user)[:60]})


def _statement(request, pk) -> Statement:
    return permissions.get_visible_or_404(
        request.user, Statement.objects.exclude(status=Statement.Status.DRAFT).select_related("partner"), pk=pk
    )


def statement_labels() -> dict:
    return {
        "kind": capfirst(_("kind")),  # the same headings as the statement page
        "order": _("Order number"),
        "customer": _("Customer"),
        "rule": _("Rule"),
        "base": capfirst(_("base")),
        "amount": _("Amount"),
        "note": capfirst(_("note")),
        "total": _("Total"),
    }


@portal_view
def statement(request: HttpRequest, pk: int) -> HttpResponse:
    statement = _statement(request, pk)
    if request.GET.get("export") == "xlsx":
        rows = statement_services.statement_rows(statement, statement_labels())
        return export_rows(rows, fmt="xlsx", filename=f"statement-{statement.period:%Y-%m}", sheet=_("Statement"))
    lines = list(statement.lines.select_related("order__customer", "rule")[:1000])
    return _render(request, "statement.html", {"statement": statement, "lines": lines})


@portal_view
@require_POST
def confirm(request: HttpRequest, pk: int) -> HttpResponse:
    statement = _statement(request, pk)
    try:
        statement_services.confirm_statement(statement=statement, actor=request.user)
    except DomainError as exc:
        messages.error(request, _(exc.message))
    else:
        messages.success(request, _("Statement confirmed."))
    return redirect("portal:statement", pk=statement.pk)


@portal_view
def grade(request: HttpRequest) -> HttpResponse:
    return _render(
        request,
        "grade.html",
        {"history": selectors.portal_grades(request.user)[:24], "days": protection_days(request.partner)},
    )


urlpatterns = [
    path("", home, name="home"),
    path("registrations/", registrations, name="registrations"),
    path("registrations/<int:pk>/extend/", extend, name="extend"),
    path("leads/", leads, name="leads"),
    path("leads/<int:pk>/outcome/", outcome, name="outcome"),
    path("orders/", orders, name="orders"),
    path("statements/", statements, name="statements"),
    path("statements/<int:pk>/", statement, name="statement"),
    path("statements/<int:pk>/confirm/", confirm, name="confirm"),
    path("grade/", grade, name="grade"),
]
