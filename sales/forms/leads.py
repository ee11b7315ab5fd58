"""Forms of the lead pages, the public pool and the sales rules (input parsing only; the
services in sales/services/ do the writes and enforce the business rules)."""

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from crm import permissions
from crm.models import Department, User
from crm.phone import normalize_mobile
from crm.ui import StyledFormMixin
from customers import registry
from customers.forms.records import duplicate_contact
from customers.models import Tag
from customers.region_field import RegionField
from customers.services.sources import check_source, source_choices

from .. import metrics
from ..models import AssignmentRule, Grade, Lead, OpportunityStage, PoolRule, SalesSettings, ScoringRule
from ..services.leads import find_duplicate
from ..services.reminders import parse_offsets


class DepartmentChoiceField(forms.ModelChoiceField):
    """Departments indented by their depth in the tree."""

    def label_from_instance(self, obj):
        return "— " * obj.depth + obj.name


class LeadForm(StyledFormMixin, forms.ModelForm):
    """Create (through ``capture_lead``) or edit (through ``update_lead``) a lead.

    Cleaning: the mobile is normalized; a mobile that an open lead or a customer already has is
    reported in ``self.duplicate_lead`` / ``self.duplicate_customer`` and refused until the user
    confirms (``confirm_duplicate=1``), then the lead is recorded as a duplicate, linked to it."""

    mobile = forms.CharField(label=_("mobile"), max_length=30, required=False)
    tags = forms.ModelMultipleChoiceField(
        queryset=Tag.objects.none(), required=False, label=_("tags"), widget=forms.SelectMultiple(attrs={"size": 4})
    )
    owner = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, label=_("owner"), empty_label=_("By the assignment rules")
    )

    EDIT_STATUSES = (
        Lead.Status.NEW,
        Lead.Status.ASSIGNED,
        Lead.Status.CONTACTED,
        Lead.Status.QUALIFIED,
        Lead.Status.INVALID,
    )

    class Meta:
        model = Lead
        fields = ["name", "mobile", "email", "source", "region", "need", "note", "visits", "events_attended", "status"]
        widgets = {"need": forms.Textarea(attrs={"rows": 2}), "note": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.duplicate_lead = self.duplicate_customer = None
        current = self.instance.source if self.instance.pk else None
        self.fields["source"] = forms.ChoiceField(  # the active lead sources (and the lead's own)
            choices=source_choices()
            + (
                [(current, self.instance.get_source_display())]
                if current and current not in dict(source_choices())
                else []
            ),
            label=self.fields["source"].label,
            initial=self.fields["source"].initial,
        )
        creating = self.instance.pk is None
        if creating:
            # a new lead starts without engagement and with its status set by capture
            for name in ("visits", "events_attended", "status"):
                del self.fields[name]
            self.fields["tags"].queryset = Tag.objects.select_related("group").order_by("group__name", "name")
            if permissions.can(user, "sales.assign"):
                self.fields["owner"].queryset = permissions.assignable_users(user).order_by("username")
            else:
                del self.fields["owner"]  # a rep's own lead stays with the rep
        else:
            del self.fields["tags"], self.fields["owner"]
            if self.instance.status in self.EDIT_STATUSES:
                self.fields["status"].choices = [c for c in Lead.Status.choices if c[0] in self.EDIT_STATUSES]
            else:
                del self.fields["status"]  # converted / duplicate: changed by their own actions

    @property
    def confirmed_duplicate(self):
        return self.data.get("confirm_duplicate") == "1"

    def clean_mobile(self):
        raw = self.cleaned_data.get("mobile", "")
        return normalize_mobile(raw) if raw else ""

    def clean(self):
        data = super().clean()
        mobile = data.get("mobile", "")
        if "mobile" in data and not mobile and not data.get("email"):
            self.add_error("mobile", _("Enter a mobile number or an email, so that someone can reach the lead."))
        if mobile and mobile != self.instance.mobile:
            lead, customer = find_duplicate(mobile, exclude_pk=self.instance.pk)
            if customer is not None and customer.pk in (self.instance.customer_id, self.instance.existing_customer_id):
                customer = None
            self.duplicate_lead, self.duplicate_customer = lead, customer
            if (lead or customer) and not self.confirmed_duplicate:
                found = lead or customer
                if permissions.visible(self.user, type(found)._default_manager.filter(pk=found.pk)).exists():
                    self.add_error(
                        "mobile",
                        ValidationError(
                            _("%(name)s already has this mobile (owner: %(owner)s)."),
                            params={"name": found.name, "owner": found.owner or _("public pool")},
                            code="duplicate",
                        ),
                    )
                else:  # outside the user's scope: never named
                    self.add_error(
                        "mobile",
                        ValidationError(
                            _("A record of another team (%(team)s) already has this mobile. Ask %(contact)s."),
                            params=duplicate_contact(found),
                            code="duplicate_elsewhere",
                        ),
                    )
        return data

    def capture_kwargs(self):
        """Keyword arguments for ``services.capture_lead``."""
        data = self.cleaned_data
        kwargs = {
            name: data.get(name) or "" for name in ("name", "mobile", "email", "source", "region", "need", "note")
        }
        kwargs["tags"] = [f"{tag.group.name}:{tag.name}" for tag in data.get("tags") or ()]
        if "owner" in self.fields:
            kwargs["owner"] = data.get("owner")
        else:
            kwargs["owner"] = self.user
        return kwargs

    def update_kwargs(self):
        """Keyword arguments for ``services.update_lead``: the fields this form shows."""
        return {name: self.cleaned_data[name] for name in self.fields if name in self.cleaned_data}


class ConvertForm(StyledFormMixin, forms.Form):
    opportunity_name = forms.CharField(
        label=_("Opportunity (optional)"),
        max_length=200,
        required=False,
        help_text=_("Give a name to open an opportunity for the new customer."),
    )
    opportunity_amount = forms.DecimalField(
        label=_("amount"), max_digits=12, decimal_places=2, required=False, min_value=Decimal("0")
    )

    def clean(self):
        data = super().clean()
        if data.get("opportunity_amount") and not (data.get("opportunity_name") or "").strip():
            self.add_error("opportunity_name", _("Name the opportunity, or leave the amount empty."))
        return data


# --- rules (sales.configure) ---------------------------------------------------------------


class ScoringRuleForm(StyledFormMixin, forms.ModelForm):
    class Meta:
        model = ScoringRule
        fields = ["criterion", "value", "points", "is_active"]

    def clean(self):
        data = super().clean()
        criterion, value = data.get("criterion"), (data.get("value") or "").strip()
        C = ScoringRule.Criterion
        if criterion == C.SOURCE:
            try:
                data["value"] = check_source(value)
            except ValidationError as exc:
                self.add_error("value", exc.message_dict["source"])
        elif criterion in (C.VISITS_AT_LEAST, C.EVENTS_AT_LEAST) or criterion in registry.lead_criteria():
            if not value.isdigit() or int(value) < 1:
                self.add_error("value", _("Enter a whole number of at least 1."))
        elif criterion == C.HAS_TAG:
            if not value:
                self.add_error("value", _("Enter the tag name."))
            elif not Tag.objects.filter(name=value).exists():
                self.add_error("value", _("No tag is called %(name)s.") % {"name": value})
        elif criterion:
            value = ""  # the "has …" criteria take no value
        data["value"] = value
        return data


class SalesSettingsForm(StyledFormMixin, forms.ModelForm):
    class Meta:
        model = SalesSettings
        fields = [
            "grade_a",
            "grade_b",
            "grade_c",
            "touch_cap",
            "touch_window_days",
            "rest_after_touches",
            "reminder_offsets",
            "escalate_after_minutes",
            "target_amount_source",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target_amount_source"] = forms.ChoiceField(
            label=self.fields["target_amount_source"].label,
            help_text=self.fields["target_amount_source"].help_text,
            choices=metrics.amount_source_choices(),
            required=False,
        )
        self.fields["target_amount_source"].widget.attrs["class"] = "form-select"

    def clean_target_amount_source(self):
        """Left out (an older form, a script): the setting stays as it is."""
        return self.cleaned_data.get("target_amount_source") or self.instance.target_amount_source or metrics.WON

    def clean_reminder_offsets(self):
        text = self.cleaned_data["reminder_offsets"]
        try:
            offsets = parse_offsets(text)
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages) from exc
        return ",".join(str(o) for o in offsets)

    def clean(self):
        data = super().clean()
        a, b, c = data.get("grade_a"), data.get("grade_b"), data.get("grade_c")
        if None not in (a, b, c) and not a > b > c:
            self.add_error("grade_b", _("The thresholds must fall from A to C: A > B > C."))
        return data


