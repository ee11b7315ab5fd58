"""Template tags of the fast list tables (``crm.fast_table``)."""

from django import template
from django.utils.safestring import mark_safe

from crm.fast_table import FastRows, is_fast

register = template.Library()


@register.simple_tag(takes_context=True)
def fast_tbody(context, table):
    """The rows of ``table`` as the stock ``table.tbody`` block renders them; "" without rows."""
    return mark_safe(FastRows.of(table).tbody(context))


@register.simple_tag
def record_cards(table, fields):
    """The phone's cards of the page's rows (one ``record_card`` each), from the compiled values when
    the table is a fast one; "" for other tables (the template then renders ``record_card`` per row)."""
    if not is_fast(table):
        return ""
    return mark_safe(FastRows.of(table).cards(fields))
