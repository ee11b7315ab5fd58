"""One customer's personal data: reveal contact details, export everything held, anonymize."""

import json

from django.apps import apps
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from crm import permissions, privacy

from ..selectors import customers_for
from ..services import privacy as services

HISTORY_SHOWN = 50


def _customer(request, pk):
    permissions.require(request.user, "customers.view")
    return permissions.get_visible_or_404(request.user, customers_for(request.user), pk=pk)


@login_required
@require_POST
def reveal(request, pk):
    """Show one customer's contact details in full (htmx swaps them in) and log it."""
    customer = _customer(request, pk)
    if not privacy.may_reveal(request.user):
        raise PermissionDenied("customers.view_mobile")
    privacy.log_access(
        action=privacy.Action.REVEAL, subject=privacy.Subject.CUSTOMER, ids=[customer.pk], request=request
    )
    return render(
        request,
        "customers/detail/contact.html",
        {
            "customer": customer,
            "contact": privacy.contact(customer, revealed=True),
            "revealed": True,
        },
    )


def _privacy_customer(request, pk):
    permissions.require(request.user, "privacy.manage")
    return _customer(request, pk)


@login_required
@require_GET
def personal_data(request, pk):
    """What is held about the customer, who accessed it, and the export and anonymize actions."""
    customer = _privacy_customer(request, pk)
    held = services.customer_data(customer)
    privacy.log_access(
        action=privacy.Action.VIEW,
        subject=privacy.Subject.CUSTOMER,
        ids=[customer.pk],
        request=request,
        detail=_("personal data page"),
    )
    return render(
        request,
        "customers/privacy.html",
        {
            "customer": customer,
            "held": sorted(
                (str(apps.get_model(label)._meta.verbose_name), len(rows)) for label, rows in held["related"].items()
            ),
            "history": privacy.history(privacy.Subject.CUSTOMER, customer.pk)[:HISTORY_SHOWN],
        },
    )


@login_required
@require_POST
def personal_data_export(request, pk):
    """Everything held about the customer as one JSON file (a data subject's access request)."""
    customer = _privacy_customer(request, pk)
    data = services.customer_data(customer)
    data["exported_at"] = timezone.now().isoformat()
    privacy.log_access(
        action=privacy.Action.DATA_EXPORT, subject=privacy.Subject.CUSTOMER, ids=[customer.pk], request=request
    )
    response = HttpResponse(
        json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2),
        content_type="application/json; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="customer-{customer.pk}-personal-data.json"'
    return response


@login_required
@require_POST
def anonymize(request, pk):
    customer = _privacy_customer(request, pk)
    services.anonymize_customer(actor=request.user, customer=customer, request=request)
    messages.success(request, _("The customer's personal data was erased. Orders and figures were kept."))
    return redirect("customers:personal_data", pk=customer.pk)


urlpatterns = [
    path("<int:pk>/reveal/", reveal, name="reveal"),
    path("<int:pk>/personal-data/", personal_data, name="personal_data"),
    path("<int:pk>/personal-data/export/", personal_data_export, name="personal_data_export"),
    path("<int:pk>/personal-data/anonymize/", anonymize, name="anonymize"),
]
