"""The mark between a label and its value in user-visible text: "：" in Chinese (no space after),
": " in English. Templates use ``{% colon %}`` (crm_tags); Python-built strings use these."""

from django.utils.translation import pgettext


def colon() -> str:
    """The label separator in the active language."""
    return pgettext("label separator", ": ")


def labelled(label, value) -> str:
    """``label`` and ``value`` joined by the label separator: "负责人：王小明", "Owner: Anna"."""
    return f"{label}{colon()}{value}"
