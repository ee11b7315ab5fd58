from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from crm import permissions
from crm.models import User
from crm.phone import mask_mobile
from crm.ui import BulkAction, ScopedListView, history_for

from .. import services
from ..filters import CustomerFilter
from ..forms import AssignForm, CustomerForm
from ..models import Customer
from ..selectors import customers_for, may_see_mobile
from ..tables import CustomerTable


def _bulk_assign(request, queryset):
    form = AssignForm(request.POST, user=request.user)
    if not form.is_valid():
        return _("Choose the new owner.")
    moved = services.assign_customers(actor=request.user, customers=queryset, owner=form.cleaned_data["owner"])
    return _("%(count)d customers handed over to %(owner)s.") % {"count": moved, "owner": form.cleaned_data["owner"]}


def _bulk_delete(request, queryset):
    count = services.delete_customers(actor=request.user, customers=queryset)
    return _("%(count)d customers deleted.") % {"count": count}


class CustomerListView(ScopedListView):
    model = Customer
    table_class = CustomerTable
    filterset_class = CustomerFilter
    view_action = "customers.view"
    export_action = "customers.export"
    create_url = reverse_lazy("customers:create")
    create_action = "customers.add"
    title = gettext_lazy("Customers")
    export_name = "customers"
    empty_text = gettext_lazy("No customers yet. Add the first one, or import a file.")
    bulk_actions = (
        BulkAction(
            "assign", gettext_lazy("Hand over"), "customers.assign", _bulk_assign,
            confirm=gettext_lazy("Hand the selected customers over to another owner? Their history stays with them."),
            form_class=AssignForm,
        ),
        BulkAction(
            "delete", gettext_lazy("Delete"), "customers.delete", _bulk_delete,
            confirm=gettext_lazy("Delete the selected customers? This cannot be undone."), danger=True,
        ),
    )

    def base_queryset(self):
        return Customer.objects.select_related("owner", "department")

    def get_table_kwargs(self):
        kwargs = super().get_table_kwargs()
        kwargs["show_mobile"] = may_see_mobile(self.request.user)
        return kwargs


@login_required
@require_http_methods(["GET", "POST"])
def customer_form(request, pk=None):
    if pk is None:
        permissions.require(request.user, "customers.add")
        customer = None
    else:
        permissions.require(request.user, "customers.change")
        customer = get_object_or_404(customers_for(request.user), pk=pk)
    form = CustomerForm(request.POST or None, instance=customer, user=request.user)
    if request.method == "POST" and form.is_valid():
        fields = {name: form.cleaned_data[name] for name in form.fields}
        if customer is None:
            customer = services.create_customer(actor=request.user, **fields)
            messages.success(request, _("Customer %(name)s created.") % {"name": customer.name})
        else:
            if "owner" in fields and fields["owner"] and fields["owner"] != customer.owner:
                fields["department"] = fields["owner"].department
            services.update_customer(customer=customer, actor=request.user, **fields)
            messages.success(request, _("Changes saved."))
        return redirect(customer)
    return render(request, "customers/form.html", {"form": form, "customer": customer})


@login_required
@require_http_methods(["GET", "POST"])
def customer_delete(request, pk):
    permissions.require(request.user, "customers.delete")
    customer = get_object_or_404(customers_for(request.user), pk=pk)
    if request.method == "POST":
        services.delete_customers(actor=request.user, customers=[customer])
        messages.success(request, _("Customer %(name)s deleted.") % {"name": customer.name})
        return redirect("customers:list")
    return render(request, "crm/confirm_delete.html", {
        "object": customer, "cancel_url": customer.get_absolute_url(),
    })


urlpatterns = [
    path("", CustomerListView.as_view(), name="list"),
    path("new/", customer_form, name="create"),
    path("<int:pk>/edit/", customer_form, name="edit"),
    path("<int:pk>/delete/", customer_delete, name="delete"),
]
