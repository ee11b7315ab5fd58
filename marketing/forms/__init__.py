from django import forms
from django.utils.translation import gettext_lazy as _

from crm.ui import StyledFormMixin
from customers.models import LifecycleStage, Tag

from ..models import Campaign, Channel, ContentItem, Event, MarketingSettings, NurturePlan, NurtureStep, Segment, Touch


class SegmentForm(StyledFormMixin, forms.ModelForm):
    class Meta:
        model = Segment
        fields = ["name", "subject", "description"]


class CampaignForm(StyledFormMixin, forms.ModelForm):
    channels = forms.MultipleChoiceField(
        label=_("channels"), choices=Channel.choices, required=False, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = Campaign
        fields = [
            "name",
            "kind",
            "start",
            "end",
            "segment",
            "channels",
            "budget_account",
            "budget",
            "spent",
            "goal_reach",
            "goal_registrations",
            "goal_leads",
            "goal_deals",
            "goal_gmv",
            "batches",
            "description",
        ]
        widgets = {
            "start": forms.DateInput(),
            "end": forms.DateInput(),
            "description": forms.Textarea(attrs={"rows": 3}),
            "batches": forms.SelectMultiple(attrs={"size": 4}),
        }

    def __init__(self, *args, segments=None, accounts=None, batches=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["segment"].queryset = segments if segments is not None else Segment.objects.none()
        self.fields["budget_account"].queryset = (
            accounts if accounts is not None else self.fields["budget_account"].queryset.none()
        )
        self.fields["batches"].queryset = batches if batches is not None else self.fields["batches"].queryset.none()
        self.fields["batches"].help_text = _("Coupon batches the campaign gives out; their cost counts in its ROI.")
        if self.instance.pk and not self.instance.editable:
            # approved: what was approved (audience, money, batches, start) stays; results may be recorded
            for name in self.fields:
                if name not in self.CHANGEABLE_AFTER_APPROVAL:
                    self.fields[name].disabled = True
                    self.fields[name].help_text = _("Fixed by the approval.")

    CHANGEABLE_AFTER_APPROVAL = (
        "spent",
        "end",
        "description",
        "goal_reach",
        "goal_registrations",
        "goal_leads",
        "goal_deals",
        "goal_gmv",
    )

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            self.add_error("end", _("The end is before the start."))
        return data

    def validate_constraints(self):
        if not self.has_error("end"):
            super().validate_constraints()


class EventForm(StyledFormMixin, forms.ModelForm):
    class Meta:
        model = Event
        fields = ["name", "starts_at", "ends_at", "location", "capacity"]
        widgets = {
            "starts_at": forms.DateTimeInput(format="%Y-%m-%dT%H:%M"),
            "ends_at": forms.DateTimeInput(format="%Y-%m-%dT%H:%M"),
        }

    def clean(self):
        data = super().clean()
        if data.get("starts_at") and data.get("ends_at") and data["ends_at"] < data["starts_at"]:
            self.add_error("ends_at", _("The end is before the start."))
        return data

    def validate_constraints(self):
        if not self.has_error("ends_at"):
            super().validate_constraints()


class TouchForm(StyledFormMixin, forms.ModelForm):
    class Meta:
        model = Touch
        fields = ["event", "phase", "kind", "audience", "channel", "content", "subject", "body", "scheduled_at"]
        widgets = {
            "scheduled_at": forms.DateTimeInput(format="%Y-%m-%dT%H:%M"),
            "body": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, campaign, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["event"].queryset = campaign.events.all()
        self.fields["content"].queryset = ContentItem.objects.filter(active=True)

    def clean(self):
        data = super().clean()
        if data.get("audience") and data["audience"] != Touch.Audience.SEGMENT and not data.get("event"):
            self.add_error("event", _("Choose the event whose registrations get this message."))
        return data


class RegistrationForm(StyledFormMixin, forms.Form):
    mobile = forms.CharField(label=_("mobile"), max_length=20)
    name = forms.CharField(
        label=_("name"),
        max_length=100,
        required=False,
        help_text=_("Needed for someone who is not a customer yet (a lead is created)."),
    )
    attended = forms.BooleanField(label=_("Checked in now"), required=False)


class RegistrationImportForm(StyledFormMixin, forms.Form):
    file = forms.FileField(label=_("CSV file"), help_text=_("Columns: mobile, name, attended (yes/no). UTF-8 or GBK."))


class ContentForm(StyledFormMixin, forms.ModelForm):
    stages = forms.MultipleChoiceField(
        label=_("suggested for lifecycle stages"),
        choices=LifecycleStage.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = ContentItem
        fields = ["title", "kind", "url", "summary", "stages", "tags", "active"]
        widgets = {"summary": forms.Textarea(attrs={"rows": 3}), "tags": forms.SelectMultiple(attrs={"size": 6})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tags"].queryset = Tag.objects.select_related("group").order_by("group__name", "name")


class NurturePlanForm(StyledFormMixin, forms.ModelForm):
    class Meta:
        model = NurturePlan
        fields = ["name", "segment", "channel", "campaign", "stop_on_reply", "stop_on_order"]

    def __init__(self, *args, segments=None, campaigns=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["segment"].queryset = (segments if segments is not None else Segment.objects.none()).filter(
            subject=Segment.Subject.CUSTOMERS
        )
        self.fields["campaign"].queryset = campaigns if campaigns is not None else Campaign.objects.none()


class NurtureStepForm(StyledFormMixin, forms.ModelForm):
    class Meta:
        model = NurtureStep
        fields = ["day", "content", "subject", "body"]
        widgets = {"body": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["content"].queryset = ContentItem.objects.filter(active=True)


StepFormSet = forms.inlineformset_factory(NurturePlan, NurtureStep, form=NurtureStepForm, extra=2, can_delete=True)


class SettingsForm(StyledFormMixin, forms.ModelForm):
    class Meta:
        model = MarketingSettings
        fields = ["push_cap", "push_window_days", "attribution_days"]


class RejectForm(StyledFormMixin, forms.Form):
    reason = forms.CharField(label=_("Why is it rejected?"), widget=forms.Textarea(attrs={"rows": 2}))
