"""The filter of the monitoring page (period and department)."""

import datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.models import Department
from crm.ui import StyledFormMixin

DEFAULT_DAYS = 30
MAX_DAYS = 366


class MonitoringFilter(StyledFormMixin, forms.Form):
    start = forms.DateField(label=gettext_lazy("from"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=gettext_lazy("to"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    department = forms.ModelChoiceField(
        label=gettext_lazy("department"),
        queryset=Department.objects.none(),
        required=False,
        empty_label=gettext_lazy("All departments in my scope"),
    )

    def clean(self):
        data = super().clean()
        today = timezone.localdate()
        end = data.get("end") or today
        start = data.get("start") or end - datetime.timedelta(days=DEFAULT_DAYS - 1)
        if start > end:
            self.add_error("start", _("The period must start before it ends."))
        elif (end - start).days >= MAX_DAYS:
            self.add_error("start", _("At most %(n)d days.") % {"n": MAX_DAYS})
        data.update(start=start, end=end)
        return data
