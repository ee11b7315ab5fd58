"""The target form of the performance pages."""

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm import permissions
from crm.models import Department, User
from crm.ui import StyledFormMixin

from ..models import Target
from ..selectors import reps_for


class TargetForm(StyledFormMixin, forms.Form):
    user = forms.ModelChoiceField(queryset=User.objects.none(), required=False, label=gettext_lazy("Rep"))
    department = forms.ModelChoiceField(
        queryset=Department.objects.none(), required=False, label=gettext_lazy("or team")
    )
    metric = forms.ChoiceField(choices=Target.Metric.choices, label=gettext_lazy("metric"))
    period = forms.ChoiceField(choices=Target.Period.choices, label=gettext_lazy("period"))
    start = forms.DateField(label=gettext_lazy("period start"), widget=forms.DateInput())
    value = forms.DecimalField(label=gettext_lazy("target"), min_value=0, max_digits=14, decimal_places=2)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = reps_for(user)
        ids = permissions.scope_department_ids(user)
        self.fields["department"].queryset = Department.objects.filter(pk__in=ids) if ids else Department.objects.all()

    def clean(self):
        data = super().clean()
        if bool(data.get("user")) == bool(data.get("department")):
            raise forms.ValidationError(_("Choose a rep or a team (one of them)."))
        return data
