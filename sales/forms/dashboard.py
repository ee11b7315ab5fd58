"""The filters of the sales dashboards: a period (a preset or from–to), department, rep and
channel, all in the query string so that a view can be shared."""

import datetime
from urllib.parse import urlencode

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models import Department, User
from crm.ui import StyledFormMixin, narrow_to_scope
from customers.services.sources import all_source_choices

from ..models import Target
from ..services import dashboard as figures

MAX_DAYS = 366 * 3


def _channel_choices():
    return [("", _("All channels"))] + all_source_choices()


class _ScopeFilterForm(StyledFormMixin, forms.Form):
    department = forms.ModelChoiceField(
        queryset=Department.objects.none(), required=False, label=_("department"), empty_label=_("All in my scope")
    )
    owner = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, label=_("rep"), empty_label=_("Everyone in my scope")
    )
    source = forms.ChoiceField(choices=_channel_choices, required=False, label=_("channel"))

    def __init__(self, data=None, *, user, **kwargs):
        super().__init__(data, **kwargs)
        narrow_to_scope(self, user, owners_by=["username"])

    def _data(self):
        return self.cleaned_data if self.is_valid() else {}

    def scope_params(self):
        """The narrowing as the lists' filters understand it: [("owner", 3), ...]."""
        data = self._data()
        params = [(name, data[name].pk) for name in ("department", "owner") if data.get(name) is not None]
        if data.get("source"):
            params.append(("source", data["source"]))
        return params


class DashboardFilterForm(_ScopeFilterForm):
    PRESETS = [
        ("month", _("This month")),
        ("quarter", _("This quarter")),
        ("year", _("This year")),
        ("custom", _("From – to")),
    ]

    preset = forms.ChoiceField(choices=PRESETS, required=False, label=_("period"))
    since = forms.DateField(required=False, label=_("from"), widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label=_("to"), widget=forms.DateInput(attrs={"type": "date"}))
    stuck_days = forms.IntegerField(
        required=False, min_value=1, max_value=3650, label=_("stuck after (days)"), initial=figures.STUCK_DAYS
    )

    field_order = ["preset", "since", "until", "department", "owner", "source", "stuck_days"]

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        preset = cleaned.get("preset") or ("custom" if since or until else "month")
        cleaned["preset"] = preset
        if preset == "custom":
            today = timezone.localdate()
            until = until or today
            since = since or until.replace(day=1)
            if since > until:
                self.add_error("since", _("The start must not be after the end."))
            elif (until - since).days > MAX_DAYS:
                self.add_error("since", _("Choose a period of at most three years."))
            cleaned["since"], cleaned["until"] = since, until
        return cleaned

    def period(self):
        data = self._data()
        preset = data.get("preset") or "month"
        if preset == "custom":
            return data["since"], data["until"]
        start, end = figures.span(preset, timezone.localdate())
        return start, end - datetime.timedelta(days=1)

    def filters(self):
        data = self._data()
        since, until = self.period()
        return figures.Filters(
            since=since,
            until=until,
            department=data.get("department"),
            owner=data.get("owner"),
            source=data.get("source") or "",
            stuck_days=data.get("stuck_days") or figures.STUCK_DAYS,
        )

    def querystring(self):
        """This view's own query string (for the export links)."""
        data = self._data()
        since, until = self.period()
        params = [("preset", data.get("preset") or "month")]
        if params[0][1] == "custom":
            params += [("since", since.isoformat()), ("until", until.isoformat())]
        params += self.scope_params()
        if data.get("stuck_days"):
            params.append(("stuck_days", data["stuck_days"]))
        return urlencode(params)


class PerformanceFilterForm(_ScopeFilterForm):
    GRANULARITIES = [(figures.MONTH, _("Month")), (figures.QUARTER, _("Quarter")), (figures.YEAR, _("Year"))]

    granularity = forms.ChoiceField(choices=GRANULARITIES, required=False, label=_("period"))
    date = forms.DateField(
        required=False, label=_("containing the day"), widget=forms.DateInput(attrs={"type": "date"})
    )
    metric = forms.ChoiceField(choices=Target.Metric.choices, required=False, label=_("metric"))

    field_order = ["granularity", "date", "metric", "department", "owner", "source"]

    def options(self):
        data = self._data()
        return {
            "granularity": data.get("granularity") or figures.MONTH,
            "anchor": data.get("date") or timezone.localdate(),
            "metric": data.get("metric") or Target.Metric.AMOUNT_WON,
        }

    def filters(self):
        data = self._data()
        options = self.options()
        start, end = figures.span(options["granularity"], options["anchor"])
        return figures.Filters(
            since=start,
            until=end - datetime.timedelta(days=1),
            department=data.get("department"),
            owner=data.get("owner"),
            source=data.get("source") or "",
        )

    def querystring(self):
        options = self.options()
        params = [
            ("granularity", options["granularity"]),
            ("date", options["anchor"].isoformat()),
            ("metric", options["metric"]),
        ] + self.scope_params()
        return urlencode(params)
