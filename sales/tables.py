"""Tables of the sales lists."""
import datetime

import django_tables2 as tables
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from crm.ui import LocalDateTimeColumn
from customers.tables import ContactColumns

from .models import Lead

GRADE_BADGES = {"A": "text-bg-success", "B": "text-bg-primary", "C": "text-bg-warning", "D": "text-bg-secondary"}


def iso_or_none(value):
    """A date-time as django-tables2's ``DateTimeColumn`` exports it (``isoformat(sep=" ")``, UTC as
    read from the database): the export of the sales lists keeps that text."""
    return value.isoformat(sep=" ") if isinstance(value, datetime.datetime) else value


def grade_badge(grade):
    return format_html('<span class="badge {}" data-grade="{}">{}</span>',
                       GRADE_BADGES.get(grade, "text-bg-secondary"), grade, grade)


class LeadTable(ContactColumns, tables.Table):
    selection = tables.CheckBoxColumn(accessor="pk", attrs={"th__input": {"class": "form-check-input js-select-all"},
                                                            "td__input": {"class": "form-check-input js-select-row"}})
    name = tables.Column(linkify=True)
    mobile = tables.Column()
    grade = tables.Column()
    owner = tables.Column(verbose_name=_("owner"), order_by=("owner__last_name", "owner__first_name"),
                          default=_("Public pool"))
    created_at = LocalDateTimeColumn(format="Y-m-d H:i")

    class Meta:
        model = Lead
        fields = ("selection", "name", "mobile", "source", "grade", "score", "status", "owner", "created_at")
        attrs = {"class": "table table-hover align-middle mb-0"}
        empty_text = _("No leads match.")
        template_name = "sales/table.html"  # the rows rendered in Python (same HTML)
        order_by = ("-created_at",)

    def render_grade(self, value):
        return grade_badge(value)

    def value_grade(self, value):
        return value


class FollowUpTable(tables.Table):
    """跟进记录: every touch in scope, newest first."""

    at = LocalDateTimeColumn(verbose_name=_("time"))
    subject = tables.Column(verbose_name=_("customer or lead"), accessor="pk", orderable=False,
                            exclude_from_export=True)
    content = tables.Column(verbose_name=_("content"))

    class Meta:
        from .models import FollowUp

        model = FollowUp
        fields = ["at", "subject", "channel", "direction", "outcome", "content", "created_by"]
        attrs = {"class": "table table-hover align-middle mb-0"}
        order_by = ("-at",)

    def render_subject(self, record):
        target = record.customer or record.lead
        return format_html('<a href="{}">{}</a>', target.get_absolute_url(), target.name) if target else "—"

    def render_content(self, value):
        return value if len(value) <= 80 else value[:79] + "…"
