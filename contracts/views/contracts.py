"""Contracts (合同): the list, signing one from a won opportunity, one contract with its payment
plan, payments, invoices and attachments."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Sum
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from crm import permissions
from crm.errors import DomainError
from crm.ui import ScopedListView, add_domain_error, history_for

from .. import selectors
from ..filters import ContractFilter
from ..forms import (
    AttachmentForm,
    ContractForm,
    DunningLevelFormSet,
    InstalmentFormSet,
    InvoiceForm,
    LineFormSet,
    PaymentForm,
)
from ..models import ZERO, Contract, ContractAttachment
from ..services import contracts as contract_services
from ..services import dunning, payments
from ..tables import ContractTable


class ContractListView(ScopedListView):
    model = Contract
    table_class = ContractTable
    filterset_class = ContractFilter
    view_action = "contracts.view"
    export_action = "contracts.export"
    export_name = "contracts"
    title = gettext_lazy("Contracts")
    empty_text = gettext_lazy("No contracts yet. A won opportunity becomes one from its page.")
    card_fields = ("number", "customer", "amount", "status")

    def get_queryset(self):
        return selectors.contracts_for(self.request.user)


def _contract(request, pk):
    found = selectors.contracts_for(request.user).filter(pk=pk).first()
    if found is None:
        raise Http404
    return found


@login_required
def contract_new(request: HttpRequest) -> HttpResponse:
    """Sign a contract from a won opportunity (``?opportunity=ID``)."""
    permissions.require(request.user, "contracts.change")
    choices = selectors.won_opportunities_without_contract(request.user)
    opportunity = None
    if request.GET.get("opportunity", "").isdigit():
        opportunity = choices.filter(pk=int(request.GET["opportunity"])).first()
    if opportunity is None:
        return render(
            request,
            "contracts/pick_opportunity.html",
            {"opportunities": choices.order_by("-closed_at", "-id")[:50]},
        )
    today = timezone.localdate()
    initial = {
        "title": opportunity.name,
        "amount": opportunity.amount,
        "signed_on": today,
        "starts_on": today,
        "ends_on": today.replace(year=today.year + 1),
        "number": f"HT{today:%Y%m%d}-{opportunity.pk}",
    }
    form = ContractForm(request.POST or None, initial=initial)
    lines = LineFormSet(request.POST or None, prefix="lines")
    plan = InstalmentFormSet(request.POST or None, prefix="plan")
    if request.method == "POST" and form.is_valid() and lines.is_valid() and plan.is_valid():
        line_rows = [
            (f.cleaned_data["sku"], f.cleaned_data.get("quantity") or 1, f.cleaned_data["unit_price"])
            for f in lines
            if f.cleaned_data.get("sku")
        ]
        instalments = [
            (f.cleaned_data["due_on"], f.cleaned_data["amount"])
            for f in plan
            if f.cleaned_data.get("due_on") and f.cleaned_data.get("amount")
        ]
        try:
            contract = contract_services.create_contract(
                opportunity=opportunity,
                lines=line_rows,
                instalments=instalments,
                actor=request.user,
                **{k: form.cleaned_data[k] for k in ("number", "title", "amount", "signed_on", "starts_on", "ends_on")},
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            if contract.status == Contract.Status.PENDING:
                messages.info(request, _("The contract waits for approval."))
            else:
                messages.success(request, _("Contract %(number)s signed.") % {"number": contract.number})
            return redirect(contract)
    return render(
        request,
        "contracts/contract_form.html",
        {"form": form, "lines": lines, "plan": plan, "opportunity": opportunity},
        status=400 if request.method == "POST" else 200,
    )


def _render(request, contract, *, payment_form=None, invoice_form=None, attachment_form=None, status=200):
    can_change = permissions.can(request.user, "contracts.change")
    return render(
        request,
        "contracts/contract_detail.html",
        {
            "contract": contract,
            "lines": contract.lines.select_related("sku"),
            "instalments": contract.instalments.all(),
            "payments": contract.payments.select_related("recorded_by").prefetch_related("matches__instalment"),
            "invoices": contract.invoices.select_related("instalment"),
            "attachments": contract.attachments.all(),
            "can_change": can_change,
            "payment_form": payment_form or PaymentForm(contract=contract),
            "invoice_form": invoice_form or InvoiceForm(contract=contract),
            "credit": contract.payments.aggregate(total=Sum("unmatched", default=ZERO))["total"],
            "attachment_form": attachment_form or AttachmentForm(),
            "history": history_for(contract, limit=10),
            "today": timezone.localdate(),
        },
        status=status,
    )


@login_required
def contract_detail(request: HttpRequest, pk) -> HttpResponse:
    permissions.require(request.user, "contracts.view")
    return _render(request, _contract(request, pk))


@login_required
@require_POST
def payment_add(request: HttpRequest, pk) -> HttpResponse:
    permissions.require(request.user, "contracts.change")
    contract = _contract(request, pk)
    form = PaymentForm(request.POST, contract=contract)
    if form.is_valid():
        try:
            payments.record_payment(
                contract=contract,
                amount=form.cleaned_data["amount"],
                received_on=form.cleaned_data["received_on"],
                reference=form.cleaned_data["reference"],
                instalment_ids=[i.pk for i in form.cleaned_data["instalments"]],
                confirm_over=form.cleaned_data["confirm_over"],
                invoice=form.cleaned_data["invoice"],
                prepayment=form.cleaned_data["prepayment"],
                actor=request.user,
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Payment recorded."))
            return redirect(contract)
    contract.refresh_from_db()
    return _render(request, contract, payment_form=form, status=400)


@login_required
@require_POST
def invoice_add(request: HttpRequest, pk) -> HttpResponse:
    permissions.require(request.user, "contracts.change")
    contract = _contract(request, pk)
    form = InvoiceForm(request.POST, contract=contract)
    if form.is_valid():
        try:
            contract_services.add_invoice(contract=contract, actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Invoice recorded."))
            return redirect(contract)
    return _render(request, contract, invoice_form=form, status=400)


@login_required
@require_POST
def attachment_add(request: HttpRequest, pk) -> HttpResponse:
    permissions.require(request.user, "contracts.change")
    contract = _contract(request, pk)
    form = AttachmentForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            contract_services.add_attachment(contract=contract, upload=form.cleaned_data["file"], actor=request.user)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("File attached."))
            return redirect(contract)
    return _render(request, contract, attachment_form=form, status=400)


@login_required
@require_POST
def credit_apply(request: HttpRequest, pk) -> HttpResponse:
    """Offset the contract's prepayments and credits against its open instalments, oldest due first."""
    permissions.require(request.user, "contracts.change")
    contract = _contract(request, pk)
    try:
        applied = payments.apply_credit(contract=contract, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, _("%(amount)s of credit offset against the instalments.") % {"amount": f"{applied:,.2f}"}
        )
    return redirect(contract)


