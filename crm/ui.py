"""Shared UI patterns: the scoped list (table, filters, page size, export, bulk actions),
the form styling, and the detail page's history panel."""

import csv
import datetime
import inspect
import io
import itertools
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

import django_filters
from auditlog.models import LogEntry
from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpResponse, HttpResponseRedirect, QueryDict, StreamingHttpResponse
from django.utils import timezone
from django.utils.dateformat import format as format_date
from django.utils.encoding import force_str
from django.utils.functional import cached_property
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters.views import FilterView
from django_tables2 import RequestConfig, SingleTableMixin
from django_tables2 import columns as table_columns
from django_tables2.columns.linkcolumn import BaseLinkColumn
from django_tables2.rows import BoundRows

from . import permissions, privacy
from .db_router import reads_from_replica
from .fast_table import estimated_count, fast_selects
from .models import DataScope, Department

logger = logging.getLogger(__name__)

PAGE_SIZES = (20, 50, 100)
EXPORT_CHUNK = 2000
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralize(value):
    """Make a cell safe for spreadsheets: text that a spreadsheet would run as a formula
    (starting with = + - @ tab or CR) gets a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, (int, float)) or hasattr(value, "quantize"):
        return value
    text = str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def search_text(request, name="q", limit=100):
    """A search box's text: stripped, at most ``limit`` characters, without NUL characters
    (PostgreSQL refuses them in a query: a NUL typed or pasted into a search was a server error)."""
    return request.GET.get(name, "").replace("\x00", "").strip()[:limit]


class _Echo:
    def write(self, value):
        return value


SHEET_NAME_FORBIDDEN = re.compile(r"[\\/*?:\[\]]")


def sheet_title(title):
    """A worksheet name from a list's title: at most 31 characters, none of \\ / * ? : [ ]."""
    return SHEET_NAME_FORBIDDEN.sub(" ", force_str(title or "")).strip()[:31] or "Sheet1"


def xlsx_cell(sheet, value):
    """A typed spreadsheet cell: dates and times as dates (local time, shown as 2026-11-10 or
    2026-11-10 09:30), numbers as numbers, text neutralized against formulas."""
    from openpyxl.cell import WriteOnlyCell

    if isinstance(value, datetime.datetime):
        if timezone.is_aware(value):
            value = timezone.make_naive(timezone.localtime(value))
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "yyyy-mm-dd hh:mm"
        return cell
    if isinstance(value, datetime.date):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "yyyy-mm-dd"
        return cell
    if isinstance(value, bool) or value is None:
        return neutralize(value)
    if isinstance(value, (int, float)) or hasattr(value, "quantize"):
        return value
    return neutralize(value)


