"""The audit log (操作日志) as people read it: who made each change, the real fields that changed
with readable values, and contact details masked like on every other page.

Who: an entry names a user (``actor``), or — for changes no person made in a request — what made
it, kept in ``additional_data["by"]``: a tag rule (``by_rule``), a background job (``acting``
around the job's work; every Celery task is wrapped by ``config.celery``). API clients act through
their service user; imports run as the user who started them.
"""

import contextlib
import contextvars
import datetime
import decimal
import re

from auditlog.models import LogEntry
from django.core.exceptions import FieldDoesNotExist
from django.db.models.signals import pre_save
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from .labels import labelled
from .privacy import CONTACT_MASKS, Subject

_acting = contextvars.ContextVar("crm_audit_acting", default=None)
#: fields that hold contact details, and how each is masked (as crm.privacy masks them)
_GENERIC_REPR = re.compile(r"^(?P<model>\w+) object \((?P<pk>[^)]*)\)$")


def by_rule(rule):
    """``additional_data`` of an entry written by a rule."""
    return {"by": {"kind": "rule", "name": str(rule), "model": rule._meta.label_lower, "id": rule.pk}}


@contextlib.contextmanager
def acting(kind, name):
    """Entries written inside without a user name ``kind`` ("job", "rule") ``name`` as their author."""
    token = _acting.set({"kind": kind, "name": str(name)})
    try:
        yield
    finally:
        _acting.reset(token)


def _fill_author(sender, instance, **kwargs):
    author = _acting.get()
    if author is None or instance.actor_id is not None:
        return
    data = instance.additional_data if isinstance(instance.additional_data, dict) else {}
    if "by" not in data:
        instance.additional_data = {**data, "by": author}


pre_save.connect(_fill_author, sender=LogEntry, dispatch_uid="crm-audit-author")


def _name(obj):
    name = getattr(obj, "display_name", None)
    return str((name() if callable(name) else name) or obj)


def who(entry):
    """The author of an entry in words: the user's name, "规则：…", "后台任务：…", or "—"."""
    if entry.actor_id:
        return _name(entry.actor)
    by = (entry.additional_data or {}).get("by") if isinstance(entry.additional_data, dict) else None
    if by:
        label = {"rule": _("Rule"), "job": _("Background job"), "api": _("API client")}.get(by.get("kind"), "")
        return labelled(label, by.get("name", "")) if label else by.get("name", "—")
    return "—"


def record_name(entry):
    """The record's name: ``object_repr``, or "公海规则 #3" for the generic "PoolRule object (3)"."""
    match = _GENERIC_REPR.match(entry.object_repr or "")
    if match:
        model = entry.content_type.model_class() if entry.content_type_id else None
        if model is not None:
            return f"{model._meta.verbose_name} #{match['pk']}"
    return entry.object_repr


def local_time(value):
    """An aware datetime as the pages show it: Shanghai (the current time zone), to the second."""
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S") if value else ""


def _field(model, name):
    """The model field ``name`` when it is a real field of the record (a column or a many-to-many),
    else None: reverse relations (``tag_links``) are not the record's fields."""
    if model is None:
        return None
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    real = getattr(field, "concrete", False) or getattr(field, "many_to_many", False)
    if not real or (field.auto_created and not field.concrete) or getattr(field, "primary_key", False):
        return None
    return field


def _blank(value):
    return value in (None, "", "None", [], {})


def _readable(field, value, related):
    """One stored value in words."""
    if _blank(value):
        return ""
    if isinstance(value, dict) and value.get("type") == "m2m":  # auditlog's many-to-many change
        objects = "、".join(str(o) for o in value.get("objects", []))
        return f"+ {objects}" if value.get("operation") == "add" else f"− {objects}"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    text = str(value)
    choices = dict(field.flatchoices) if getattr(field, "choices", None) else None
    if choices:
        return str(choices.get(text, choices.get(value, text)))
    internal = field.get_internal_type()
    if internal == "BooleanField":
        return _("yes") if text in ("True", "true", "1") else _("no")
    if internal == "DateTimeField":
        parsed = parse_datetime(text.replace(" ", "T", 1)) if "T" not in text else parse_datetime(text)
        if parsed is not None:
            if timezone.is_naive(parsed):
                parsed = timezone.make_aware(parsed, datetime.UTC)
            return local_time(parsed)
    if internal == "DecimalField":  # amounts as every page shows them: 12,800.00
        try:
            return f"{decimal.Decimal(text):,.{field.decimal_places}f}"
        except (decimal.InvalidOperation, ValueError, TypeError):
            return text
    if internal == "DateField":
        parsed = parse_date(text[:10])
        return parsed.isoformat() if parsed else text
    if (field.is_relation and field.many_to_one) or internal in ("ForeignKey", "OneToOneField"):
        return related.get((field.related_model, text), text)
    return text


