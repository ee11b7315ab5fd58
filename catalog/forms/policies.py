from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.ui import StyledFormMixin
from customers.models import Order

from ..models import Category, SalesPolicy, Sku
from ..services.pricing import member_tier_choices


class PolicyForm(StyledFormMixin, forms.ModelForm):
    class Meta:
        model = SalesPolicy
        fields = [
            "name",
            "kind",
            "percent_off",
            "amount_off",
            "sku",
            "category",
            "channel",
            "region",
            "value_segment",
            "grid_class",
            "lifecycle_stage",
            "member_tier",
            "valid_from",
            "valid_until",
            "priority",
            "is_active",
        ]
        widgets = {"valid_from": forms.DateInput(), "valid_until": forms.DateInput()}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sku"].queryset = Sku.objects.order_by("code")
        self.fields["category"].queryset = Category.objects.order_by("path")
        for name in ("sku", "category"):
            self.fields[name].empty_label = _("Everything")
        for name in ("channel", "value_segment", "grid_class", "lifecycle_stage"):
            self.fields[name].choices = [("", _("Any"))] + [c for c in self.fields[name].choices if c[0]]
        # the membership's tiers by name; a tier renamed since stays a choice of the policy holding it
        tiers = member_tier_choices()
        current = self.instance.member_tier
        if current and current not in {value for value, _label in tiers}:
            tiers.append((current, current))
        self.fields["member_tier"] = forms.ChoiceField(
            label=_("member tier"),
            required=False,
            choices=[("", _("Any"))] + tiers,
            help_text=_("A membership tier's price benefit: only members of this tier get it."),
        )
        self.fields["member_tier"].widget.attrs.update(self.fields["lifecycle_stage"].widget.attrs)


class PricesForm(StyledFormMixin, forms.Form):
    prices = forms.CharField(
        label=_("prices"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_("One SKU a line: the SKU code and the price, e.g. EDU-1V1-48 9800."),
    )


class PriceCheckForm(StyledFormMixin, forms.Form):
    sku = forms.ModelChoiceField(label=_("SKU"), queryset=Sku.objects.order_by("code"))
    customer = forms.IntegerField(label=_("customer id"), required=False, min_value=1)
    channel = forms.ChoiceField(
        label=_("channel"),
        required=False,
        choices=[("", _("Any"))] + list(Order.Channel.choices),
    )
    on = forms.DateField(
        label=pgettext_lazy("the day a price is asked for", "date"),
        required=False,
        initial=timezone.localdate,
        widget=forms.DateInput(),
    )