class AssignmentRuleForm(StyledFormMixin, forms.ModelForm):
    team = DepartmentChoiceField(queryset=Department.objects.all(), required=False, label=_("team (round-robin)"))

    class Meta:
        model = AssignmentRule
        fields = ["position", "grade", "source", "region", "team", "user", "is_active"]
        field_classes = {"region": RegionField}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = User.objects.filter(is_active=True, is_service=False).order_by("username")
        self.fields["grade"].choices = [("", _("Any grade"))] + list(Grade.choices)
        self.fields["source"] = forms.ChoiceField(
            choices=lambda: [("", _("Any source"))] + source_choices(),
            required=False,
            label=AssignmentRule._meta.get_field("source").verbose_name,
        )

    def clean(self):
        data = super().clean()
        if bool(data.get("team")) == bool(data.get("user")):
            self.add_error("team", _("Choose either a team (round-robin among its reps) or one user."))
        return data


class PoolRuleForm(StyledFormMixin, forms.ModelForm):
    department = DepartmentChoiceField(queryset=Department.objects.all(), label=_("department"))

    class Meta:
        model = PoolRule
        fields = [
            "department",
            "days_without_followup",
            "days_without_deal",
            "exempt_stage",
            "warn_days",
            "cap",
            "reclaim_cooldown_days",
            "recycle_paying_customers",
            "is_active",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["exempt_stage"].queryset = OpportunityStage.objects.filter(is_won=False, is_lost=False)
        self.fields["exempt_stage"].empty_label = _("No exemption")

    def clean(self):
        data = super().clean()
        for name in ("days_without_followup", "days_without_deal"):
            if data.get(name) == 0:
                self.add_error(name, _("Use at least one day."))
        warn, days = data.get("warn_days"), data.get("days_without_followup")
        if warn is not None and days and warn >= days:
            self.add_error("warn_days", _("Warn fewer days ahead than the protection lasts."))
        return data


class ScoreExampleForm(StyledFormMixin, forms.Form):
    """An example lead for the scoring page: what would it score, which grade would it get?"""

    source = forms.ChoiceField(choices=lambda: source_choices(), label=_("source channel"), initial="referral")
    has_mobile = forms.BooleanField(label=_("Has a mobile number"), required=False, initial=True)
    has_email = forms.BooleanField(label=_("Has an email"), required=False)
    has_region = forms.BooleanField(label=_("Has a region"), required=False, initial=True)
    has_need = forms.BooleanField(label=_("States a need"), required=False, initial=True)
    visits = forms.IntegerField(label=_("visits"), min_value=0, initial=1)
    events = forms.IntegerField(label=_("events attended"), min_value=0, initial=0)

    def example_lead(self):
        data = (
            self.cleaned_data
            if self.is_bound and self.is_valid()
            else {name: field.initial for name, field in self.fields.items()}
        )
        return Lead(
            name="example",
            source=data["source"],
            mobile="13800000000" if data["has_mobile"] else "",
            email="lead@example.com" if data["has_email"] else "",
            region="x" if data["has_region"] else "",
            need="x" if data["has_need"] else "",
            visits=data["visits"] or 0,
            events_attended=data["events"] or 0,
        )
