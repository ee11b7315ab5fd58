from django import template

from crm import privacy
from crm.phone import mask_mobile

register = template.Library()


@register.simple_tag
def mobile(value, show):
    """A mobile number in full, or masked for users who may not see it."""
    return value if show else mask_mobile(value)


@register.simple_tag
def history_changes(entry, show_contact=False):
    """An audit entry's changes for display, with contact details masked unless ``show_contact``."""
    changes = entry.changes_display_dict
    if show_contact or not changes:
        return changes
    model = entry.content_type.model_class() if entry.content_type_id else None
    if model is None:
        return changes
    masked = dict(changes)
    for name, mask in privacy.CONTACT_MASKS.items():
        try:
            label = str(model._meta.get_field(name).verbose_name)
        except Exception:
            continue
        for key in (label, label.capitalize(), name):
            if key in masked:
                masked[key] = [value if value in ("None", "", None) else mask(str(value)) for value in masked[key]]
    return masked
