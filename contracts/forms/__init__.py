import datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog.models import Sku
from crm.models import User
from crm.ui import StyledFormMixin

from ..models import Competitor, DunningLevel, Instalment, Invoice

MAX_INSTALMENTS = 12
MAX_LINES = 5


class ContractForm(StyledFormMixin, forms.Form):
    number = forms.CharField(label=_("contract number"), max_length=40)
    title = forms.CharField(label=_("title"), max_length=200, required=False)
    amount = forms.DecimalField(label=_("contract amount"), max_digits=14, decimal_places=2, min_value=0.01)
    signed_on = forms.DateField(label=_("signed on"), widget=forms.DateInput(format="%Y-%m-%d"))
    starts_on = forms.DateField(label=_("starts on"), widget=forms.DateInput(format="%Y-%m-%d"))
    ends_on = forms.DateField(label=_("ends on"), widget=forms.DateInput(format="%Y-%m-%d"))

    def clean(self):
        data = super().clean()
        if data.get("starts_on") and data.get("ends_on") and data["ends_on"] < data["starts_on"]:
            self.add_error("ends_on", _("The contract ends before it starts."))
        return data


class LineForm(StyledFormMixin, forms.Form):
    sku = forms.ModelChoiceField(label=_("SKU"), queryset=Sku.objects.order_by("code"), required=False)
    quantity = forms.IntegerField(label=_("quantity"), min_value=1, initial=1, required=False)
    unit_price = forms.DecimalField(label=_("unit price"), max_digits=12, decimal_places=2, min_value=0, required=False)

    def clean(self):
        data = super().clean()
        if data.get("sku") and data.get("unit_price") is None:
            data["unit_price"] = data["sku"].list_price
        return data


class InstalmentForm(StyledFormMixin, forms.Form):
    due_on = forms.DateField(label=_("due on"), widget=forms.DateInput(format="%Y-%m-%d"), required=False)
    amount = forms.DecimalField(label=_("amount"), max_digits=14, decimal_places=2, min_value=0.01, required=False)

    def clean(self):
        data = super().clean()
        if bool(data.get("due_on")) != bool(data.get("amount")):
            self.add_error(
                "amount" if data.get("due_on") else "due_on",
                _("Give each instalment both a due date and an amount."),
            )
        return data


LineFormSet = forms.formset_factory(LineForm, extra=3, max_num=MAX_LINES, validate_max=True)
InstalmentFormSet = forms.formset_factory(InstalmentForm, extra=3, max_num=MAX_INSTALMENTS, validate_max=True)


class PaymentForm(StyledFormMixin, forms.Form):
    amount = forms.DecimalField(label=_("amount"), max_digits=14, decimal_places=2, min_value=0.01)
    received_on = forms.DateField(label=_("received on"), widget=forms.DateInput(format="%Y-%m-%d"))
    reference = forms.CharField(label=_("reference"), max_length=100, required=False)
    instalments = forms.ModelMultipleChoiceField(
        label=_("instalments"),
        queryset=Instalment.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Empty: the oldest open instalments first."),
    )
    invoice = forms.ModelChoiceField(
        label=_("invoice"),
        queryset=Invoice.objects.none(),
        required=False,
        help_text=_("The invoice this payment pays: its instalment is offset first."),
    )
    prepayment = forms.BooleanField(
        label=_("Prepayment: keep it as a credit, offset later"),
        required=False,
    )
    confirm_over = forms.BooleanField(label=_("Record it even beyond the contract amount"), required=False)

    def __init__(self, *args, contract=None, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("received_on", timezone.localdate())
        super().__init__(*args, **kwargs)
        if contract is not None:
            self.fields["invoice"].queryset = contract.invoices.all()
            self.fields["invoice"].label_from_instance = lambda i: f"{i.number} {i.amount:,.2f}"
            self.fields["instalments"].queryset = contract.instalments.filter(settled_at__isnull=True)
            self.fields["instalments"].label_from_instance = lambda i: (
                f"#{i.sequence} {i.due_on:%Y-%m-%d} {i.outstanding:,.2f}"
            )


class InvoiceForm(StyledFormMixin, forms.Form):
    number = forms.CharField(label=_("invoice number"), max_length=60)
    amount = forms.DecimalField(label=_("amount"), max_digits=14, decimal_places=2, min_value=0.01)
    issued_on = forms.DateField(
        label=_("issued on"), widget=forms.DateInput(format="%Y-%m-%d"), initial=datetime.date.today
    )
    instalment = forms.ModelChoiceField(label=_("instalment"), queryset=Instalment.objects.none(), required=False)

    def __init__(self, *args, contract=None, **kwargs):
        super().__init__(*args, **kwargs)
        if contract is not None:
            self.fields["instalment"].queryset = contract.instalments.all()
            self.fields["instalment"].label_from_instance = lambda i: (
                f"#{i.sequence} {i.due_on:%Y-%m-%d} {i.amount:,.2f}"
            )


class DunningLevelForm(StyledFormMixin, forms.Form):
    """One level of an instalment's dunning plan (催款级别)."""

    offset_days = forms.IntegerField(
        label=_("days after due"),
        min_value=-90,
        max_value=365,
        required=False,
        help_text=_("Negative: days before the due date; 0: on the due date."),
    )
    channel = forms.ChoiceField(label=_("channel"), choices=DunningLevel.Channel.choices, required=False)
    responsible = forms.ChoiceField(label=_("responsible"), choices=DunningLevel.Responsible.choices, required=False)
    user = forms.ModelChoiceField(label=_("person"), queryset=User.objects.none(), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = User.objects.filter(is_active=True, is_service=False).order_by("username")

    def clean(self):
        data = super().clean()
        if data.get("offset_days") is not None and data.get("responsible") == "user" and not data.get("user"):
            self.add_error("user", _("Name the person."))
        return data


class BaseDunningLevelFormSet(forms.BaseFormSet):
    def clean(self):
        """Two levels with the same days and channel: the error beside the second one's days."""
        seen = set()
        for form in self.forms:
            data = getattr(form, "cleaned_data", None) or {}
            if data.get("offset_days") is None:
                continue
            key = (data["offset_days"], data.get("channel") or DunningLevel.Channel.PREFERENCE)
            if key in seen:
                form.add_error("offset_days", _("Another level has these days and this channel."))
            seen.add(key)


DunningLevelFormSet = forms.formset_factory(DunningLevelForm, formset=BaseDunningLevelFormSet, extra=0, max_num=8)


class DefaultDunningLevelForm(DunningLevelForm):
    """One level of the company's default dunning plan: its days are required."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["offset_days"].required = True
        self.fields["channel"].required = True
        self.fields["responsible"].required = True


class AttachmentForm(StyledFormMixin, forms.Form):
    file = forms.FileField(label=_("file"))


class CompetitorForm(StyledFormMixin, forms.Form):
    name = forms.CharField(label=_("name"), max_length=100)
    website = forms.CharField(label=_("website"), max_length=200, required=False)
    notes = forms.CharField(label=_("notes"), widget=forms.Textarea(attrs={"rows": 2}), required=False)


class QuoteForm(StyledFormMixin, forms.Form):
    competitor = forms.ModelChoiceField(label=_("competitor"), queryset=Competitor.objects.all())
    price = forms.DecimalField(label=_("quoted price"), max_digits=14, decimal_places=2, min_value=0, required=False)
    lost_to = forms.BooleanField(label=_("lost to this competitor"), required=False)
