"""The import upload form: what the file holds, and the file."""

from django import forms
from django.utils.translation import gettext_lazy

from crm import import_pages as pages

from .. import imports
from ..models import ImportJob


class ImportForm(pages.ImportFileForm):
    kind = forms.ChoiceField(label=gettext_lazy("What the file holds"))

    field_order = ["kind", "file"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [
            (value, label) for value, label in ImportJob.Kind.choices if imports.may_import(user, value)
        ]
