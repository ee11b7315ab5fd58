from django import forms
from django.utils.translation import gettext_lazy as _

from crm import permissions
from crm.ui import StyledFormMixin
from customers.region_field import RegionField
from customers.services.sources import source_choices

from ..models import (
    TRANSITIONS,
    CommissionRule,
    LeadDistributionRule,
    LeadHandover,
    Partner,
    PartnerContact,
    PartnerFollowUp,
    PartnerGrade,
    PartnerStatus,
    RebatePlan,
    RebateTier,
)


class PartnerForm(StyledFormMixin, forms.ModelForm):
    region = RegionField(label=_("region"), required=False, help_text=_("Province, city or district."))

    class Meta:
        model = Partner
        fields = ["name", "kind", "region", "address", "owner", "department", "contract_start", "contract_end", "notes"]
        widgets = {
            "contract_start": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "contract_end": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = permissions.assignable_users(user).order_by("username")
        self.fields["department"].queryset = permissions.departments_for(user).order_by("path")
        if not self.instance.pk:
            self.initial.setdefault("owner", user.pk)
            self.initial.setdefault("department", user.department_id)


class ContactForm(StyledFormMixin, forms.ModelForm):
    class Meta:
        model = PartnerContact
        fields = ["name", "title", "mobile", "email", "is_primary"]


class FollowUpForm(StyledFormMixin, forms.ModelForm):
    next_at = forms.DateTimeField(
        label=_("next follow-up"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )

    class Meta:
        model = PartnerFollowUp
        fields = ["kind", "content", "next_at"]
        widgets = {"content": forms.Textarea(attrs={"rows": 3})}


class MoveForm(StyledFormMixin, forms.Form):
    status = forms.ChoiceField(label=_("move to"), choices=PartnerStatus.choices)
    note = forms.CharField(label=_("note"), max_length=200, required=False)

    def __init__(self, *args, partner=None, **kwargs):
        super().__init__(*args, **kwargs)
        if partner is not None and not self.is_bound:
            nexts = TRANSITIONS.get(partner.status, ())
            self.fields["status"].choices = [(s, PartnerStatus(s).label) for s in nexts]


class GradeForm(StyledFormMixin, forms.Form):
    grade = forms.ChoiceField(label=_("grade"), choices=PartnerGrade.choices)


class CommissionRuleForm(StyledFormMixin, forms.ModelForm):
    class Meta:
        model = CommissionRule
        fields = [
            "name",
            "sku",
            "category",
            "partner_kind",
            "grade",
            "customer_kind",
            "mode",
            "rate",
            "amount",
            "cap",
            "priority",
            "is_active",
        ]

    def clean(self):
        data = super().clean()
        if data.get("sku") and data.get("category"):
            self.add_error("category", _("Choose a SKU or a category, not both."))
        if data.get("mode") == "percent" and not data.get("rate"):
            self.add_error("rate", _("Enter the rate."))
        if data.get("mode") == "fixed" and not data.get("amount"):
            self.add_error("amount", _("Enter the sum per order."))
        return data


class AttributeForm(StyledFormMixin, forms.Form):
    order = forms.IntegerField(label=_("order number"), min_value=1)
    note = forms.CharField(label=_("reason"), max_length=200)


class AdjustmentForm(StyledFormMixin, forms.Form):
    amount = forms.DecimalField(label=_("amount"), max_digits=14, decimal_places=2, help_text=_("Negative to deduct."))
    note = forms.CharField(label=_("reason"), max_length=200)


class GenerateForm(StyledFormMixin, forms.Form):
    month = forms.DateField(
        label=_("month"),
        widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"),
        input_formats=["%Y-%m", "%Y-%m-%d"],
    )


class RebatePlanForm(StyledFormMixin, forms.ModelForm):
    class Meta:
        model = RebatePlan
        fields = ["name", "period", "mode", "partner_kind", "is_active"]


def tier_formset():

    return forms.inlineformset_factory(
        RebatePlan,
        RebateTier,
        fields=["threshold", "rate"],
        extra=3,
        can_delete=True,
        form=type("TierForm", (StyledFormMixin, forms.ModelForm), {}),
    )


class RegistrationForm(StyledFormMixin, forms.Form):
    """报备 in the portal: the prospect's name and mobile."""

    name = forms.CharField(label=_("Person"), max_length=100)
    mobile = forms.CharField(label=_("mobile"), max_length=11)


class PortalUserForm(StyledFormMixin, forms.Form):
    """A sign-in for the partner's portal."""

    username = forms.CharField(label=_("user name"), max_length=150)
    name = forms.CharField(label=_("name"), max_length=150)
    password = forms.CharField(label=_("password"), min_length=8, widget=forms.PasswordInput(render_value=False))


class StoreForm(StyledFormMixin, forms.Form):
    """Put an organization customer under this dealer as a store."""

    customer = forms.IntegerField(label=_("customer id"), min_value=1)


class DistributionRuleForm(StyledFormMixin, forms.ModelForm):
    """The admin's lead distribution rule (线索分配规则)."""

    region = RegionField(label=_("region"), required=False, help_text=_("Empty: leads from every region."))

    class Meta:
        model = LeadDistributionRule
        fields = ["is_active", "source", "region", "weight_a", "weight_b", "weight_c", "weight_d", "daily_cap"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["source"] = forms.ChoiceField(
            choices=lambda: [("", _("Any source")), *source_choices()],
            required=False,
            label=LeadDistributionRule._meta.get_field("source").verbose_name,
            widget=forms.Select(attrs={"class": "form-select"}),  # the mixin styled the field this replaces
        )


class OutcomeForm(StyledFormMixin, forms.Form):
    outcome = forms.ChoiceField(
        label=_("outcome"),
        choices=[(c, label) for c, label in LeadHandover.Outcome.choices if c != LeadHandover.Outcome.PENDING],
    )