def export_rows(rows, *, fmt, filename, sheet=None):
    """Stream ``rows`` (header first) as CSV, or return them as an XLSX workbook whose one
    worksheet is named ``sheet`` (the list's title) with typed cells (see ``xlsx_cell``)."""
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    name = f"{slugify(filename) or 'export'}-{stamp}"
    if fmt == "xlsx":
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        worksheet = book.create_sheet(title=sheet_title(sheet or filename))
        for row in rows:
            worksheet.append([xlsx_cell(worksheet, cell) for cell in row])
        buffer = io.BytesIO()
        book.save(buffer)
        response = HttpResponse(
            buffer.getvalue(),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
        return response
    writer = csv.writer(_Echo())

    def stream():
        yield "\ufeff"  # so that spreadsheet programs read UTF-8 (Chinese) correctly
        for row in rows:
            yield writer.writerow([neutralize(cell) for cell in row])

    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


class LocalDateTimeColumn(table_columns.Column):
    """A date-time cell in the local time zone, formatted with a date format string.

    django-tables2's ``DateTimeColumn`` renders each cell through a template (a few ms a row on a
    big page); this one formats in Python. Exports get the datetime itself (``neutralize`` formats
    it), so the fast export path reads it straight from ``values_list``."""

    export_raw = True

    def __init__(self, *args, format="Y-m-d H:i", **kwargs):
        self.format = format
        super().__init__(*args, **kwargs)

    def render(self, value):
        if isinstance(value, datetime.datetime) and timezone.is_aware(value):
            value = timezone.localtime(value)
        return format_date(value, self.format)

    def value(self, value):
        return value


class SubqueryPaginator(Paginator):
    """Pages of a table over a queryset, each fetched as ``WHERE pk IN (SELECT pk ... ORDER BY ...
    LIMIT n OFFSET m)``: the database skips the first rows in the (covering) index of the ordering
    alone, and joins and reads full rows for the page's rows only. Deep pages stay fast."""

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        rows = self.object_list
        queryset = getattr(getattr(rows, "data", None), "data", None)
        if (
            bottom == 0
            or not isinstance(rows, BoundRows)
            or not isinstance(queryset, QuerySet)
            or queryset.query.distinct
        ):
            return self._get_page(rows[bottom:top], number, self)
        sliced = queryset.filter(pk__in=queryset.values("pk")[bottom:top])
        return self._get_page(BoundRows(data=sliced, table=rows.table, pinned_data=rows.pinned_data), number, self)


class ListPaginator(Paginator):
    """The list pages' paginator: only the page sizes a list offers. django-tables2's
    ``RequestConfig`` passes ``?per_page=`` from the URL as it is, over the view's choice: a
    negative size failed with a server error, a huge one rendered every row on one page."""

    def __init__(self, object_list, per_page, *args, estimate=False, **kwargs):
        self.estimate, self.count_is_estimate = estimate, False
        super().__init__(object_list, per_page if per_page in PAGE_SIZES else PAGE_SIZES[0], *args, **kwargs)

    @cached_property
    def count(self):
        """With ``estimate`` (an unfiltered big list on PostgreSQL), the planner's estimate of the rows
        (``crm.fast_table.estimated_count``; ``count_is_estimate`` then); else the exact count."""
        queryset = getattr(getattr(self.object_list, "data", None), "data", None)
        if self.estimate and isinstance(queryset, QuerySet):
            count, self.count_is_estimate = estimated_count(queryset)
            return count
        return super().count


class ListSubqueryPaginator(ListPaginator, SubqueryPaginator):
    """``SubqueryPaginator`` with the list page sizes only."""


class _NotExportable(Exception):
    """The fast export cannot reproduce this column; the table's ``as_values`` is used instead."""


#: column classes whose exported value is the raw value (the base ``Column`` renders it unchanged)
_RAW_COLUMNS = (table_columns.DateTimeColumn, table_columns.DateColumn)


def _only_value(func):
    """``func`` can be called with the cell's value alone (not the record)."""
    try:
        parameters = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return False
    for parameter in parameters:
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            return False
        if parameter.name != "value" and parameter.default is parameter.empty:
            return False
    return "value" in [p.name for p in inspect.signature(func).parameters.values()]


class _Related:
    """Shows a foreign key as ``str()`` of the related object, fetched once per id and chunk."""

    def __init__(self, model):
        self.model, self.names = model, {}

    def prefetch(self, ids):
        missing = {pk for pk in ids if pk is not None and pk not in self.names}
        if missing:
            manager = self.model._default_manager
            for obj in manager.filter(pk__in=missing):
                self.names[obj.pk] = str(obj)

    def __call__(self, value):
        return None if value is None else self.names.get(value, value)


def _field_path(model, lookup):
    """The model fields along ``lookup`` (``owner__username`` or ``owner.username``)."""
    parts = lookup.replace(".", "__").split("__")
    fields = []
    for part in parts:
        if model is None:
            raise _NotExportable(lookup)
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist as exc:
            raise _NotExportable(lookup) from exc
        if field.many_to_many or field.one_to_many:
            raise _NotExportable(lookup)
        fields.append(field)
        model = field.related_model
    return "__".join(parts), fields


def export_plan(table, queryset, declared):
    """``(headers, paths, converters, related)`` to export ``table``'s columns from
    ``queryset.values_list(*paths)``: the table's own headers, choices shown by their labels, foreign
    keys by ``str()`` of the related object, the table's ``value_<name>`` (or ``render_<name>``)
    applied when it needs only the value. ``declared`` maps a column name to an ORM path, or to
    ``(path, function of the value)``. Raises ``_NotExportable`` for a column it cannot reproduce."""
    model = queryset.model
    headers, paths, converters, related = [], [], [], []
    for bound in table.columns.iterall():
        column = bound.column
        if column.exclude_from_export or bound.name in ("selection", "actions"):
            continue
        transform = None
        spec = declared.get(bound.name)
        if isinstance(spec, (tuple, list)):
            spec, transform = spec
        custom = getattr(table, "value_" + bound.name, None) or getattr(table, "render_" + bound.name, None)
        if spec is None:
            kind = type(column)
            plain = kind.render is table_columns.Column.render and kind.value is table_columns.Column.value
            if not (
                plain
                or getattr(column, "export_raw", False)
                or isinstance(column, _RAW_COLUMNS)
                or (isinstance(column, BaseLinkColumn) and column.text is None)
            ):
                raise _NotExportable(bound.name)
            spec = str(bound.accessor)
        if custom is not None and transform is None:
            if not _only_value(custom):
                raise _NotExportable(bound.name)
            transform = custom
        if hasattr(transform, "prefetch"):  # reads its values per chunk of rows (e.g. tag names by id)
            related.append((len(paths), transform))
        path, fields = _field_path(model, spec)
        last = fields[-1]
        if last.is_relation:  # a foreign key: its id, shown as the related object
            convert = _Related(last.related_model)
            related.append((len(paths), convert))
        elif getattr(last, "flatchoices", None):
            labels = dict(last.flatchoices)
            convert = lambda value, labels=labels: labels.get(value, value)  # noqa: E731
        else:
            convert = None
        headers.append(force_str(bound.header, strings_only=True))
        paths.append(path)
        converters.append((convert, transform))
    return headers, paths, converters, related


def export_values(queryset, headers, paths, converters, related, *, chunk=EXPORT_CHUNK):
    """Rows (header first) read from ``values_list`` in chunks of ``chunk`` rows."""
    yield headers
    iterator = queryset.values_list(*paths).iterator(chunk_size=chunk)
    while True:
        batch = list(itertools.islice(iterator, chunk))
        if not batch:
            return
        for index, resolver in related:
            resolver.prefetch({row[index] for row in batch})
        for row in batch:
            cells = []
            for value, (convert, transform) in zip(row, converters):
                if convert is not None:
                    value = convert(value)
                if transform is not None:
                    value = transform(value=value)
                cells.append(force_str(value, strings_only=True))
            yield cells


@dataclass
class BulkAction:
    """An action on the selected rows. ``handler(request, queryset)`` gets only rows in scope
    and returns the message to show; it may read extra fields from ``request.POST``."""

    name: str
    label: str
    action: str  # permission action, see crm.permissions.ACTIONS
    handler: Callable
    confirm: str = ""
    danger: bool = False
    form_class: type | None = None  # extra inputs shown in the confirmation dialog


class ScopedListView(LoginRequiredMixin, SingleTableMixin, FilterView):
    """The one list pattern. Subclasses set ``model``, ``table_class``, ``filterset_class``,
    ``view_action`` and optionally ``export_action`` and ``bulk_actions``."""

    template_name = "crm/list.html"
    view_action = None
    export_action = None
    bulk_actions: tuple = ()
    create_url = None
    create_action = None
    title = ""
    empty_text = gettext_lazy("Nothing here yet.")
    #: on phones the list shows cards: the first field as the title, the others as facts
    card_fields: tuple = ()
    export_name = "export"

    def base_queryset(self):
        return self.model._default_manager.all()

    def get_queryset(self):
        return permissions.visible(self.request.user, self.base_queryset())

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and self.view_action:
            permissions.require(request.user, self.view_action)
        return super().dispatch(request, *args, **kwargs)

    def get_filterset(self, filterset_class):
        filterset = super().get_filterset(filterset_class)
        tidy_filter_form(filterset.form, self.request.user)
        return filterset

    #: fetch pages after the first with ``pk IN (subquery with LIMIT/OFFSET)`` (see SubqueryPaginator)
    paginate_by_subquery = False

    def get_table_pagination(self, table):
        # only the table paginates (Django's list pagination would count the rows a second time)
        try:
            size = int(self.request.GET.get("per_page", PAGE_SIZES[0]))
        except ValueError:
            size = PAGE_SIZES[0]
        return {
            "per_page": size if size in PAGE_SIZES else PAGE_SIZES[0],
            "paginator_class": ListSubqueryPaginator if self.paginate_by_subquery else ListPaginator,
            "estimate": self.estimate_count and not self.filters_active(),
        }

    #: an unfiltered list of many rows shows the planner's estimate of its size (PostgreSQL)
    estimate_count = False

    def filters_active(self):
        return any(v for k, v in self.request.GET.items() if k not in ("page", "per_page", "sort"))

    def get_table_kwargs(self):
        kwargs = super().get_table_kwargs()
        if not self.available_bulk_actions():
            kwargs.setdefault("exclude", ("selection",))
        return kwargs

    def available_bulk_actions(self):
        return [a for a in self.bulk_actions if permissions.can(self.request.user, a.action)]

    def get(self, request, *args, **kwargs):
        fmt = request.GET.get("export")
        if fmt in ("csv", "xlsx"):  # exports read from the replica when there is one (crm.db_router)
            return reads_from_replica(lambda request: self.export(fmt))(request)
        return super().get(request, *args, **kwargs)

    def export(self, fmt):
        if not (self.export_action and permissions.can(self.request.user, self.export_action)):
            raise PermissionDenied
        filterset = self.get_filterset(self.get_filterset_class())
        valid = not filterset.is_bound or filterset.is_valid()
        queryset = filterset.qs if valid else filterset.queryset.none()
        table = self.get_table_class()(queryset, **self.get_table_kwargs())
        RequestConfig(self.request, paginate=False).configure(table)
        self.on_export(queryset)
        return export_rows(
            self.export_row_values(table, queryset),
            fmt=fmt,
            filename=self.export_name,
            sheet=self.title or self.model._meta.verbose_name_plural,
        )

    #: Set (to a dict, ``{}`` for "infer every column") to export from ``values_list`` instead of
    #: rendering every cell through the table: ``{column name: "orm__path"}`` or
    #: ``{column name: ("orm__path", function(value))}`` for columns that cannot be inferred (a
    #: ``TemplateColumn``, a ``render_<name>`` that reads the record). ``None``: the table's ``as_values``.
    export_fields = None

    def export_row_values(self, table, queryset):
        """The export's rows, header first: read with ``values_list`` when the view declares
        ``export_fields`` (and every column can be read so), else through the table."""
        if self.export_fields is not None:
            ordered = getattr(table.data, "data", None)  # the queryset as the table sorted it
            if isinstance(ordered, QuerySet):
                try:
                    plan = export_plan(table, ordered, self.export_fields)
                except _NotExportable as exc:
                    logger.warning("%s: column %s is exported through the table (slow)", type(self).__name__, exc)
                else:
                    return export_values(ordered, *plan)
        return table.as_values(exclude_columns=("selection", "actions"))

    #: whose personal data the list holds (``crm.privacy.Subject``) and the path to that person's id:
    #: an export then names every exported person in the access log
    access_subject = None
    access_id_path = "pk"

    def on_export(self, queryset):
        """Log the export in the personal-data access log when the list holds personal data."""
        if self.access_subject:
            path = self.access_id_path
            ids = queryset.order_by().filter(**{f"{path}__isnull": False}).values_list(path, flat=True).distinct()
            privacy.log_access(
                action=privacy.Action.EXPORT,
                subject=self.access_subject,
                queryset=ids,
                request=self.request,
                detail=self.request.GET.urlencode(),
            )

    def post(self, request, *args, **kwargs):
        name = request.POST.get("bulk_action")
        action = next((a for a in self.available_bulk_actions() if a.name == name), None)
        if action is None:
            raise PermissionDenied
        ids = [int(pk) for pk in request.POST.getlist("selection") if pk.isdigit()]
        if not ids:
            messages.warning(request, _("Select at least one row first."))
        else:
            queryset = self.get_queryset().filter(pk__in=ids)
            try:
                message = action.handler(request, queryset)
            except forms.ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
            else:
                messages.success(request, message)
        return HttpResponseRedirect(request.get_full_path())

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        actions = self.available_bulk_actions()
        context.update(
            title=self.title or self.model._meta.verbose_name_plural,
            bulk_actions=actions,
            bulk_forms={a.name: fast_selects(a.form_class(user=self.request.user)) for a in actions if a.form_class},
            can_export=bool(self.export_action and permissions.can(self.request.user, self.export_action)),
            page_sizes=PAGE_SIZES,
            create_url=self.create_url
            if self.create_url and (not self.create_action or permissions.can(self.request.user, self.create_action))
            else None,
            empty_text=self.empty_text,
            card_fields=self.card_fields,
            filters_active=self.filters_active(),
        )
        return context


#: what Django and django-filter put first in a select when nothing is chosen
BLANK_LABELS = ("---------", "")


def tidy_filter_form(form, user):
    """A list's filter form as people read it: an empty choice says "All" (never "---------"), and
    a department filter offers only the departments in the user's data scope. Its selects render in
    Python (``crm.fast_table.fast_selects``)."""
    for field in form.fields.values():
        if getattr(field, "empty_label", None) in BLANK_LABELS[:1]:
            field.empty_label = gettext_lazy("All")
        queryset = getattr(field, "queryset", None)
        if isinstance(queryset, QuerySet) and queryset.model is Department:
            field.queryset = queryset.filter(pk__in=permissions.departments_for(user).values("pk"))
    return fast_selects(form)


def narrow_to_scope(form, user, *, owners_by=None):
    """The one scope narrowing of a filter form's ``department`` and ``owner`` fields: someone who
    sees only their own records gets neither (nothing to narrow); anyone else picks among the
    departments of their data scope and the people they may assign to (ordered by ``owners_by``).
    Returns the user's effective scope."""

    scope = permissions.effective_scope(user)
    if scope == DataScope.SELF:
        form.fields.pop("department", None)
        form.fields.pop("owner", None)
        return scope
    departments = Department.objects.all()
    if scope != DataScope.ALL:
        departments = departments.filter(pk__in=sorted(permissions.scope_department_ids(user)))
    form.fields["department"].queryset = departments
    owners = permissions.assignable_users(user)
    form.fields["owner"].queryset = owners.order_by(*owners_by) if owners_by else owners
    return scope


class DateInput(forms.DateInput):
    """The browser's date picker. Its value is always ISO (YYYY-MM-DD): under zh-hans Django would
    write an initial date as YYYY/MM/DD, which the picker rejects and shows empty."""

    input_type = "date"
    format = "%Y-%m-%d"

    def __init__(self, attrs=None, format=None):
        super().__init__(attrs, format or self.format)


class DateTimeInput(forms.DateTimeInput):
    """The browser's date-and-time picker, its value ISO (YYYY-MM-DDTHH:MM) in every language."""

    input_type = "datetime-local"
    format = "%Y-%m-%dT%H:%M"

    def __init__(self, attrs=None, format=None):
        super().__init__(attrs, format or self.format)


class StyledFormMixin:
    """Bootstrap classes on every widget, ``is-invalid`` on fields with errors, and the browser's
    pickers for dates and times, written in ISO as the pickers require (see :class:`DateInput`)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, (forms.CheckboxInput,)):
                css = "form-check-input"
            elif isinstance(widget, (forms.CheckboxSelectMultiple, forms.RadioSelect)):
                css = ""
            elif isinstance(widget, (forms.Select, forms.SelectMultiple)):
                css = "form-select"
            else:
                css = "form-control"
            if css:
                widget.attrs["class"] = (widget.attrs.get("class", "") + " " + css).strip()
            if isinstance(widget, forms.DateInput) and widget.input_type in ("text", "date"):
                widget.input_type, widget.format = "date", DateInput.format
            if isinstance(widget, forms.DateTimeInput) and widget.input_type in ("text", "datetime-local"):
                widget.input_type, widget.format = "datetime-local", DateTimeInput.format

    def full_clean(self):
        super().full_clean()
        self._mark_invalid()

    def add_error(self, field, error):
        super().add_error(field, error)
        self._mark_invalid()

    def _mark_invalid(self):
        for name in self._errors or {}:
            if name in self.fields:
                widget = self.fields[name].widget
                if "is-invalid" not in widget.attrs.get("class", ""):
                    widget.attrs["class"] = (widget.attrs.get("class", "") + " is-invalid").strip()
                widget.attrs["aria-invalid"] = "true"


def add_domain_error(form, exc, field=None, *, field_map=None):
    """Show a service's refusal on the form: each of a :class:`crm.errors.DomainError`'s ``fields``
    beside that field (a field the form does not have goes to the top of the form), or — with no
    fields — its message beside ``field`` (``None``: at the top). A Django ``ValidationError`` with
    a dict of fields is placed the same way (``field_map`` renames a service's field to the form's).
    A domain message (English, the API's) is shown in the page's language when the catalogue has it."""
    fields = getattr(exc, "fields", None)
    if fields is None and hasattr(exc, "error_dict"):
        fields = exc.message_dict
    if not fields:
        messages = exc.messages if hasattr(exc, "error_list") else [getattr(exc, "message", None) or str(exc)]
        fields = {field: messages}
    for name, errors in fields.items():
        name = (field_map or {}).get(name, name)
        form.add_error(name if name in form.fields else None, [_(str(message)) for message in errors])
    return form


class ListFilterSet(django_filters.FilterSet):
    """The base of a list's filters: the form styled like every form, the ``owner`` filter offering
    the people the user may assign to (ordered by ``owners_by``), and — with ``default_status`` —
    the ``status`` filter set to it when the query names no status (a list opens on what is open)."""

    default_status = None
    owners_by = ("username",)

    def __init__(self, data=None, *args, request=None, **kwargs):
        if self.default_status is not None and (data is None or not data.get("status")):
            data = data.copy() if data is not None else QueryDict(mutable=True)
            data["status"] = self.default_status
        super().__init__(data, *args, request=request, **kwargs)
        if request is not None and "owner" in self.filters:
            self.filters["owner"].queryset = permissions.assignable_users(request.user).order_by(*self.owners_by)

    def get_form_class(self):
        return type("StyledFilterForm", (StyledFormMixin, super().get_form_class()), {})


def history_for(obj, limit=50):
    """The audit-log entries of one record, newest first, with the actor in the same query.

    Entries that record a set of names (``{"tags": [[before...], [after...]]}``, written by
    services that change a through table directly) are shown as comma-separated lists."""
    entries = list(
        LogEntry.objects.get_for_object(obj).select_related("actor", "content_type").order_by("-timestamp")[:limit]
    )
    for entry in entries:
        if isinstance(entry.changes, dict) and any(_holds_lists(v) for v in entry.changes.values()):
            entry.changes = {
                name: [_joined(v) for v in values] if _holds_lists(values) else values
                for name, values in entry.changes.items()
            }
    return entries


def _holds_lists(values):
    return isinstance(values, list) and any(isinstance(v, list) for v in values)


def _joined(value):
    return ", ".join(str(v) for v in value) if isinstance(value, list) else value