def _masked(name, text, mask):
    if mask and name in CONTACT_MASKS and text:
        return CONTACT_MASKS[name](text)
    return text


def change_rows(entries, *, mask=True):
    """{entry pk: [(label, before, after), …]} for ``entries``: only the record's real fields, only
    values that differ, in words (choices, related records by name, Shanghai times, yes/no), contact
    details masked unless ``mask`` is False. Related records are read with one query per model."""
    wanted = {}
    parsed = []
    for entry in entries:
        model = entry.content_type.model_class() if entry.content_type_id else None
        rows = []
        for name, values in (entry.changes_dict or {}).items():
            field = _field(model, name)
            if field is None:
                continue
            if isinstance(values, dict):  # auditlog's many-to-many change
                before, after = None, values
            else:
                values = list(values) + [None, None]
                before, after = values[0], values[1]
            if field.many_to_one or field.one_to_one:
                for value in (before, after):
                    if not _blank(value):
                        wanted.setdefault(field.related_model, set()).add(str(value))
            rows.append((name, field, before, after))
        parsed.append((entry, rows))
    related = {}
    for model, pks in wanted.items():
        keys = (
            [pk for pk in pks if pk.isdigit()]
            if model._meta.pk.get_internal_type() in ("AutoField", "BigAutoField", "IntegerField")
            else list(pks)
        )
        for obj in model._default_manager.filter(pk__in=keys):
            related[(model, str(obj.pk))] = _name(obj)
    result = {}
    for entry, rows in parsed:
        lines = []
        for name, field, before, after in rows:
            old = _masked(name, _readable(field, before, related), mask)
            new = _masked(name, _readable(field, after, related), mask)
            if old == new and entry.action == LogEntry.Action.UPDATE:
                continue
            if entry.action == LogEntry.Action.CREATE and not new:
                continue  # a create lists the values set, not every empty field
            lines.append((str(field.verbose_name), old, new))
        result[entry.pk] = lines
    return result


def changes_text(lines, action):
    """The changes of one entry as one line of text (the CSV/XLSX export)."""
    parts = []
    for label, old, new in lines:
        if action == LogEntry.Action.UPDATE:
            parts.append(labelled(label, f"{old or '—'} → {new or '—'}"))
        else:
            parts.append(labelled(label, new or old or "—"))
    return "; ".join(parts)


def _job_started(task_id=None, task=None, **kwargs):
    """Every Celery task's changes without a user name the job (its task name)."""
    token = _acting.set({"kind": "job", "name": getattr(task, "name", "") or ""})
    _job_tokens[task_id] = token


def _job_finished(task_id=None, **kwargs):
    token = _job_tokens.pop(task_id, None)
    if token is not None:
        try:
            _acting.reset(token)
        except ValueError:  # reset from another context (eager tasks nested in a request)
            _acting.set(None)


_job_tokens = {}


def connect_jobs():
    from celery.signals import task_postrun, task_prerun

    task_prerun.connect(_job_started, dispatch_uid="crm-audit-job-started", weak=False)
    task_postrun.connect(_job_finished, dispatch_uid="crm-audit-job-finished", weak=False)


def person_subject(entry):
    """The personal-data subject (crm.privacy) of an entry about a customer or a lead, else None."""
    label = (entry.content_type.app_label, entry.content_type.model) if entry.content_type_id else None
    return {("customers", "customer"): Subject.CUSTOMER, ("sales", "lead"): Subject.LEAD}.get(label)


def holds_contact(entry):
    """Whether the entry's changes include a contact detail (a mobile, a WeChat id, an email)."""
    return any(name in CONTACT_MASKS for name in (entry.changes_dict or {}))
