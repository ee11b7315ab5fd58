"""Campaigns and batches: configuration, approval, production with progress, figures; claiming on
a customer's behalf; compensation requests and their review."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from crm import permissions, privacy
from crm.approvals import selectors as approval_selectors
from crm.errors import DomainError
from crm.models import Department
from crm.ui import add_domain_error, export_rows
from customers.selectors import customers_for

from .. import services
from ..approvals import BATCH, COMPENSATION
from ..forms import BatchForm, CampaignForm, ClaimForCustomerForm, CompensationForm, RejectForm
from ..models import Batch, Compensation
from ..selectors import accounts_for, batches_for, campaigns_for, versions_for
from ..services import batches as batch_rules
from ..services import compensation as compensation_rules
from ..services import export_codes, production, subsidy_plans
from ..services.monitoring import batch_figures, open_alerts


@login_required
def campaign_list(request):
    permissions.require(request.user, "coupons.view")
    batches, campaigns = batches_for(request.user), campaigns_for(request.user)
    department = None
    if request.GET.get("department", "").isdigit():  # drill-down from the dashboard: this department and below
        department = Department.objects.filter(pk=request.GET["department"]).first()
        if department is not None:
            batches = batches.filter(campaign__department__path__startswith=department.path)
            campaigns = campaigns.filter(department__path__startswith=department.path)
    batches = list(batches.order_by("-created_at")[:100])
    figures = batch_figures([b.pk for b in batches])
    for batch in batches:
        batch.figures = figures[batch.pk]
    return render(
        request,
        "coupons/campaigns.html",
        {
            "campaigns": campaigns[:100],
            "batches": batches,
            "department": department,
            "alerts": open_alerts().filter(batch__in=[b.pk for b in batches]).select_related("batch"),
            "can_manage": permissions.can(request.user, "coupons.manage"),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def campaign_form(request):
    permissions.require(request.user, "coupons.manage")
    form = CampaignForm(request.POST or None)
    form.fields["budget_account"].queryset = accounts_for(request.user)
    if request.method == "POST" and form.is_valid():
        campaign = form.save(commit=False)
        campaign.owner = request.user
        campaign.department = campaign.budget_account.department
        campaign.save()
        messages.success(request, _("Campaign created. Add a coupon batch."))
        return redirect(campaign)
    return render(
        request,
        "crm/admin/form.html",
        {"form": form, "title": _("New campaign"), "cancel_url": reverse("coupons:campaigns")},
    )


@login_required
def campaign_detail(request, pk):
    permissions.require(request.user, "coupons.view")
    campaign = get_object_or_404(campaigns_for(request.user), pk=pk)
    batches = list(campaign.batches.all())
    figures = batch_figures([b.pk for b in batches])
    for batch in batches:
        batch.figures = figures[batch.pk]
    return render(
        request,
        "coupons/campaign_detail.html",
        {"campaign": campaign, "batches": batches, "can_manage": permissions.can(request.user, "coupons.manage")},
    )


@login_required
@require_http_methods(["GET", "POST"])
def batch_form(request, campaign_pk=None, pk=None):
    permissions.require(request.user, "coupons.manage")
    if pk:
        batch = get_object_or_404(batches_for(request.user), pk=pk)
        campaign = batch.campaign
    else:
        campaign = get_object_or_404(campaigns_for(request.user), pk=campaign_pk)
        batch = Batch(campaign=campaign)
    versions = versions_for(request.user)
    initial = {}
    if request.method == "GET" and not pk and request.GET.get("subsidy_version", "").isdigit():
        version = get_object_or_404(versions, pk=request.GET["subsidy_version"])
        initial = subsidy_plans.batch_initial(version, request.GET.get("row") or None)
    form = BatchForm(request.POST or None, instance=batch, initial=initial, versions=versions)
    if request.method == "POST" and form.is_valid():
        try:
            batch = services.save_batch(actor=request.user, batch=form.save(commit=False))
        except ValidationError as exc:
            for field, errors in exc.message_dict.items() if hasattr(exc, "error_dict") else [(None, exc.messages)]:
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, _("Batch saved as a draft. Submit it for approval when it is ready."))
            return redirect(batch)
    return render(request, "coupons/batch_form.html", {"form": form, "campaign": campaign, "batch": batch})


@login_required
def batch_detail(request, pk):
    """The batch; also open to an approver routed to it from outside their scope."""
    permissions.require(request.user, "coupons.view")
    batch = get_object_or_404(
        permissions.visible_or_reviewing(
            request.user, Batch.objects.select_related("campaign", "campaign__budget_account")
        ),
        pk=pk,
    )
    code_count = batch.coupons.count() if permissions.can(request.user, "coupons.manage") else 0
    return render(
        request,
        "coupons/batch_detail.html",
        {
            "approval_history": approval_selectors.history_for(batch, BATCH),
            "approval_empty_text": _("Not submitted for approval yet."),
            "batch": batch,
            "figures": batch_figures([batch.pk])[batch.pk],
            "max_subsidy": batch_rules.max_subsidy(batch),
            "reject_form": RejectForm(),
            "can_manage": permissions.can(request.user, "coupons.manage"),
            "can_approve": batch.status == Batch.Status.SUBMITTED and batch_rules.can_approve(request.user, batch),
            "progress": production.progress_for(batch),
            "code_count": code_count,
            "code_count_shown": f"{code_count:,}",
            "export_confirm": code_count > EXPORT_CONFIRM_OVER,
            "alerts": open_alerts().filter(batch=batch),
            "recent": batch.coupons.exclude(status="available").select_related("customer")[:20],
        },
    )


@login_required
@require_POST
def batch_action(request, pk, action):
    queryset = Batch.objects.select_related("campaign", "campaign__budget_account")
    batch = get_object_or_404(
        permissions.visible_or_reviewing(request.user, queryset)
        if action in ("approve", "reject")
        else batches_for(request.user),
        pk=pk,
    )
    try:
        if action == "submit":
            permissions.require(request.user, "coupons.manage")
            services.submit(actor=request.user, batch=batch)
            messages.success(request, _("Submitted for approval."))
        elif action == "approve":
            permissions.require(request.user, "coupons.approve")  # the role first, then the routing
            batch = services.approve(actor=request.user, batch=batch)
            messages.success(
                request,
                _("Approved.")
                if batch.status != Batch.Status.SUBMITTED
                else _("Approved; the next approver has been notified."),
            )
        elif action == "reject":
            permissions.require(request.user, "coupons.approve")
            services.reject(actor=request.user, batch=batch, reason=request.POST.get("reason", ""))
            messages.success(request, _("Rejected."))
        elif action in batch_rules.TRANSITIONS:
            permissions.require(request.user, "coupons.manage")
            services.change_status(actor=request.user, batch=batch, action=action)
            messages.success(
                request, _("Batch is now %(status)s.") % {"status": Batch.objects.get(pk=batch.pk).get_status_display()}
            )
        elif action == "produce":
            permissions.require(request.user, "coupons.manage")
            if production.request(batch=batch):
                messages.info(request, _("Producing codes; the progress shows below."))
            else:
                messages.error(request, _("The background queue is unavailable; try again in a minute."))
        else:
            raise PermissionDenied
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect(batch)


@login_required
def batch_progress(request, pk):
    permissions.require(request.user, "coupons.view")
    batch = get_object_or_404(batches_for(request.user), pk=pk)
    return render(request, "coupons/_progress.html", {"batch": batch, "progress": production.progress_for(batch)})


#: more codes than this and the export asks first (a large file takes a while)
EXPORT_CONFIRM_OVER = 10_000


@login_required
def batch_codes_export(request, pk):
    """The batch's codes as CSV or XLSX (for printing or handing out): every produced or issued
    code with its state, and the customer who holds it when that customer is in the viewer's
    scope; logged in the personal-data access log, naming each exported customer."""
    permissions.require(request.user, "coupons.manage")
    batch = get_object_or_404(batches_for(request.user), pk=pk)
    fmt = request.GET.get("format") or "csv"
    if fmt not in ("csv", "xlsx"):
        raise Http404
    rows, customer_ids = export_codes.rows_for(request.user, batch)
    privacy.log_access(
        action=privacy.Action.EXPORT,
        subject=privacy.Subject.CUSTOMER,
        queryset=customer_ids,
        request=request,
        detail=f"coupon batch {batch.code}",
    )
    return export_rows(rows, fmt=fmt, filename=f"coupons-{batch.code}")


@login_required
@require_http_methods(["GET", "POST"])
def claim_for_customer(request, customer_pk):
    """A rep claims a coupon on the customer's behalf (channel "sales")."""
    permissions.require(request.user, "customers.change")
    customer = get_object_or_404(customers_for(request.user), pk=customer_pk)
    form = ClaimForCustomerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            coupon = services.claim(batch_code=form.cleaned_data["batch"].code, customer=customer, channel="sales")
        except DomainError as exc:
            add_domain_error(form, exc, "batch")
        else:
            messages.success(
                request,
                _("Coupon %(code)s (¥%(amount)s) is now in %(name)s's account.")
                % {"code": coupon.code, "amount": coupon.amount, "name": customer.name},
            )
            return redirect(customer)
    return render(
        request,
        "crm/admin/form.html",
        {
            "form": form,
            "title": _("Give %(name)s a coupon") % {"name": customer.name},
            "cancel_url": customer.get_absolute_url(),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def compensation_form(request, customer_pk):
    permissions.require(request.user, "coupons.compensate")
    customer = get_object_or_404(customers_for(request.user), pk=customer_pk)
    form = CompensationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        order = customer.orders.filter(pk=data["order"]).first() if data.get("order") else None
        if data.get("order") and order is None:
            form.add_error("order", _("This customer has no order with this id."))
        else:
            try:
                result = compensation_rules.request_compensation(
                    actor=request.user,
                    customer=customer,
                    amount=data["amount"],
                    reason=data["reason"],
                    order=order,
                    complaint=data["complaint"],
                )
            except (ValidationError, DomainError) as exc:
                form.add_error(None, getattr(exc, "messages", None) or str(exc))
            else:
                if result.status == Compensation.Status.REVIEW:
                    messages.warning(request, _("The compensation needs a manager's review."))
                else:
                    messages.success(request, _("Compensation coupon issued to %(name)s.") % {"name": customer.name})
                return redirect(customer)
    return render(
        request,
        "crm/admin/form.html",
        {
            "form": form,
            "title": _("Compensate %(name)s") % {"name": customer.name},
            "cancel_url": customer.get_absolute_url(),
        },
    )


@login_required
def compensation_list(request):
    """Compensation requests in scope (and those the user reviews); the review is decided by the
    approver the request was routed to, a rejection with a comment."""
    permissions.require(request.user, "coupons.view")
    items = list(
        permissions.visible_or_reviewing(request.user, Compensation.objects.select_related("customer", "requested_by"))[
            :100
        ]
    )
    waiting = {
        step.request.object_id
        for step in approval_selectors.inbox_for(request.user).filter(
            request__kind=COMPENSATION, request__object_id__in=[c.pk for c in items]
        )
    }
    for item in items:
        item.may_decide = item.pk in waiting
    return render(request, "coupons/compensations.html", {"items": items})


@login_required
@require_POST
def compensation_decide(request, pk):
    permissions.require(request.user, "coupons.approve")
    item = get_object_or_404(permissions.visible_or_reviewing(request.user, Compensation.objects.all()), pk=pk)
    try:
        compensation_rules.decide(
            actor=request.user,
            compensation=item,
            approve=request.POST.get("approve") == "1",
            comment=request.POST.get("comment", ""),
        )
    except (ValidationError, DomainError) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
    return redirect("coupons:compensations")


urlpatterns = [
    path("", campaign_list, name="campaigns"),
    path("campaigns/new/", campaign_form, name="campaign_create"),
    path("campaigns/<int:pk>/", campaign_detail, name="campaign"),
    path("campaigns/<int:campaign_pk>/batches/new/", batch_form, name="batch_create"),
    path("batches/<int:pk>/", batch_detail, name="batch"),
    path("batches/<int:pk>/edit/", batch_form, name="batch_edit"),
    path("batches/<int:pk>/progress/", batch_progress, name="batch_progress"),
    path("batches/<int:pk>/codes/export/", batch_codes_export, name="batch_codes_export"),
    path("batches/<int:pk>/<slug:action>/", batch_action, name="batch_action"),
    path("customers/<int:customer_pk>/claim/", claim_for_customer, name="claim_for_customer"),
    path("customers/<int:customer_pk>/compensate/", compensation_form, name="compensate"),
    path("compensations/", compensation_list, name="compensations"),
    path("compensations/<int:pk>/decide/", compensation_decide, name="compensation_decide"),
]
