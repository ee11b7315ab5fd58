from django import template

from crm import audit, labels, permissions
from crm.maps import map_link_for
from crm.money import money as format_money
from crm.money import money_short as format_money_short
from crm.names import person_name
from crm.phone import mask_mobile

register = template.Library()


@register.simple_tag
def colon():
    """The mark between a label and its value: "：" in Chinese (no space after), ": " in English."""
    return labels.colon()


@register.simple_tag
def mobile(value, show):
    """A mobile number in full, or masked for users who may not see it."""
    return value if show else mask_mobile(value)


@register.simple_tag(takes_context=True)
def history_changes(context, entry, show_contact=False):
    """An audit entry's changes for display ({label: [before, after]}): only the record's real
    fields, in words, contact details masked unless ``show_contact`` (crm.audit). The entries of
    the card (``history`` in the context) are read together, so the names of related records
    (owners, departments) cost one query per model for the whole card, not one per entry."""
    key = ("history_changes", bool(show_contact))
    batch = context.render_context.get(key)
    if batch is None or entry.pk not in batch:
        entries = [e for e in (context.get("history") or []) if getattr(e, "pk", None) is not None]
        if entry not in entries:
            entries = [entry]
        batch = audit.change_rows(entries, mask=not show_contact)
        context.render_context[key] = batch
    return {label: [old, new] for label, old, new in batch.get(entry.pk, [])}


@register.simple_tag
def history_who(entry):
    """Who made the change: a user, a rule, a job (crm.audit), or "system"."""
    from django.utils.translation import gettext

    author = audit.who(entry)
    return gettext("system") if author == "—" else author


@register.filter
def person(value):
    """A user's or customer's name as every page shows it (family name first)."""
    return person_name(value)


@register.filter
def money(value, places=2):
    """``¥12,800.00`` (``|money:0`` without cents)."""
    return format_money(value, int(places))


@register.filter
def money_short(value):
    """A figure card's amount: ``¥57.18万`` in Chinese, ``¥571,800`` in English."""
    return format_money_short(value)


@register.filter
def filter_columns(field):
    """Grid classes of a list filter: a select with long options (a status such as
    "进行中（新建至合格）") gets a wider column, so no option is cut off."""
    from django import forms

    widest = 0
    if isinstance(field.field, forms.ModelChoiceField):
        # the records are not read for this: their "all" label ("权限范围内全部部门") is the long one
        widest = len(str(field.field.empty_label or ""))
    elif isinstance(field.field, forms.ChoiceField):
        widest = max((len(str(label)) for _value, label in field.field.choices), default=0)
    return "col-sm-6 col-md-4 col-xl-3" if widest > 8 else "col-sm-6 col-md-4 col-xl-2"


@register.simple_tag
def record_card(row, fields):
    """One row of a list as a phone card: the first field as the title, the others as small facts
    (the same values the table shows, without its links: the whole card opens the record)."""
    from django.utils.html import format_html, format_html_join, strip_tags

    table = row.table
    record = row.record
    title_field, *fact_fields = fields
    url = record.get_absolute_url() if hasattr(record, "get_absolute_url") else ""
    facts = []
    from decimal import Decimal

    for name in fact_fields:
        value = row.get_cell_value(name)
        value = format_money(value) if isinstance(value, Decimal) else strip_tags(str(value or "")).strip()
        if value and value != table.columns[name].column.default:
            facts.append((table.columns[name].header, value))
    return format_html(
        '<a class="record-card" href="{}" data-testid="record-card"><div class="title">{}</div>'
        '<div class="facts">{}</div></a>',
        url,
        strip_tags(str(row.get_cell_value(title_field))),
        format_html_join(
            "",
            '<span><span class="visually-hidden">{}{}</span>{}</span>',
            ((header, labels.colon(), value) for header, value in facts),
        ),
    )


@register.simple_tag
def map_url(record):
    """导航: the record's place as a link of the configured map provider, or ""."""

    return map_link_for(record)


@register.simple_tag(takes_context=True)
def allowed(context, action):
    """Whether the page's user may ``action`` (crm.permissions.can)."""

    return permissions.can(context.get("user"), action)


@register.simple_tag
def optional_url(name, *args):
    """The URL of ``name``, or "" when the page's app is not installed."""
    from django.urls import NoReverseMatch, reverse

    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""
