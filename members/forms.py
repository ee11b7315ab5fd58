"""The membership settings forms: a tier, an earning rule, a points offer. Each validates its
fields; the rules that need the database (unique names, one rule per source) are the services'."""

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from catalog.models import Sku
from coupons.models import Batch
from crm import permissions
from crm.ui import StyledFormMixin

from .models import EarnRule, Tier


class TierForm(StyledFormMixin, forms.Form):
    name = forms.CharField(label=_("name"), max_length=30)
    position = forms.IntegerField(
        label=_("position"), min_value=0, max_value=1000, initial=0, help_text=_("Lower first; the higher, the better.")
    )
    min_spend = forms.DecimalField(
        label=_("12-month spend from"), max_digits=12, decimal_places=2, min_value=0, initial=0
    )
    min_points = forms.IntegerField(
        label=_("points from"),
        min_value=0,
        max_value=2**31 - 1,
        required=False,
        help_text=_("Empty: reached by spend only."),
    )
    points_per_yuan = forms.DecimalField(
        label=_("points per yuan"), max_digits=6, decimal_places=2, min_value=0, initial=1
    )
    benefit_sku = forms.ModelChoiceField(label=_("free service"), queryset=Sku.objects.none(), required=False)
    benefit_quantity = forms.IntegerField(label=_("free units"), min_value=0, max_value=1000, initial=0)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["benefit_sku"].queryset = Sku.objects.select_related("product").order_by("code")


class EarnRuleForm(StyledFormMixin, forms.Form):
    source = forms.ChoiceField(label=_("earned on"), choices=EarnRule.Source.choices)
    category = forms.CharField(
        label=_("category"), max_length=64, required=False, help_text=_("Orders only. Empty: every other category.")
    )
    tier = forms.ModelChoiceField(
        label=_("tier"), queryset=Tier.objects.none(), required=False, empty_label=_("Any tier")
    )
    points_per_yuan = forms.DecimalField(
        label=_("points per yuan"),
        max_digits=6,
        decimal_places=2,
        min_value=0,
        required=False,
        help_text=_("Orders only."),
    )
    points = forms.IntegerField(
        label=_("points each time"),
        min_value=0,
        max_value=100_000,
        required=False,
        help_text=_("Lessons attended and check-ins only; 0: none."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tier"].queryset = Tier.objects.order_by("position", "id")

    def clean(self):
        data = super().clean()
        source = data.get("source")
        if source == EarnRule.Source.ORDER and data.get("points_per_yuan") is None:
            self.add_error("points_per_yuan", _("Give the points per yuan of an order."))
        if source and source != EarnRule.Source.ORDER and data.get("points") is None:
            self.add_error("points", _("Give the points earned each time."))
        return data


class OfferForm(StyledFormMixin, forms.Form):
    batch = forms.ModelChoiceField(label=_("coupon batch"), queryset=Batch.objects.none())
    points = forms.IntegerField(label=pgettext_lazy("loyalty", "points"), min_value=1, max_value=10_000_000)
    is_active = forms.BooleanField(label=_("active"), required=False, initial=True)

    #: the batches an offer may hand out: approved and not ended
    STATUSES = (Batch.Status.APPROVED, Batch.Status.ACTIVE, Batch.Status.PAUSED)

    def __init__(self, *args, user=None, current=None, **kwargs):
        super().__init__(*args, **kwargs)
        offered = Q(status__in=self.STATUSES) | Q(pk=current) if current is not None else Q(status__in=self.STATUSES)
        self.fields["batch"].queryset = permissions.visible(user, Batch.objects.filter(offered)).order_by(
            "-claim_start", "code"
        )
        self.fields["batch"].label_from_instance = lambda b: f"{b.name} ({b.code})"
