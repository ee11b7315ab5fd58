"""Tables of the sales lists."""

import datetime

import django_tables2 as tables
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, mark_safe
from django.utils.translation import gettext_lazy
from django.utils.translation import gettext_lazy as _

from crm.fast_table import FAST_TABLE_TEMPLATE
from crm.ui import LocalDateTimeColumn
from customers.tables import ContactColumns

from .models import FollowUp, Lead, Opportunity, ServiceTicket

GRADE_BADGES = {"A": "text-bg-success", "B": "text-bg-primary", "C": "text-bg-warning", "D": "text-bg-secondary"}


def iso_or_none(value):
    """A date-time as django-tables2's ``DateTimeColumn`` exports it (``isoformat(sep=" ")``, UTC as
    read from the database): the export of the sales lists keeps that text."""
    return value.isoformat(sep=" ") if isinstance(value, datetime.datetime) else value


def grade_badge(grade):
    return format_html(
        '<span class="badge {}" data-grade="{}">{}</span>', GRADE_BADGES.get(grade, "text-bg-secondary"), grade, grade
    )


def days_since(moment, now=None):
    return max(((now or timezone.now()) - moment).days, 0)


UNRESOLVED = (ServiceTicket.Status.OPEN, ServiceTicket.Status.IN_PROGRESS)


def is_overdue(ticket, now=None):
    return bool(ticket.due_at and ticket.status in UNRESOLVED and ticket.due_at < (now or timezone.now()))


class LeadTable(ContactColumns, tables.Table):
    selection = tables.CheckBoxColumn(
        accessor="pk",
        attrs={
            "th__input": {"class": "form-check-input js-select-all", "aria-label": _("Select all")},
            "td__input": {"class": "form-check-input js-select-row", "aria-label": _("Select this row")},
        },
    )
    name = tables.Column(linkify=True)
    mobile = tables.Column()
    grade = tables.Column()
    owner = tables.Column(
        verbose_name=_("owner"), order_by=("owner__last_name", "owner__first_name"), default=_("Public pool")
    )
    created_at = LocalDateTimeColumn(format="Y-m-d H:i")

    class Meta:
        model = Lead
        fields = ("selection", "name", "mobile", "source", "grade", "score", "status", "owner", "created_at")
        attrs = {"class": "table table-hover align-middle mb-0"}
        empty_text = _("No leads match.")
        template_name = FAST_TABLE_TEMPLATE  # the rows from compiled columns (same HTML)
        order_by = ("-created_at",)

    def render_grade(self, value):
        return grade_badge(value)

    def value_grade(self, value):
        return value


class FollowUpTable(tables.Table):
    """跟进记录: every touch in scope, newest first."""

    at = LocalDateTimeColumn(verbose_name=_("time"))
    subject = tables.Column(
        verbose_name=_("customer or lead"), accessor="pk", orderable=False, exclude_from_export=True
    )
    content = tables.Column(verbose_name=_("content"))

    class Meta:
        model = FollowUp
        fields = ["at", "subject", "channel", "direction", "outcome", "content", "created_by"]
        attrs = {"class": "table table-hover align-middle mb-0"}
        order_by = ("-at",)

    def render_subject(self, record):
        target = record.customer or record.lead
        return format_html('<a href="{}">{}</a>', target.get_absolute_url(), target.name) if target else "—"

    def render_content(self, value):
        return value if len(value) <= 80 else value[:79] + "…"


class OpportunityTable(tables.Table):
    name = tables.Column(linkify=True)
    customer = tables.Column(order_by=("customer__name",))
    owner = tables.Column(order_by=("owner__last_name", "owner__first_name"))
    stage = tables.Column(order_by=("stage__position",))
    amount = tables.Column(attrs={"td": {"class": "text-end"}, "th": {"class": "text-end"}})
    win_prob = tables.Column(
        verbose_name=gettext_lazy("Win probability"), attrs={"td": {"class": "text-end"}, "th": {"class": "text-end"}}
    )
    weighted = tables.Column(
        verbose_name=gettext_lazy("Weighted amount"), attrs={"td": {"class": "text-end"}, "th": {"class": "text-end"}}
    )
    expected_close = LocalDateTimeColumn(format="Y-m-d")
    days_in_stage = tables.Column(
        accessor="stage_entered_at",
        verbose_name=gettext_lazy("Days in stage"),
        order_by=("-stage_entered_at",),
        attrs={"td": {"class": "text-end"}},
    )

    class Meta:
        model = Opportunity
        fields = (
            "name",
            "customer",
            "owner",
            "stage",
            "amount",
            "win_prob",
            "weighted",
            "expected_close",
            "days_in_stage",
        )
        attrs = {"class": "table table-hover align-middle mb-0"}
        empty_text = gettext_lazy("No opportunities match.")
        template_name = FAST_TABLE_TEMPLATE  # the rows from compiled columns (same HTML)
        order_by = ("expected_close",)

    def __init__(self, *args, **kwargs):
        self.now = timezone.now()
        super().__init__(*args, **kwargs)

    def render_stage(self, record):
        stage = record.stage
        css = "text-bg-success" if stage.is_won else "text-bg-danger" if stage.is_lost else "text-bg-light border"
        lock = '<i class="bi bi-lock-fill ms-1" aria-hidden="true"></i>' if stage.approval_role else ""
        return format_html('<span class="badge {}">{}{}</span>', css, stage.name, mark_safe(lock))

    def value_stage(self, record):
        return record.stage.name

    def render_amount(self, value):
        return f"¥{value:,.2f}"

    def value_amount(self, value):
        return value

    def render_win_prob(self, value):
        return f"{value}%"

    def value_win_prob(self, value):
        return value

    def render_weighted(self, value):
        return f"¥{value:,.2f}"

    def value_weighted(self, value):
        return value

    def render_days_in_stage(self, value):
        return days_since(value, self.now)

    def value_days_in_stage(self, value):
        return days_since(value, self.now)


class TicketTable(tables.Table):
    kind = tables.Column()
    title = tables.Column(linkify=lambda record: reverse("sales:ticket", args=[record.pk]))
    customer = tables.Column(linkify=lambda record: record.customer.get_absolute_url(), order_by=("customer__name",))
    status = tables.Column()
    owner = tables.Column(order_by=("owner__last_name", "owner__first_name"), default="—")
    due_at = LocalDateTimeColumn(format="Y-m-d H:i", default="—")
    created_at = LocalDateTimeColumn(format="Y-m-d H:i")

    class Meta:
        model = ServiceTicket
        fields = ("kind", "title", "customer", "status", "owner", "due_at", "created_at")
        attrs = {"class": "table table-hover align-middle mb-0"}
        row_attrs = {
            "class": lambda record: "table-danger" if is_overdue(record) else "",
            "data-overdue": lambda record: "1" if is_overdue(record) else "0",
        }
        order_by = ("due_at",)
        template_name = FAST_TABLE_TEMPLATE  # the rows from compiled columns (same HTML)

    def render_due_at(self, value, record):
        text = timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
        if is_overdue(record):
            return format_html('{} <span class="badge text-bg-danger">{}</span>', text, _("Overdue"))
        return text

    def value_due_at(self, value):
        return value
