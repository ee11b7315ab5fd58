"""Fast list tables: the rows of a django-tables2 table rendered from per-column functions compiled
once per table, with the same HTML as the stock template (``crm/table.html``).

django-tables2 renders each cell through ``BoundRow.get_cell``: it inspects the render function's
signature, recomputes the column's attributes, resolves the accessor and looks up the model field
for every cell, and the template loop around it costs as much again (about 2 ms a row). Here each
column is compiled once: its ``<td>`` attributes (when they do not depend on the row), how its
value is read (``get_FOO_display`` for a field with choices), and which arguments its render
function takes. A column the compiler does not know how to read (a many-to-many column, an
accessor through a relation or into a dict) goes through django-tables2's own ``get_cell``.

A table adopts it with ``template_name = FAST_TABLE_TEMPLATE`` in its ``Meta``; the phone's cards
(``includes/card_list.html``) read the same compiled values."""

import hashlib
import json
import re
import time

from django import forms
from django.core.cache import cache
from django.core.exceptions import EmptyResultSet, FieldDoesNotExist
from django.db import connections, transaction
from django.db.models.signals import post_delete, post_save
from django.forms.models import ModelChoiceIterator, ModelChoiceIteratorValue
from django.template.base import render_value_in_context
from django.templatetags.l10n import localize, unlocalize
from django.utils.html import conditional_escape, escape, format_html, format_html_join, strip_tags
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django_tables2.columns import ManyToManyColumn
from django_tables2.utils import AttributeDict, computed_values, signature

from crm.labels import colon

FAST_TABLE_TEMPLATE = "crm/fast_table.html"

ROW_START = "\n                    \n                    <tr {}>\n                        "
CELL = "\n                            <td {}>{}</td>\n                        "
ROW_END = "\n                    </tr>\n                    \n                "

#: the arguments django-tables2 may pass to a render or value function (``bound_row`` per row)
_ARGUMENTS = ("value", "record", "column", "bound_column", "bound_row", "table")


def _html(attrs, key=None):
    if key is not None:
        attrs = attrs.get(key) if hasattr(attrs, "get") else None
    return attrs.as_html() if hasattr(attrs, "as_html") else ""


def _has_callables(attrs):
    return any(callable(value) or (isinstance(value, dict) and _has_callables(value)) for value in attrs.values())


class _Caller:
    """A render or value function called with exactly the arguments it declares (django-tables2's
    ``call_with_appropriate``, with the signature read once instead of on every cell)."""

    def __init__(self, function):
        self.function = function
        self.names, catch_all = signature(function)
        self.all = catch_all is not None

    def __call__(self, arguments):
        if self.all:
            return self.function(**arguments)
        if any(name not in arguments for name in self.names):
            return None
        return self.function(**{name: arguments[name] for name in self.names})


