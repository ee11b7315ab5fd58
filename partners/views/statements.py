"""Settlement statement pages: the list, a statement with its lines, and the actions on it."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm import permissions
from crm.approvals.selectors import history_for as approvals_for
from crm.errors import DomainError
from crm.ui import add_domain_error, export_rows

from ..forms import AdjustmentForm, GenerateForm
from ..models import Statement
from ..services import statements as services
from . import portal

MAX_STATEMENTS = 200


def _statement(request, pk) -> Statement:
    return permissions.get_visible_or_404(request.user, Statement.objects.select_related("partner"), pk=pk)


@login_required
def statement_list(request: HttpRequest) -> HttpResponse:
    permissions.require(request.user, "partners.view")
    rows = permissions.visible(request.user, Statement.objects.select_related("partner"))[:MAX_STATEMENTS]
    return render(
        request,
        "partners/statement_list.html",
        {
            "statements": rows,
            "title": _("Settlement statements"),
            "generate_form": GenerateForm(),
            "can_settle": permissions.can(request.user, "partners.settle"),
        },
    )


@login_required
@require_POST
def statement_generate(request: HttpRequest) -> HttpResponse:
    permissions.require(request.user, "partners.settle")
    form = GenerateForm(request.POST)
    if form.is_valid():
        count = services.generate_statements(period=form.cleaned_data["month"].replace(day=1))
        messages.success(request, _("%(n)s statements generated.") % {"n": count})
    else:
        messages.error(request, _("Choose a month."))
    return redirect("partners:statements")


def _render(request, statement, *, status=200, adjustment_form=None):
    return render(
        request,
        "partners/statement_detail.html",
        {
            "statement": statement,
            "lines": list(statement.lines.select_related("order__customer", "rule")[:1000]),
            "can_settle": permissions.can(request.user, "partners.settle"),
            "can_export": permissions.can(request.user, "partners.export"),
            "adjustment_form": adjustment_form or AdjustmentForm(),
            "approvals": approvals_for(statement, services.STATEMENT_KIND),
        },
        status=status,
    )


@login_required
def statement_detail(request: HttpRequest, pk: int) -> HttpResponse:
    permissions.require(request.user, "partners.view")
    statement = _statement(request, pk)
    if request.GET.get("export") == "xlsx":
        permissions.require(request.user, "partners.export")
        rows = services.statement_rows(statement, portal.statement_labels())
        name = f"statement-{statement.partner.code}-{statement.period:%Y-%m}"
        return export_rows(rows, fmt="xlsx", filename=name, sheet=_("Statement"))
    return _render(request, statement)


@login_required
@require_POST
def statement_adjust(request: HttpRequest, pk: int) -> HttpResponse:
    permissions.require(request.user, "partners.settle")
    statement = _statement(request, pk)
    form = AdjustmentForm(request.POST)
    if form.is_valid():
        try:
            services.add_adjustment(
                statement=statement,
                amount=form.cleaned_data["amount"],
                note=form.cleaned_data["note"],
                actor=request.user,
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Adjustment added."))
            return redirect(statement)
    return _render(request, statement, status=422, adjustment_form=form)


@login_required
@require_POST
def statement_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Submit for approval or record the payment."""
    permissions.require(request.user, "partners.settle")
    statement = _statement(request, pk)
    try:
        if action == "submit":
            services.submit_statement(statement=statement, actor=request.user)
            messages.success(request, _("Statement sent for approval."))
        elif action == "pay":
            services.record_payment(statement=statement, actor=request.user)
            messages.success(request, _("Payment recorded."))
        else:
            return redirect(statement)
    except DomainError as exc:
        messages.error(request, _(exc.message))
    except Exception as exc:  # the engine's ValidationError (no approver, already waiting)
        from django.core.exceptions import ValidationError

        if not isinstance(exc, ValidationError):
            raise
        messages.error(request, " ".join(exc.messages))
    return redirect(statement)


urlpatterns = [
    path("statements/", statement_list, name="statements"),
    path("statements/generate/", statement_generate, name="statement_generate"),
    path("statements/<int:pk>/", statement_detail, name="statement"),
    path("statements/<int:pk>/adjust/", statement_adjust, name="statement_adjust"),
    path("statements/<int:pk>/<str:action>/", statement_action, name="statement_action"),
]
