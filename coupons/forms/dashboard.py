"""The filter of the coupons and campaigns dashboard (period and department)."""

from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm import permissions
from crm.models import Department
from crm.ui import StyledFormMixin

from ..models import CHANNELS, BudgetAccount, Campaign
from ..services import dashboard as board


class DashboardFilter(StyledFormMixin, forms.Form):
    period = forms.ChoiceField(label=gettext_lazy("period"), choices=board.PERIODS, required=False)
    start = forms.DateField(label=gettext_lazy("from"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=gettext_lazy("to"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    department = forms.ModelChoiceField(
        label=gettext_lazy("department"),
        queryset=Department.objects.none(),
        required=False,
        empty_label=gettext_lazy("All departments in my scope"),
    )
    channel = forms.ChoiceField(
        label=gettext_lazy("claim channel"),
        required=False,
        choices=[("", gettext_lazy("All channels"))] + list(CHANNELS),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        campaigns = permissions.visible(user, Campaign.objects.all()).values("department_id")
        accounts = permissions.visible(user, BudgetAccount.objects.all()).values("department_id")
        self.fields["department"].queryset = Department.objects.filter(
            Q(pk__in=campaigns) | Q(pk__in=accounts)
        ).order_by("path")

    def clean(self):
        data = super().clean()
        kind = data.get("period") or ("custom" if data.get("start") or data.get("end") else "month")
        start, end = board.period_range(kind, timezone.localdate(), data.get("start"), data.get("end"))
        if start > end:
            self.add_error("start", _("The period must start before it ends."))
        elif (end - start).days >= board.MAX_DAYS:
            self.add_error("start", _("At most %(n)d days.") % {"n": board.MAX_DAYS})
        data.update(period=kind, start=start, end=end)
        return data

    def filters(self):
        """The filters to show: the cleaned ones, or this month when the URL holds none or bad ones."""
        if self.is_bound and self.is_valid():
            d = self.cleaned_data
            return board.Filters(start=d["start"], end=d["end"], department=d["department"], channel=d["channel"] or "")
        start, end = board.period_range("month", timezone.localdate())
        return board.Filters(start=start, end=end)
