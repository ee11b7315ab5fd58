"""``{{ user|may:"sales.change" }}``: the role check of ``crm.permissions.can`` in a template (for
the buttons the sales app adds to other apps' pages)."""

from django import template

from crm import permissions

register = template.Library()


@register.filter
def may(user, action):
    return permissions.can(user, action)
