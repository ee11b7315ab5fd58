from django import template

from crm.phone import mask_mobile

register = template.Library()


@register.simple_tag
def mobile(value, show):
    """A mobile number in full, or masked for users who may not see it."""
    return value if show else mask_mobile(value)
