from django import forms
from django.utils.translation import gettext_lazy as _

from crm.models import Department
from crm.ui import StyledFormMixin

from .models import Batch, BudgetAccount, Campaign, FiscalPeriod


class PeriodForm(StyledFormMixin, forms.ModelForm):
    class Meta:
        model = FiscalPeriod
        fields = ["name", "kind", "start", "end"]
        widgets = {"start": forms.DateInput(), "end": forms.DateInput()}


class AccountForm(StyledFormMixin, forms.ModelForm):
    class Meta:
        model = BudgetAccount
        fields = ["period", "department", "owner", "target_gmv", "low_balance_alert"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = Department.objects.filter(kind__in=["region", "department", "team"])


class AllocateForm(StyledFormMixin, forms.Form):
    amount = forms.DecimalField(label=_("Amount (negative to take back)"), max_digits=14, decimal_places=2)
    note = forms.CharField(label=_("note"), max_length=200, required=False)


class CampaignForm(StyledFormMixin, forms.ModelForm):
    class Meta:
        model = Campaign
        fields = ["name", "budget_account", "goal", "target_gmv", "start", "end"]
        widgets = {"start": forms.DateInput(), "end": forms.DateInput()}


class BatchForm(StyledFormMixin, forms.ModelForm):
    class Meta:
        model = Batch
        fields = [
            "code", "name", "discount_type", "amount", "threshold", "percent", "cap", "scope", "scope_values",
            "channels", "audience", "audience_tag", "quantity", "per_customer_limit", "per_day_limit",
            "claim_start", "claim_end", "use_days", "use_start", "use_end", "fixed_promotion",
            "stacks_with_promotions", "budget_mode", "production", "platform_share", "merchant_share", "agent_share",
            "expected_cost_ratio", "decay_factor", "decay_floor", "new_customer_bonus", "low_stock_alert",
        ]
        widgets = {name: forms.DateTimeInput(format="%Y-%m-%dT%H:%M")
                   for name in ("claim_start", "claim_end", "use_start", "use_end")}


class RejectForm(StyledFormMixin, forms.Form):
    reason = forms.CharField(label=_("Why is it rejected?"), widget=forms.Textarea(attrs={"rows": 2}))


class ClaimForCustomerForm(StyledFormMixin, forms.Form):
    batch = forms.ModelChoiceField(queryset=Batch.objects.none(), label=_("Coupon batch"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["batch"].queryset = Batch.objects.filter(status=Batch.Status.ACTIVE).select_related("campaign")


class CompensationForm(StyledFormMixin, forms.Form):
    amount = forms.DecimalField(label=_("amount"), max_digits=10, decimal_places=2, min_value=0)
    reason = forms.CharField(label=_("reason"), widget=forms.Textarea(attrs={"rows": 2}))
    complaint = forms.CharField(label=_("complaint"), max_length=200, required=False)
    order = forms.IntegerField(label=_("order id (optional)"), required=False)
