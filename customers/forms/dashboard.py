"""The filter of the customer overview dashboard: period, department, owner, source channel.

Everything lives in the query string (a GET form), so a view of the dashboard can be shared."""

import datetime
from urllib.parse import urlencode

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models import Department, User
from crm.ui import StyledFormMixin, narrow_to_scope
from customers.services.sources import all_source_choices

from ..selectors_dashboard import Filters
from ..services.dashboard import HORIZON_MONTHS, add_months

PERIODS = [
    ("month", _("This month")),
    ("quarter", _("This quarter")),
    ("year", _("This year")),
    ("last12", _("Last 12 months")),
    ("custom", _("Custom")),
]
DEFAULT_PERIOD = "last12"


def period_dates(period, today):
    """(first day, last day) of a named period containing ``today``."""
    if period == "month":
        return today.replace(day=1), today
    if period == "quarter":
        return datetime.date(today.year, (today.month - 1) // 3 * 3 + 1, 1), today
    if period == "year":
        return datetime.date(today.year, 1, 1), today
    return add_months(today.replace(day=1), -11), today


def _channel_choices():
    return [("", _("All channels"))] + all_source_choices()


class DashboardFilterForm(StyledFormMixin, forms.Form):
    period = forms.ChoiceField(choices=PERIODS, required=False, label=_("period"))
    date_from = forms.DateField(required=False, label=_("from"), widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label=_("to"), widget=forms.DateInput(attrs={"type": "date"}))
    department = forms.ModelChoiceField(
        queryset=Department.objects.none(), required=False, label=_("department"), empty_label=_("All in my scope")
    )
    owner = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, label=_("owner"), empty_label=_("Everyone in my scope")
    )
    source = forms.ChoiceField(choices=_channel_choices, required=False, label=_("source channel"))

    def __init__(self, data=None, *, user, today=None, **kwargs):
        super().__init__(data, **kwargs)
        self.today = today or timezone.localdate()
        narrow_to_scope(self, user)
        self.fields["period"].initial = DEFAULT_PERIOD

    def clean(self):
        cleaned = super().clean()
        period = cleaned.get("period") or DEFAULT_PERIOD
        if period == "custom":
            until = cleaned.get("date_to") or self.today
            since = cleaned.get("date_from") or add_months(until.replace(day=1), -11)
            earliest = add_months(self.today.replace(day=1), -(HORIZON_MONTHS - 1))
            if since > until:
                self.add_error("date_from", _("The start must not be after the end."))
            elif since < earliest:
                self.add_error(
                    "date_from",
                    _("The dashboard keeps the last %(n)d months; start on %(date)s or later.")
                    % {"n": HORIZON_MONTHS, "date": earliest.isoformat()},
                )
            elif until > self.today:
                self.add_error("date_to", _("The end must not be in the future."))
        else:
            since, until = period_dates(period, self.today)
        cleaned.update(period=period, since=since, until=until)
        return cleaned

    @property
    def valid_data(self):
        return self.cleaned_data if self.is_valid() else {}

    def period_range(self):
        data = self.valid_data
        if data:
            return data["since"], data["until"]
        return period_dates(DEFAULT_PERIOD, self.today)

    def filters(self):
        data = self.valid_data
        return Filters(department=data.get("department"), owner=data.get("owner"), source=data.get("source") or "")

    def scope_params(self):
        """The narrowing as the customer list's filters read it: [("department", 3), …]."""
        filters = self.filters()
        params = []
        if filters.department is not None:
            params.append(("department", filters.department.pk))
        if filters.owner is not None:
            params.append(("owner", filters.owner.pk))
        if filters.source:
            params.append(("source", filters.source))
        return params

    def querystring(self):
        """The dashboard's own query string (to keep the filters on export links)."""
        data = self.valid_data
        params = [("period", data.get("period", DEFAULT_PERIOD))]
        if data.get("period") == "custom":
            params += [("date_from", data["since"].isoformat()), ("date_to", data["until"].isoformat())]
        params += self.scope_params()
        return urlencode(params)
