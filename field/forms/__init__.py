"""Forms of field work: each one parses input for one service call."""

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.ui import StyledFormMixin
from sales.models import FollowUp

from ..models import ClockIn, WorkHours, WorkSite


class PositionMixin(forms.Form):
    """The browser's position (filled in by the page once the user agrees), and the consent."""

    consent = forms.BooleanField(label=_("Record my location with this entry"), required=False, initial=True)
    latitude = forms.CharField(required=False, widget=forms.HiddenInput)
    longitude = forms.CharField(required=False, widget=forms.HiddenInput)
    accuracy = forms.CharField(required=False, widget=forms.HiddenInput)

    def position(self):
        """(lat, lng, accuracy) only when the user agreed; the service checks the values."""
        data = self.cleaned_data
        if not data.get("consent"):
            return {"latitude": None, "longitude": None, "accuracy": None}
        return {"latitude": data.get("latitude"), "longitude": data.get("longitude"), "accuracy": data.get("accuracy")}


class ClockForm(StyledFormMixin, PositionMixin):
    kind = forms.ChoiceField(choices=ClockIn.Kind.choices, widget=forms.HiddenInput)


class VisitForm(StyledFormMixin, PositionMixin):
    photo = forms.FileField(
        label=_("Photo"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp", "capture": "environment"}),
    )
    notes = forms.CharField(label=_("Notes"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))
    remember_location = forms.BooleanField(
        label=_("Save this place as the customer's location"), required=False, initial=True
    )


class CheckOutForm(StyledFormMixin, forms.Form):
    notes = forms.CharField(
        label=_("What came of the visit"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class CallLogForm(StyledFormMixin, forms.Form):
    """After a call from the phone: how it went, in a few words."""

    outcome = forms.ChoiceField(label=_("Outcome"), choices=FollowUp.Outcome.choices, initial=FollowUp.Outcome.TALKED)
    content = forms.CharField(label=_("What was said"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))


class WorkSiteForm(StyledFormMixin, forms.ModelForm):
    class Meta:
        model = WorkSite
        fields = ["department", "name", "latitude", "longitude", "radius_m", "is_active"]

    def __init__(self, *args, departments, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = departments


class WorkHoursForm(StyledFormMixin, forms.ModelForm):
    class Meta:
        model = WorkHours
        fields = ["department", "start", "end", "grace_minutes"]
        widgets = {
            "start": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "end": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        }

    def __init__(self, *args, departments, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = departments


def apply_service_errors(form, error):
    """Put a service's ``ValidationError`` beside the visible field it names; a hidden field's (the
    position) and the rest go on top of the form, named."""
    if not hasattr(error, "error_dict"):
        for message in error.messages:
            form.add_error(None, message)
        return
    for name, errors in error.message_dict.items():
        field = form.fields.get(name)
        for message in errors:
            if field is not None and not field.widget.is_hidden:
                form.add_error(name, message)
            else:
                label = {"latitude": _("Location"), "longitude": _("Location"), "accuracy": _("Location")}.get(name)
                form.add_error(None, f"{label}: {message}" if label else message)