class _Column:
    """One column, compiled: ``cell(record, row)`` is the HTML inside its ``<td>`` and
    ``value(record, row)`` its plain value (what ``BoundRow.get_cell_value`` gives)."""

    def __init__(self, table, bound_column):
        self.bound = bound_column
        self.name = bound_column.name
        column = bound_column.column
        merged = {**table.attrs, **column.attrs}
        td = merged.get("td", merged.get("cell", {}))
        self.static_td = not _has_callables(td)
        if self.static_td:
            bound_column.current_record = bound_column.current_value = None
            self.td = _html(bound_column.attrs, "td")
        self.localize = column.localize
        self.default = bound_column.default
        self.empty_values = column.empty_values
        self.render = _Caller(bound_column.render)
        self.export = _Caller(bound_column.value)
        self.link = bound_column.link
        self.attribute, self.display = self._reader(table, bound_column)

    @staticmethod
    def _reader(table, bound_column):
        """(attribute, display method name) for a one-step accessor of the record; ``(None, None)``
        when the cell is read by django-tables2 (a relation path, a dict key, a many-to-many)."""
        accessor = str(bound_column.accessor)
        if isinstance(bound_column.column, ManyToManyColumn) or "." in accessor or "__" in accessor:
            return None, None
        model = getattr(table._meta, "model", None)
        if accessor == "pk":
            return accessor, None
        try:
            field = model._meta.get_field(accessor) if model is not None else None
        except FieldDoesNotExist:
            field = None
        if field is not None and getattr(field, "choices", None):
            return accessor, f"get_{accessor}_display"
        if field is None:
            return None, None  # a property, a method, an annotation: read by django-tables2
        return accessor, None

    def _read(self, record):
        if self.display is not None:
            return getattr(record, self.display)()
        return getattr(record, self.attribute)

    def _arguments(self, record, row, value):
        return {
            "value": value,
            "record": record,
            "column": self.bound.column,
            "bound_column": self.bound,
            "bound_row": row,
            "table": row.table,
        }

    def cell(self, record, row):
        if self.attribute is None:
            return row.get_cell(self.name)
        value = self._read(record)
        if value in self.empty_values:
            return self.default
        arguments = self._arguments(record, row, value)
        content = self.render(arguments)
        return self.link(content, **arguments) if self.link else content

    def value(self, record, row):
        if self.attribute is None:
            return row.get_cell_value(self.name)
        value = self._read(record)
        if value in self.empty_values:
            return None
        return self.export(self._arguments(record, row, value))

    def td_html(self, record, value):
        if self.static_td:
            return self.td
        self.bound.current_record, self.bound.current_value = record, value
        return _html(self.bound.attrs, "td")


class FastRows:
    """The compiled columns of ``table`` (made once per table: the rows and the phone's cards share
    them)."""

    def __init__(self, table):
        self.table = table
        self.columns = [_Column(table, bound_column) for bound_column in table.columns]
        self.by_name = {column.name: column for column in self.columns}
        self.static_row_attrs = not _has_callables(table.row_attrs or {})

    @classmethod
    def of(cls, table):
        rows = getattr(table, "_fast_rows", None)
        if rows is None:
            rows = table._fast_rows = cls(table)
        return rows

    def rows(self):
        """The page's (record, bound row) pairs. Each call iterates the page's rows anew, as each
        loop of the stock template does: a row's even/odd class follows django-tables2's counter
        of rows made for the table (the phone's cards are made first)."""
        return [(row.record, row) for row in self.table.paginated_rows]

    def row_html(self, record, row):
        if self.static_row_attrs:
            attrs = dict(self.table.row_attrs or {})
        else:
            attrs = computed_values(self.table.row_attrs, kwargs={"table": self.table, "record": record})
        css = row.get_even_odd_css_class()
        attrs["class"] = f"{attrs['class']} {css}" if attrs.get("class") else css
        return AttributeDict(attrs).as_html()

    def tbody(self, context):
        """The ``table.tbody`` block's HTML, or "" when there are no rows (the template's
        empty text then)."""
        rows = self.rows()
        if not rows:
            return ""
        parts = [f"\n                <tbody {_html(self.table.attrs, 'tbody')}>\n                "]
        for record, row in rows:
            parts.append(ROW_START.format(self.row_html(record, row)))
            for column in self.columns:
                cell = column.cell(record, row)
                if column.localize is not None:
                    cell = localize(cell) if column.localize else unlocalize(cell)
                parts.append(CELL.format(column.td_html(record, cell), render_value_in_context(cell, context)))
            parts.append(ROW_END)
        parts.append("\n                </tbody>\n            ")
        return "".join(parts)

    def value(self, record, row, name):
        column = self.by_name.get(name)
        return column.value(record, row) if column is not None else row.get_cell_value(name)

    def cards(self, fields):
        """The phone's cards (see ``crm_tags.record_card``), from the same compiled values."""
        from decimal import Decimal

        from crm.templatetags.crm_tags import format_money

        title_field, *fact_fields = fields
        columns = self.table.columns
        sep = colon()
        cards = []
        for record, row in self.rows():
            facts = []
            for name in fact_fields:
                value = self.value(record, row, name)
                value = format_money(value) if isinstance(value, Decimal) else strip_tags(str(value or "")).strip()
                if value and value != columns[name].column.default:
                    facts.append((columns[name].header, value))
            cards.append(
                format_html(
                    '<a class="record-card" href="{}" data-testid="record-card"><div class="title">{}</div>'
                    '<div class="facts">{}</div></a>',
                    record.get_absolute_url() if hasattr(record, "get_absolute_url") else "",
                    strip_tags(str(self.value(record, row, title_field))),
                    format_html_join(
                        "",
                        '<span><span class="visually-hidden">{}{}</span>{}</span>',
                        ((header, sep, value) for header, value in facts),
                    ),
                )
            )
        return "".join(cards)


