"""Forms of the segmentation pages: the scope filter of the overview, and the thresholds."""

import datetime
from urllib.parse import urlencode

from django import forms
from django.db import models
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _

from crm.models import Department, User
from crm.ui import StyledFormMixin, narrow_to_scope

from ..models import SegmentationSettings, Tag
from ..services.segment_settings import THRESHOLD_FIELDS

FLOW_DAYS = 30
MAX_FLOW_DAYS = 366 * 3


class SegmentFilterForm(StyledFormMixin, forms.Form):
    """Department / owner within the viewer's scope, and the period of the lifecycle flows."""

    department = forms.ModelChoiceField(
        queryset=Department.objects.none(), required=False, label=_("department"), empty_label=_("All in my scope")
    )
    owner = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, label=_("owner"), empty_label=_("Everyone in my scope")
    )
    tags = forms.ModelMultipleChoiceField(
        queryset=Tag.objects.select_related("group"),
        required=False,
        label=_("tags"),
        widget=forms.SelectMultiple(attrs={"size": 3}),
    )
    tags_match = forms.ChoiceField(
        choices=[("any", _("any of the tags")), ("all", _("all of the tags"))], required=False, label=_("tags match")
    )
    since = forms.DateField(required=False, label=_("stage changes from"))
    until = forms.DateField(required=False, label=_("stage changes to"))

    def __init__(self, data=None, *, user, **kwargs):
        super().__init__(data, **kwargs)
        # a rep sees only their own customers: nothing to narrow
        narrow_to_scope(self, user)
        today = timezone.localdate()
        self.fields["since"].initial = today - datetime.timedelta(days=FLOW_DAYS)
        self.fields["until"].initial = today

    def clean(self):
        cleaned = super().clean()
        today = timezone.localdate()
        until = cleaned.get("until") or today
        since = cleaned.get("since") or until - datetime.timedelta(days=FLOW_DAYS)
        if since > until:
            self.add_error("since", _("The start must not be after the end."))
        elif (until - since).days > MAX_FLOW_DAYS:
            self.add_error("since", _("Choose a period of at most three years."))
        cleaned["since"], cleaned["until"] = since, until
        return cleaned

    def scope_filters(self):
        """The narrowing chosen, for ``selectors_segments.segment_customers`` (nothing when the form is
        invalid: the page then shows the whole scope and the errors)."""
        data = self.cleaned_data if self.is_valid() else {}
        return {
            "department": data.get("department"),
            "owner": data.get("owner"),
            "tags": list(data.get("tags") or ()),
            "tags_match": data.get("tags_match") or "any",
        }

    def period(self):
        if self.is_valid():
            return self.cleaned_data["since"], self.cleaned_data["until"]
        today = timezone.localdate()
        return today - datetime.timedelta(days=FLOW_DAYS), today

    def querystring(self):
        """The same narrowing as the customer list's filters understand it ("&department=3&tags=7"),
        appended to the drill-down links."""
        filters = self.scope_filters()
        params = [(name, filters[name].pk) for name in ("department", "owner") if filters[name] is not None]
        params += [("tags", tag.pk) for tag in filters["tags"]]
        if filters["tags"] and filters["tags_match"] == "all":
            params.append(("tags_match", "all"))
        return "".join(f"&{urlencode([pair])}" for pair in params)


def documented_default(name):
    """The model default of a threshold as the page shows it (e.g. "10,000" or "2.0")."""
    model_field = SegmentationSettings._meta.get_field(name)
    default = model_field.get_default()
    places = 1 if isinstance(model_field, models.DecimalField) and model_field.decimal_places == 1 else 0
    return number_format(default, decimal_pos=places, force_grouping=True)


class SegmentationSettingsForm(StyledFormMixin, forms.ModelForm):
    """All thresholds; each field says its documented default."""

    class Meta:
        model = SegmentationSettings
        fields = THRESHOLD_FIELDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.defaults = {}
        for name, form_field in self.fields.items():
            self.defaults[name] = documented_default(name)
            form_field.help_text = _("Default: %(value)s") % {"value": self.defaults[name]}
            form_field.widget.attrs["min"] = "0"
