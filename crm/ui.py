"""Shared UI patterns: the scoped list (table, filters, page size, export, bulk actions),
the form styling, and the detail page's history panel."""
import csv
import datetime
import io
from dataclasses import dataclass
from typing import Callable

from auditlog.models import LogEntry
from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters.views import FilterView
from django_tables2 import RequestConfig, SingleTableMixin

from . import permissions

PAGE_SIZES = (20, 50, 100)
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


class _Echo:
    def write(self, value):
        return value


def export_rows(rows, *, fmt, filename):
    """Stream ``rows`` (header first) as CSV, or return them as an XLSX workbook."""
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    name = f"{slugify(filename) or 'export'}-{stamp}"
    if fmt == "xlsx":
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet()
        for row in rows:
            sheet.append([neutralize(cell) for cell in row])
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
    export_name = "export"

    def base_queryset(self):
        return self.model._default_manager.all()

    def get_queryset(self):
        return permissions.visible(self.request.user, self.base_queryset())

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and self.view_action:
            permissions.require(request.user, self.view_action)
        return super().dispatch(request, *args, **kwargs)

    def get_table_pagination(self, table):
        # only the table paginates (Django's list pagination would count the rows a second time)
        try:
            size = int(self.request.GET.get("per_page", PAGE_SIZES[0]))
        except ValueError:
            size = PAGE_SIZES[0]
        return {"per_page": size if size in PAGE_SIZES else PAGE_SIZES[0]}

    def get_table_kwargs(self):
        kwargs = super().get_table_kwargs()
        if not self.available_bulk_actions():
            kwargs.setdefault("exclude", ("selection",))
        return kwargs

    def available_bulk_actions(self):
        return [a for a in self.bulk_actions if permissions.can(self.request.user, a.action)]

    def get(self, request, *args, **kwargs):
        fmt = request.GET.get("export")
        if fmt in ("csv", "xlsx"):
            return self.export(fmt)
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
        return export_rows(table.as_values(exclude_columns=("selection", "actions")), fmt=fmt, filename=self.export_name)

    def on_export(self, queryset):
        """Hook for an access log of exports."""

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
            bulk_forms={a.name: a.form_class(user=self.request.user) for a in actions if a.form_class},
            can_export=bool(self.export_action and permissions.can(self.request.user, self.export_action)),
            page_sizes=PAGE_SIZES,
            create_url=self.create_url
            if self.create_url and (not self.create_action or permissions.can(self.request.user, self.create_action))
            else None,
            empty_text=self.empty_text,
            filters_active=any(
                v for k, v in self.request.GET.items() if k not in ("page", "per_page", "sort")
            ),
        )
        return context


class StyledFormMixin:
    """Bootstrap classes on every widget, and ``is-invalid`` on fields with errors."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
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
            if isinstance(widget, forms.DateInput):
                widget.input_type = "date"
            if isinstance(widget, forms.DateTimeInput):
                widget.input_type = "datetime-local"

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


def history_for(obj, limit=50):
    """The audit-log entries of one record, newest first, with the actor in the same query."""
    return (
        LogEntry.objects.get_for_object(obj)
        .select_related("actor", "content_type")
        .order_by("-timestamp")[:limit]
    )
