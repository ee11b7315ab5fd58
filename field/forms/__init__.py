"""Forms of field work: each one parses input for one service call."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from crm.ui import StyledFormMixin
from sales.models import FollowUp

from .. import evidence
from ..models import ClockIn, WorkHours, WorkSite


class PositionMixin(forms.Form):
    """The browser's position (filled in by the page once the user agrees), and the consent."""

    consent = forms.BooleanField(label=_("Record my location with this entry"), required=False, initial=True)
    latitude = forms.CharField(required=False, widget=forms.HiddenInput)
    longitude = forms.CharField(required=False, widget=forms.HiddenInput)
    accuracy = forms.CharField(required=False, widget=forms.HiddenInput)
    #: the browser's signals about the fix (JSON), the page's signed token, and for an offline draft
    #: the time the phone says it was made (ISO 8601)
    signals = forms.CharField(required=False, max_length=500, widget=forms.HiddenInput)
    evidence_token = forms.CharField(required=False, max_length=100, widget=forms.HiddenInput)
    client_time = forms.CharField(required=False, max_length=40, widget=forms.HiddenInput)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        if user is not None and not self.is_bound:
            self.initial["evidence_token"] = evidence.issue_token(user)

    def evidence(self, request):
        """The evidence arguments of the service call: device, signals and, for an offline draft,
        its client time checked against the page token (a forged token or an impossible time is
        refused with ``ValidationError``)."""
        data = self.cleaned_data
        signals = evidence.parse_signals(data.get("signals")) if data.get("consent") else {}
        client_at = None
        if data.get("client_time"):
            try:
                client_at = evidence.draft_time(
                    client_time=data["client_time"], token=data.get("evidence_token"), user=request.user
                )
            except ValueError as exc:
                raise ValidationError(
                    _("This offline entry cannot be accepted: its page or its time does not check out.")
                ) from exc
        elif data.get("evidence_token") and evidence.token_issued_at(data["evidence_token"], request.user) is None:
            raise ValidationError(_("This form was not served to you; open the page again."))
        return {"device": request.headers.get("User-Agent", ""), "signals": signals, "client_at": client_at}

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
                form.add_error(
                    None, _("%(label)s: %(error)s") % {"label": label, "error": message} if label else message
                )
