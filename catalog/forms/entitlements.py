from django import forms
from django.utils.translation import gettext_lazy as _

from crm.ui import StyledFormMixin


class ConsumeForm(StyledFormMixin, forms.Form):
    quantity = forms.IntegerField(label=_("quantity"), min_value=1, max_value=100_000, initial=1)
    note = forms.CharField(label=_("note"), max_length=200, required=False)
    reference = forms.CharField(widget=forms.HiddenInput, required=False, max_length=100)
