"""The lead import upload form."""

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.ui import StyledFormMixin

from .. import imports


class LeadImportForm(StyledFormMixin, forms.Form):
    file = forms.FileField(
        label=gettext_lazy("File (CSV or XLSX, at most 20 MB)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,text/csv"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > imports.MAX_FILE_SIZE:
            raise forms.ValidationError(_("The file is larger than 20 MB; split it into smaller files."))
        return upload
