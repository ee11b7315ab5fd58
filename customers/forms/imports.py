"""The import upload form: what the file holds, and the file."""

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.ui import StyledFormMixin

from .. import imports
from ..models import ImportJob


class ImportForm(StyledFormMixin, forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("What the file holds"))
    file = forms.FileField(
        label=gettext_lazy("File (CSV or XLSX, at most 20 MB)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,text/csv"}),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [
            (value, label) for value, label in ImportJob.Kind.choices if imports.may_import(user, value)
        ]

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > imports.MAX_FILE_SIZE:
            raise forms.ValidationError(_("The file is larger than 20 MB; split it into smaller files."))
        return upload