def is_fast(table):
    return getattr(table._meta, "template_name", None) == FAST_TABLE_TEMPLATE


def _attrs_html(attrs):
    """``django/forms/widgets/attrs.html`` in Python."""
    parts = []
    for name, value in attrs.items():
        if value is False:
            continue
        parts.append(
            f" {conditional_escape(name)}" if value is True else f' {conditional_escape(name)}="{escape(value)}"'
        )
    return "".join(parts)


class FastSelectMixin:
    """A select rendered in Python, the same HTML as Django's ``select.html`` and ``select_option.html``
    templates (a filter's select of people or tags renders one template per option otherwise)."""

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        parts = [f'<select name="{conditional_escape(widget["name"])}"{_attrs_html(widget["attrs"])}>']
        for group_name, group_choices, _index in widget["optgroups"]:
            if group_name:
                parts.append(f'\n  <optgroup label="{conditional_escape(group_name)}">')
            for option in group_choices:
                parts.append(
                    f'\n  <option value="{escape(option["value"])}"{_attrs_html(option["attrs"])}>'
                    f"{conditional_escape(option['label'])}</option>\n"  # (the option template's last line)
                )
            if group_name:
                parts.append("\n  </optgroup>")
        parts.append("\n</select>")
        return mark_safe("".join(parts))


_FAST_WIDGETS = {}


def fast_selects(form):
    """Render the form's plain selects (single and multiple) in Python (see ``FastSelectMixin``), the
    choices of records from the cache (see ``choices_read_from``)."""
    for field in form.fields.values():
        _cached_choices(field)
        widget = field.widget
        cls = type(widget)
        if not isinstance(widget, forms.Select) or isinstance(widget, FastSelectMixin):
            continue
        if widget.template_name != forms.Select.template_name or widget.option_template_name != (
            forms.Select.option_template_name
        ):
            continue
        if cls not in _FAST_WIDGETS:
            _FAST_WIDGETS[cls] = type(f"Fast{cls.__name__}", (FastSelectMixin, cls), {})
        widget.__class__ = _FAST_WIDGETS[cls]
    return form


# --- choices of records, from the cache --------------------------------------------------------------

#: the models whose rows the cached choices show (and whose scope queries read): any change to one of
#: them starts a new version of every cached list of choices
_CHOICE_SOURCES = set()
_VERSION_KEY = "choices:version"
_CHOICES_TTL = 600


def choices_read_from(*models):
    """Declare that record choices (a filter's owners, departments, tags) read ``models``: their
    choices are cached, and a save or delete of any of these models makes every cached list stale."""
    for model in models:
        if model in _CHOICE_SOURCES:
            continue
        _CHOICE_SOURCES.add(model)
        uid = f"choices-{model._meta.label}"
        post_save.connect(_changed, sender=model, dispatch_uid=f"{uid}-save", weak=False)
        post_delete.connect(_changed, sender=model, dispatch_uid=f"{uid}-delete", weak=False)


def _new_version(**_ignored):
    cache.set(_VERSION_KEY, time.time_ns(), None)


def _changed(sender, update_fields=None, **kwargs):
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return  # a sign-in changes no choice
    _new_version()
    # again once the change is visible to others (a list cached in between would be stale)
    transaction.on_commit(_new_version)


