"""The region picker (省 → 市 → 区): three selects, each offering the children of the one before.

Without script the three selects post as they are; with htmx a change re-renders the picker from
``customers:region_picker`` so the next select offers the chosen place's children. The value is the
deepest code whose chain is consistent (a city left over from another province is dropped).
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from . import regions

LEVEL_LABELS = (_("Province"), _("City"), _("District"))


def deepest(values) -> str:
    """The deepest code of a chain of picks ``[province, city, district]`` whose every pick lies
    under the one before; "" when the first is not a province."""
    chosen = ""
    for value in values:
        value = (value or "").strip()
        if not value or not regions.is_code(value):
            break
        if regions.parent(value) != chosen:
            break
        chosen = value
    return chosen


def levels(code: str) -> list[dict]:
    """The three selects for ``code``: each level's options and its selected code."""
    chain = [c for c, _n in regions.path(code)]
    rows, above = [], ""
    for index, label in enumerate(LEVEL_LABELS):
        options = regions.children(above) if index == 0 or above else []
        selected = chain[index] if index < len(chain) else ""
        rows.append({"index": index, "label": label, "options": options, "selected": selected})
        above = selected
    return rows


class RegionWidget(forms.Widget):
    template_name = "customers/widgets/region_picker.html"

    def format_value(self, value):
        return value if regions.is_code(value) else ""

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"]["levels"] = levels(self.format_value(value))
        context["widget"]["url"] = reverse("customers:region_picker")
        return context

    def value_from_datadict(self, data, files, name):
        picks = [data.get(f"{name}_{index}", "") for index in range(3)]
        if not any(picks) and name in data:  # posted whole: a code, or a name matched to one
            whole = (data.get(name) or "").strip()
            return regions.match(whole) or whole
        return deepest(picks)

    def value_omitted_from_data(self, data, files, name):
        return name not in data and not any(f"{name}_{index}" in data for index in range(3))


class RegionField(forms.CharField):
    """A 6-digit region code, chosen with the picker; an unknown code is an error beside the field."""

    widget = RegionWidget

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 6)
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        if value and not regions.is_code(value):
            raise ValidationError(_("Choose a province, city or district from the list."), code="invalid")
        return value