@login_required
@require_http_methods(["GET", "POST"])
def instalment_dunning(request: HttpRequest, pk) -> HttpResponse:
    """催款级别 of one instalment: when, on which channel and to whom its reminders go."""
    permissions.require(request.user, "contracts.change")
    instalment = selectors.instalments_for(request.user).filter(pk=pk).first()
    if instalment is None:
        raise Http404
    own = list(instalment.dunning_levels.order_by("offset_days"))
    initial = [
        {"offset_days": lv.offset_days, "channel": lv.channel, "responsible": lv.responsible, "user": lv.user_id}
        for lv in own
    ] or [
        {"offset_days": lv.offset_days, "channel": lv.channel, "responsible": lv.responsible, "user": lv.user_id}
        for lv in dunning.default_levels()
    ]
    formset = DunningLevelFormSet(request.POST or None, initial=initial + [{}] * 2, prefix="levels")
    if request.method == "POST" and formset.is_valid():
        levels = []
        for form in formset:
            data = form.cleaned_data
            if data.get("offset_days") is None:
                continue
            levels.append(
                dunning.Level(
                    data["offset_days"],
                    data.get("channel") or "preference",
                    data.get("responsible") or "owner",
                    data["user"].pk if data.get("user") and data.get("responsible") == "user" else None,
                )
            )
        try:
            dunning.set_levels(instalment=instalment, levels=levels, actor=request.user)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Dunning levels saved."))
            return redirect(instalment.contract)
    return render(
        request,
        "contracts/instalment_dunning.html",
        {"instalment": instalment, "formset": formset, "own": bool(own)},
        status=400 if request.method == "POST" else 200,
    )


@login_required
def attachment_download(request: HttpRequest, pk) -> HttpResponse:
    permissions.require(request.user, "contracts.view")
    attachment = ContractAttachment.objects.filter(pk=pk, contract__in=selectors.contracts_for(request.user)).first()
    if attachment is None:
        raise Http404
    return FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.name,
        content_type=attachment.content_type,
    )


urlpatterns = [
    path("", ContractListView.as_view(), name="contracts"),
    path("new/", contract_new, name="contract_new"),
    path("<int:pk>/", contract_detail, name="contract"),
    path("<int:pk>/payments/", payment_add, name="payment_add"),
    path("<int:pk>/invoices/", invoice_add, name="invoice_add"),
    path("<int:pk>/attachments/", attachment_add, name="attachment_add"),
    path("<int:pk>/credit/", credit_apply, name="credit_apply"),
    path("instalments/<int:pk>/dunning/", instalment_dunning, name="instalment_dunning"),
    path("attachments/<int:pk>/", attachment_download, name="attachment"),
]
