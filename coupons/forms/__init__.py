from django import forms
from django.utils.translation import gettext_lazy as _

from crm.models import Department
from crm.ui import StyledFormMixin
from customers import registry

from ..models import Batch, BudgetAccount, Campaign, FiscalPeriod, SubsidyPlan, SubsidyPlanVersion
from ..services import subsidy
from ..services.subsidy_plans import error_messages


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


class CatalogueScopeField(forms.MultipleChoiceField):
    """The categories or SKUs a batch's scope names, picked from the catalogue and stored as the
    comma-separated text ``Batch.scope_values`` has always held."""

    def prepare_value(self, value):
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    def clean(self, value):
        return ",".join(super().clean(value))


def catalogue_scope_field(current: str, label, help_text) -> forms.Field | None:
    """A multiple select of the catalogue's categories and SKUs (``customers.registry``, filled by
    the catalogue), keeping the values a batch already names that the catalogue does not know (a
    scope written as text before the catalogue); ``None`` when the catalogue offers nothing."""
    categories = registry.catalogue_choices("categories")
    skus = registry.catalogue_choices("skus")
    if not categories and not skus:
        return None
    known = {value for value, _label in categories} | {value for value, _label in skus}
    kept = [(value, value) for value in CatalogueScopeField().prepare_value(current or "") if value not in known]
    choices = [(_("Categories"), categories), (_("Products (SKUs)"), skus)]
    if kept:
        choices.append((_("Not in the catalogue"), kept))
    field = CatalogueScopeField(
        label=label,
        choices=choices,
        required=False,
        help_text=help_text,
        widget=forms.SelectMultiple(attrs={"size": 8, "class": "form-select"}),
    )
    kept_values = {value for value, _label in kept}
    field.allowed = {
        Batch.Scope.CATEGORIES: {value for value, _label in categories} | kept_values,
        Batch.Scope.SKUS: {value for value, _label in skus} | kept_values,
    }
    return field


