"""The channel manager's registration list (报备, with the conflicts to settle) and a dealer's store
network (门店) with its roll-up."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm import permissions
from crm.errors import DomainError
from crm.ui import add_domain_error
from customers.models import Customer

from .. import selectors
from ..forms import StoreForm
from ..models import LeadRegistration, Partner
from ..services import network

MAX_ROWS = 200


@login_required
def registrations(request: HttpRequest) -> HttpResponse:
    """The registrations of the partners in scope; ``?status=conflict`` is the conflicts list."""
    permissions.require(request.user, "partners.view")
    status = request.GET.get("status", "")
    rows = selectors.registrations_for(request.user)
    if status in LeadRegistration.Status.values:
        rows = rows.filter(status=status)
    return render(
        request,
        "partners/registration_list.html",
        {
            "rows": rows[:MAX_ROWS],
            "status": status,
            "statuses": LeadRegistration.Status.choices,
            "title": _("Lead registrations"),
        },
    )


def _dealer(request, pk) -> Partner:
    return permissions.get_visible_or_404(request.user, Partner.objects.select_related("owner"), pk=pk)


def _render_stores(request, dealer, *, form=None, status=200):
    return render(
        request,
        "partners/store_list.html",
        {
            "partner": dealer,
            "stores": selectors.dealer_stores(request.user, dealer, limit=MAX_ROWS),
            "rollup": selectors.network_rollup(dealer),
            "sub_dealers": list(dealer.sub_dealers.all()[:50]),
            "form": form or StoreForm(),
            "can_change": permissions.can(request.user, "partners.change"),
        },
        status=status,
    )


@login_required
def stores(request: HttpRequest, pk: int) -> HttpResponse:
    permissions.require(request.user, "partners.view")
    return _render_stores(request, _dealer(request, pk))


@login_required
@require_POST
def store_add(request: HttpRequest, pk: int) -> HttpResponse:
    permissions.require(request.user, "partners.change")
    dealer = _dealer(request, pk)
    form = StoreForm(request.POST)
    if form.is_valid():
        customer = permissions.visible(request.user, Customer.objects.filter(pk=form.cleaned_data["customer"])).first()
        if customer is None:
            form.add_error("customer", _("No such customer in your scope."))
        else:
            try:
                network.add_store(dealer=dealer, customer=customer, actor=request.user)
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, _("Store added."))
                return redirect("partners:stores", pk=dealer.pk)
    return _render_stores(request, dealer, form=form, status=422)


urlpatterns = [
    path("registrations/", registrations, name="registrations"),
    path("<int:pk>/stores/", stores, name="stores"),
    path("<int:pk>/stores/add/", store_add, name="store_add"),
]