_TABLES_READ = re.compile(r'(?:FROM|JOIN) "([^"]+)"')


def _reads_only_sources(queryset, sql):
    """Every table the choice query reads (joins and subqueries included) is a declared source."""
    tables = {model._meta.db_table for model in _CHOICE_SOURCES}
    return queryset.model in _CHOICE_SOURCES and set(_TABLES_READ.findall(sql)) <= tables


class CachedChoiceIterator(ModelChoiceIterator):
    """A model choice field's (value, label) pairs from the cache, one round trip for the list and
    its version; read from the database when the version changed (see ``choices_read_from``)."""

    def _pairs(self):
        pairs = getattr(self, "_read", None)
        if pairs is not None:
            return pairs
        field, queryset = self.field, self.queryset
        try:
            sql = str(queryset.query)
        except EmptyResultSet:
            sql = None
        if sql is None or not _reads_only_sources(queryset, sql):
            pairs = [(field.prepare_value(obj), field.label_from_instance(obj)) for obj in queryset]
        else:
            label_from = getattr(field.label_from_instance, "__qualname__", "")
            digest = hashlib.sha1(f"{get_language()}|{label_from}|{sql}".encode()).hexdigest()
            key = f"choices:{digest}"
            found = cache.get_many([_VERSION_KEY, key])
            version = found.get(_VERSION_KEY)
            if version is None:
                version = time.time_ns()
                cache.set(_VERSION_KEY, version, None)
            stored = found.get(key)
            if stored is not None and stored[0] == version:
                pairs = stored[1]
            else:
                pairs = [(field.prepare_value(obj), str(field.label_from_instance(obj))) for obj in queryset]
                cache.set(key, (version, pairs), _CHOICES_TTL)
        self._read = pairs
        return pairs

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for value, label in self._pairs():
            yield (ModelChoiceIteratorValue(value, None), label)

    def __len__(self):
        return len(self._pairs()) + (self.field.empty_label is not None)

    def __bool__(self):
        return self.field.empty_label is not None or bool(self._pairs())


_CACHED_ITERATORS = {ModelChoiceIterator: CachedChoiceIterator}


def _cached_choices(field):
    """Give a model choice field the cached iterator (a subclass such as django-filter's, which adds
    the "null" choice, keeps its own choices around the cached ones)."""
    cls = getattr(field, "iterator", None)
    if not isinstance(field, forms.ModelChoiceField) or not (
        isinstance(cls, type) and issubclass(cls, ModelChoiceIterator)
    ):
        return
    if issubclass(cls, CachedChoiceIterator):
        return
    if cls not in _CACHED_ITERATORS:
        _CACHED_ITERATORS[cls] = type(f"Cached{cls.__name__}", (cls, CachedChoiceIterator), {})
    field.iterator = _CACHED_ITERATORS[cls]
    field.widget.choices = field.choices


# --- counts of big unfiltered lists -----------------------------------------------------------------

#: below this many rows (as the planner estimates them) a list is counted exactly
ESTIMATE_FROM = 20_000


def estimated_count(queryset):
    """The number of rows of ``queryset``: on PostgreSQL, the planner's estimate (``EXPLAIN``, from the
    table statistics: no row is read) when it is at least ``ESTIMATE_FROM``; else, and on other
    databases, the exact ``count()``. Returns ``(count, estimated)``."""
    if connections[queryset.db].vendor == "postgresql":
        try:
            sql, params = queryset.order_by().values("pk").query.sql_with_params()
        except EmptyResultSet:
            return 0, False
        with connections[queryset.db].cursor() as cursor:
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
            plan = cursor.fetchone()[0]
        if isinstance(plan, str):
            plan = json.loads(plan)
        rows = int(plan[0]["Plan"]["Plan Rows"])
        if rows >= ESTIMATE_FROM:
            return rows, True
    return queryset.count(), False
