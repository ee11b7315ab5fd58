from django import template

from crm.phone import mask_mobile

register = template.Library()


@register.simple_tag
def mobile(value, show):
    """A mobile number in full, or masked for users who may not see it."""
    return value if show else mask_mobile(value)


@register.simple_tag
def history_changes(entry, show_contact=False):
    """An audit entry's changes for display ({label: [before, after]}): only the record's real
    fields, in words, contact details masked unless ``show_contact`` (crm.audit)."""
    from crm import audit

    lines = audit.change_rows([entry], mask=not show_contact).get(entry.pk, [])
    return {label: [old, new] for label, old, new in lines}


@register.simple_tag
def history_who(entry):
    """Who made the change: a user, a rule, a job (crm.audit), or "system"."""
    from django.utils.translation import gettext

    from crm import audit

    author = audit.who(entry)
    return gettext("system") if author == "—" else author
