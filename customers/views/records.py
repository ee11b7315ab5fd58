from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from crm import permissions, privacy
from crm.ui import BulkAction, ScopedListView, add_domain_error

from .. import services
from ..filters import CustomerFilter
from ..forms.records import AssignForm, BulkTagForm, CustomerForm, MergeForm
from ..models import Customer
from ..selectors import custom_attributes, customers_for, may_see_mobile
from ..tables import CustomerTable, TagNames, attribute_columns


def _bulk_assign(request, queryset):
    form = AssignForm(request.POST, user=request.user)
    if not form.is_valid():
        return _("Choose the new owner.")
    moved = services.assign_customers(actor=request.user, customers=queryset, owner=form.cleaned_data["owner"])
    return _("%(count)d customers handed over to %(owner)s.") % {"count": moved, "owner": form.cleaned_data["owner"]}


def _bulk_tag(request, queryset):
    form = BulkTagForm(request.POST)
    if not form.is_valid():
        raise ValidationError(_("Choose a tag."))
    tag = form.cleaned_data["tag"]
    added = services.add_tags(
        customer_ids=list(queryset.values_list("pk", flat=True)), tags=[tag], source="bulk", actor=request.user
    )
    return _("Tag %(tag)s added to %(count)d customers.") % {"tag": tag, "count": added}


def _bulk_delete(request, queryset):
    count = services.delete_customers(actor=request.user, customers=queryset)
    return _("%(count)d customers deleted.") % {"count": count}


class CustomerListView(ScopedListView):
    model = Customer
    table_class = CustomerTable
    filterset_class = CustomerFilter
    view_action = "customers.view"
    export_action = "customers.export"
    access_subject = "customer"
    create_url = reverse_lazy("customers:create")
    create_action = "customers.add"
    title = gettext_lazy("Customers")
    card_fields = ("name", "mobile", "lifecycle_stage", "owner")  # the phone's cards
    export_name = "customers"
    export_fields = {}  # every column read straight from values_list (fast export)
    paginate_by_subquery = True
    estimate_count = True  # unfiltered: the planner's estimate of 100,000 customers, not a count
    empty_text = gettext_lazy("No customers yet. Add the first one, or import a file.")
    bulk_actions = (
        BulkAction(
            "assign",
            gettext_lazy("Hand over"),
            "customers.assign",
            _bulk_assign,
            confirm=gettext_lazy("Hand the selected customers over to another owner? Their history stays with them."),
            form_class=AssignForm,
        ),
        BulkAction(
            "tag",
            gettext_lazy("Add tag"),
            "customers.change",
            _bulk_tag,
            confirm=gettext_lazy("Add a tag to the selected customers?"),
            form_class=BulkTagForm,
        ),
        BulkAction(
            "delete",
            gettext_lazy("Delete"),
            "customers.delete",
            _bulk_delete,
            confirm=gettext_lazy("Delete the selected customers? This cannot be undone."),
            danger=True,
        ),
    )

    def base_queryset(self):
        return Customer.objects.select_related("owner", "department").prefetch_related("tags")

    def _attribute_columns(self):
        if not hasattr(self, "_attributes"):
            self._attributes = attribute_columns(custom_attributes())
        return self._attributes

    def get_table_kwargs(self):
        kwargs = super().get_table_kwargs()
        kwargs["show_mobile"] = may_see_mobile(self.request.user)
        kwargs["extra_columns"] = self._attribute_columns()[0]  # the admin's custom attributes
        return kwargs

    def export_row_values(self, table, queryset):
        # the visible columns, custom attributes and tags included, read in chunks
        self.export_fields = {"tags": ("id", TagNames()), **self._attribute_columns()[1]}
        return super().export_row_values(table, queryset)


@login_required
@require_http_methods(["GET", "POST"])
def customer_form(request, pk=None):
    if pk is None:
        permissions.require(request.user, "customers.add")
        customer = None
    else:
        permissions.require(request.user, "customers.change")
        customer = get_object_or_404(customers_for(request.user), pk=pk)
        if request.method == "GET":  # the form shows the contact details in full
            privacy.log_access(
                action=privacy.Action.REVEAL,
                subject=privacy.Subject.CUSTOMER,
                ids=[customer.pk],
                request=request,
                detail=_("edit form"),
            )
    form = CustomerForm(request.POST or None, instance=customer, user=request.user)
    if request.method == "POST" and form.is_valid():
        fields = form.model_fields()
        try:
            if customer is None:
                saved = services.create_customer(actor=request.user, **fields)
                messages.success(request, _("Customer %(name)s created.") % {"name": saved.name})
            else:
                saved = services.update_customer(customer=customer, actor=request.user, **fields)
                messages.success(request, _("Changes saved."))
        except ValidationError as exc:
            add_domain_error(form, exc)
        else:
            return redirect(saved)
    duplicate = getattr(form, "duplicate", None)
    return render(
        request,
        "customers/form.html",
        {
            "form": form,
            "customer": customer,
            "duplicate": duplicate,
            "duplicate_visible": duplicate is not None and customers_for(request.user).filter(pk=duplicate.pk).exists(),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def customer_delete(request, pk):
    permissions.require(request.user, "customers.delete")
    customer = get_object_or_404(customers_for(request.user), pk=pk)
    if request.method == "POST":
        try:
            services.delete_customers(actor=request.user, customers=[customer])
        except ValidationError as exc:  # has orders: refused, the customer stays
            messages.error(request, " ".join(exc.messages))
            return redirect(customer)
        messages.success(request, _("Customer %(name)s deleted.") % {"name": customer.name})
        return redirect("customers:list")
    return render(
        request,
        "crm/confirm_delete.html",
        {
            "object": customer,
            "cancel_url": customer.get_absolute_url(),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def customer_merge(request):
    """查重合并: an admin merges a duplicate into the customer that stays."""
    permissions.require(request.user, "customers.merge")
    data = request.POST if request.method == "POST" else (request.GET if request.GET else None)
    form = MergeForm(data, queryset=customers_for(request.user))
    if form.is_bound and form.is_valid():
        survivor, duplicate = form.cleaned_data["survivor_obj"], form.cleaned_data["duplicate_obj"]
        if request.method == "POST":
            try:
                merged = services.merge_customers(actor=request.user, survivor=survivor, duplicate=duplicate)
            except ValidationError as exc:
                form.add_error(None, exc.messages)
            else:
                messages.success(
                    request,
                    _("%(duplicate)s was merged into %(survivor)s.")
                    % {"duplicate": duplicate.name, "survivor": merged.name},
                )
                return redirect(merged)
        return render(request, "customers/merge.html", {"form": form, "survivor": survivor, "duplicate": duplicate})
    return render(request, "customers/merge.html", {"form": form})


urlpatterns = [
    path("merge/", customer_merge, name="merge"),
    path("", CustomerListView.as_view(), name="list"),
    path("new/", customer_form, name="create"),
    path("<int:pk>/edit/", customer_form, name="edit"),
    path("<int:pk>/delete/", customer_delete, name="delete"),
]