class BatchForm(StyledFormMixin, forms.ModelForm):
    class Meta:
        model = Batch
        fields = [
            "code",
            "name",
            "discount_type",
            "amount",
            "threshold",
            "percent",
            "cap",
            "scope",
            "scope_values",
            "channels",
            "audience",
            "audience_tag",
            "audience_segment",
            "quantity",
            "per_customer_limit",
            "per_day_limit",
            "claim_start",
            "claim_end",
            "use_days",
            "use_start",
            "use_end",
            "fixed_promotion",
            "stacks_with_promotions",
            "budget_mode",
            "production",
            "platform_share",
            "merchant_share",
            "agent_share",
            "expected_cost_ratio",
            "decay_factor",
            "decay_floor",
            "new_customer_bonus",
            "low_stock_alert",
            "subsidy_version",
        ]
        widgets = {
            name: forms.DateTimeInput(format="%Y-%m-%dT%H:%M")
            for name in ("claim_start", "claim_end", "use_start", "use_end")
        }

    def __init__(self, *args, versions=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["subsidy_version"].queryset = (
            versions if versions is not None else SubsidyPlanVersion.objects.none()
        ).select_related("plan")
        picker = catalogue_scope_field(
            self.initial.get("scope_values", ""),
            self.fields["scope_values"].label,
            _("Pick the categories or the SKUs the coupons apply to (Ctrl or ⌘ to pick several)."),
        )
        if picker is not None:
            self.fields["scope_values"] = picker
        # a segment (marketing, an app above this one) of customers
        segment = Batch._meta.get_field("audience_segment").related_model
        self.fields["audience_segment"].queryset = segment.objects.filter(subject=segment.Subject.CUSTOMERS)

    def clean(self):
        data = super().clean()
        allowed = getattr(self.fields["scope_values"], "allowed", {}).get(data.get("scope"))
        picked = CatalogueScopeField().prepare_value(data.get("scope_values") or "")
        if allowed is not None and any(value not in allowed for value in picked):
            self.add_error(
                "scope_values",
                _("Pick categories for a scope of categories, and SKUs for a scope of SKUs."),
            )
        return data


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


MAX_PLAN_ROWS = 20_000
MAX_PLAN_BYTES = 5 * 1024 * 1024
PLAN_SALT = "coupons.subsidy-plan-input"


class SubsidyPlanForm(StyledFormMixin, forms.Form):
    """Upload (or keep the previous upload of) a file of merchants or products, with the formula's
    parameters. ``cleaned_data`` then holds ``columns``, ``rows``, ``weights`` and ``result``."""

    name = forms.CharField(label=_("plan name"), max_length=100, required=False)
    subject = forms.ChoiceField(
        label=_("rows are"), choices=SubsidyPlan.Subject.choices, initial=SubsidyPlan.Subject.PRODUCTS, required=False
    )
    file = forms.FileField(
        label=_("file (CSV or XLSX)"),
        required=False,
        help_text=_(
            "An 'id' column and one column per metric, e.g. conversion, repurchase, "
            "aov. Leave empty to keep the file already loaded."
        ),
    )
    a = forms.DecimalField(label=_("lowest subsidy a (¥)"), max_digits=10, decimal_places=2, min_value=0)
    b = forms.DecimalField(label=_("highest subsidy b (¥)"), max_digits=10, decimal_places=2, min_value=0)
    t = forms.FloatField(
        label=_("shape factor t"), initial=1.0, help_text=_("The larger t, the fewer head rows get a high subsidy.")
    )
    weights = forms.CharField(
        label=_("metric weights"),
        max_length=500,
        help_text=_("column=weight, separated by commas; they should add up to 1."),
    )
    rank = forms.BooleanField(label=_("score metrics by rank instead of min-max"), required=False)
    budget = forms.DecimalField(
        label=_("budget to fit (¥)"), max_digits=14, decimal_places=2, min_value=0, required=False
    )
    note = forms.CharField(label=_("note"), max_length=200, required=False)
    data = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, plan=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.plan = plan
        if plan is not None:
            del self.fields["name"]
            del self.fields["subject"]

    @staticmethod
    def pack(columns, rows, source_name):
        from django.core import signing

        return signing.dumps({"columns": columns, "rows": rows, "source": source_name}, salt=PLAN_SALT, compress=True)

    def _load(self):
        from django.core import signing

        upload = self.cleaned_data.get("file")
        if upload:
            if upload.size > MAX_PLAN_BYTES:
                raise forms.ValidationError({"file": _("The file is larger than 5 MB.")})
            try:
                columns, rows = subsidy.read_upload(upload.name, upload.read())
            except subsidy.PlanError as exc:
                raise forms.ValidationError({"file": str(exc)}) from exc
            source = upload.name
        elif self.cleaned_data.get("data"):
            try:
                payload = signing.loads(self.cleaned_data["data"], salt=PLAN_SALT)
            except signing.BadSignature as exc:
                raise forms.ValidationError({"file": _("Upload the file again.")}) from exc
            columns, rows, source = payload["columns"], payload["rows"], payload["source"]
        else:
            raise forms.ValidationError({"file": _("Choose a CSV or XLSX file.")})
        if len(rows) > MAX_PLAN_ROWS:
            raise forms.ValidationError({"file": _("At most %(n)d rows.") % {"n": MAX_PLAN_ROWS}})
        if not rows:
            raise forms.ValidationError({"file": _("The file has no rows.")})
        return columns, rows, source

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        if self.plan is None and not (data.get("name") or "").strip():
            self.add_error("name", _("Name the plan."))
        if data["b"] < data["a"]:
            self.add_error("b", _("b must not be below a."))
        if data["t"] <= 0:
            self.add_error("t", _("t must be positive."))
        try:
            weights = subsidy.parse_weights(data["weights"])
        except subsidy.PlanError as exc:
            self.add_error("weights", str(exc))
            weights = None
        try:
            columns, rows, source = self._load()
        except forms.ValidationError as exc:
            self.add_error(None, exc)
            return data
        data.update(columns=columns, rows=rows, source=source, packed=self.pack(columns, rows, source))
        if self.errors or weights is None:
            return data
        missing = [c for c in weights if c not in columns]
        if missing:
            self.add_error(
                "weights",
                _("Not a column of the file: %(columns)s (columns: %(all)s).")
                % {"columns": ", ".join(missing), "all": ", ".join(c for c in columns if c != "id")},
            )
            return data
        result = subsidy.compute(rows, a=data["a"], b=data["b"], t=data["t"], weights=weights, rank=data["rank"])
        for message in error_messages(result):
            self.add_error("file", message)
        data.update(weights=weights, result=result)
        return data


class UsePlanForm(StyledFormMixin, forms.Form):
    campaign = forms.ModelChoiceField(label=_("campaign"), queryset=Campaign.objects.none())
    row = forms.ChoiceField(label=_("row (merchant or product)"), required=False)
