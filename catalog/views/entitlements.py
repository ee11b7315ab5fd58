"""Customer entitlements (客户权益): the list, one entitlement with its uses, and consuming it."""

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from crm import permissions
from crm.errors import DomainError
from crm.ui import ScopedListView, history_for

from .. import selectors
from ..filters import EntitlementFilter
from ..forms import ConsumeForm
from ..models import Entitlement
from ..services import entitlements
from ..tables import EntitlementTable
from .products import add_errors


class EntitlementListView(ScopedListView):
    model = Entitlement
    table_class = EntitlementTable
    filterset_class = EntitlementFilter
    view_action = "catalog.view"
    export_action = "catalog.export"
    export_name = "entitlements"
    title = gettext_lazy("Customer entitlements")
    empty_text = gettext_lazy("No entitlements. Buying a SKU that grants one adds it here.")

    def get_queryset(self):
        return selectors.entitlements_for(self.request.user)


def _entitlement(request, pk):
    from django.http import Http404

    found = selectors.entitlements_for(request.user).filter(pk=pk).first()
    if found is None:
        raise Http404
    return found


def _render(request, entitlement, form=None, status=200):
    can_consume = permissions.can(request.user, "catalog.consume")
    return render(
        request,
        "catalog/entitlement_detail.html",
        {
            "entitlement": entitlement,
            "uses": selectors.uses_of(entitlement),
            "can_consume": can_consume,
            "expired": entitlement.is_expired(),
            "form": form or ConsumeForm(initial={"reference": uuid.uuid4().hex}),
            "history": history_for(entitlement, limit=10),
        },
        status=status,
    )


@login_required
def entitlement_detail(request: HttpRequest, pk) -> HttpResponse:
    permissions.require(request.user, "catalog.view")
    return _render(request, _entitlement(request, pk))


@login_required
@require_POST
def entitlement_consume(request: HttpRequest, pk) -> HttpResponse:
    """Use units; the form's one-time reference makes a double submit take them once."""
    permissions.require(request.user, "catalog.consume")
    entitlement = _entitlement(request, pk)
    form = ConsumeForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            use = entitlements.consume(
                entitlement=entitlement,
                quantity=data["quantity"],
                note=data["note"],
                reference=data["reference"] or uuid.uuid4().hex,
                actor=request.user,
            )
        except ValidationError as exc:
            add_errors(form, exc)
        except DomainError as exc:
            form.add_error("quantity", str(exc))
        else:
            messages.success(
                request,
                _("Used %(quantity)s; %(balance)s left.") % {"quantity": use.quantity, "balance": use.balance_after},
            )
            return redirect(
                request.POST.get("next")
                if request.POST.get("next", "").startswith("/customers/")
                else entitlement.get_absolute_url()
            )
    entitlement.refresh_from_db()
    return _render(request, entitlement, form=form, status=422)


urlpatterns = [
    path("entitlements/", EntitlementListView.as_view(), name="entitlements"),
    path("entitlements/<int:pk>/", entitlement_detail, name="entitlement"),
    path(
        "entitlements/<int:pk>/consume/",
        entitlement_consume,
        name="entitlement_consume",
    ),
]
