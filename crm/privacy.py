"""Personal information protection (个人信息保护): masking, the access log, erasure.

- Contact details are masked on every page unless ``MASK_PERSONAL_DATA`` is off; users whose role
  may see them press "Reveal" on one person's page, and each reveal is logged.
- ``log_access`` records who viewed, revealed, exported or erased which people's data; a list
  export names every exported person, written with one ``INSERT … SELECT``.
- Models declare the fields that hold personal data in ``personal_fields``; ``erase`` blanks them
  set-based and ``redact_history`` blanks the same fields in the audit log, so an anonymized
  person cannot be read back from history. Figures (orders, totals, counts) are untouched.
"""

import re

from auditlog.models import LogEntry
from django.apps import apps
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import EmptyResultSet, FieldDoesNotExist
from django.db import connection, models
from django.db.models import Q

from . import name_keys, permissions
from .models import AccessLog, AccessLogRecord
from .phone import mask_email, mask_mobile, mask_text

REDACTED = "***"
Action = AccessLog.Action
Subject = AccessLog.Subject
#: contact details and how each is masked
CONTACT_MASKS = {"mobile": mask_mobile, "wechat_id": mask_text, "email": mask_email}


def reveal_required():
    """Whether contact details stay masked until revealed (the ``MASK_PERSONAL_DATA`` setting)."""
    return getattr(settings, "MASK_PERSONAL_DATA", True)


def may_reveal(user):
    return permissions.can(user, "customers.view_mobile")


def may_see_contact(user):
    """Whether pages show this user full contact details without a reveal."""
    return may_reveal(user) and not reveal_required()


def contact(person, *, revealed):
    """The contact details ``person`` (a customer, a lead) has: in full when ``revealed``, else masked."""
    return {
        name: getattr(person, name) if revealed else mask(getattr(person, name))
        for name, mask in CONTACT_MASKS.items()
        if hasattr(person, name)
    }


def client_ip(request):
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def log_access(*, action, subject, ids=(), queryset=None, user=None, client=None, request=None, detail=""):
    """Record one access. ``ids``: the people concerned, or ``queryset``: a ``values_list`` of
    their ids (an export), inserted in the database without reading them into Python."""
    user = user if user is not None else getattr(request, "user", None)
    if user is not None and not getattr(user, "is_authenticated", False):
        user = None
    ids = list(ids)
    log = AccessLog.objects.create(
        action=action,
        subject=subject,
        user=user,
        client=client,
        ip=client_ip(request),
        detail=detail[:300],
        count=len(ids),
    )
    if queryset is not None:
        try:
            sql, params = queryset.query.sql_with_params()
        except EmptyResultSet:  # a filter that can match nothing (``.none()``, an invalid value)
            return log
        table = AccessLogRecord._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (log_id, subject, object_id) SELECT %s, %s, ids.* FROM ({sql}) ids",
                [log.pk, subject, *params],
            )
            log.count = cursor.rowcount
        AccessLog.objects.filter(pk=log.pk).update(count=log.count)
    elif ids:
        AccessLogRecord.objects.bulk_create(
            [AccessLogRecord(log=log, subject=subject, object_id=pk) for pk in ids], batch_size=2000
        )
    return log


def history(subject, object_id):
    """The access log of one person, newest first."""
    return (
        AccessLog.objects.filter(records__subject=subject, records__object_id=object_id)
        .select_related("user", "client")
        .order_by("-at", "-pk")
    )


def _blank(field):
    if isinstance(field, models.JSONField):
        return {}
    if field.null:
        return None
    return ""


def personal_fields(model):
    return [model._meta.get_field(name) for name in getattr(model, "personal_fields", ())]


def relations_to(target):
    """``(model, foreign key name)`` for every concrete foreign key pointing at ``target``."""
    return [
        (model, field.name)
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if isinstance(field, models.ForeignKey) and field.related_model is target
    ]


def anonymize(model, ids, *, now, keep=None):
    """Erase the personal fields of ``model`` rows ``ids`` (``keep``: values to write instead, see
    ``erase``) and of every row pointing at them, redact all of it in the audit log, and mark the
    rows anonymized (the first time)."""
    erase(model._default_manager.filter(pk__in=ids), keep=keep)
    model._default_manager.filter(pk__in=ids, anonymized_at__isnull=True).update(anonymized_at=now)
    redact_history(model, ids)
    for related, field in relations_to(model):
        if not personal_fields(related):
            continue
        pks = list(related._default_manager.filter(**{f"{field}__in": ids}).values_list("pk", flat=True))
        if pks:
            erase(related._default_manager.filter(pk__in=pks))
            redact_history(related, pks)


def erase(queryset, *, keep=None):
    """Blank every personal field of the rows in ``queryset`` (one UPDATE). ``keep``: values to
    write instead of blanks, e.g. a placeholder name."""
    fields = personal_fields(queryset.model)
    if not fields:
        return 0
    values = {field.name: _blank(field) for field in fields}
    values.update(keep or {})
    return queryset.update(**values)


def redact_history(model, pks):
    """Blank the personal fields of ``model`` rows ``pks`` in the audit log (before and after values
    and the record's name), so history keeps who changed what and when but not the data."""
    names = {field.name for field in personal_fields(model)}
    if not names or not pks:
        return 0
    content_type = ContentType.objects.get_for_model(model)
    entries = LogEntry.objects.filter(content_type=content_type, object_pk__in=[str(pk) for pk in pks])
    changed = []
    for entry in entries.only("pk", "changes", "object_repr"):
        entry.serialized_data = None
        entry.changes_text = ""
        changes = entry.changes if isinstance(entry.changes, dict) else {}
        for key in names & set(changes):
            changes[key] = [REDACTED for _value in changes[key]] if isinstance(changes[key], list) else REDACTED
        entry.changes = changes
        entry.object_repr = REDACTED
        changed.append(entry)
    LogEntry.objects.bulk_update(changed, ["changes", "object_repr", "serialized_data", "changes_text"], batch_size=500)
    return len(changed)


MASKED_MOBILE = re.compile(r"^(1\d{2})[*＊xX]{4}(\d{4})$")


def mobile_search_q(user, text, field="mobile"):
    """The ``Q`` matching a search text against mobile numbers, or ``None`` (no mobile match).

    Someone who may see a full mobile (a role that may reveal one) finds people by any 4+ digits of
    it. Anyone else — the marketing role, whose pages show 138****8000 — matches only what they
    can already see: a whole 11-digit number, the last four digits, or the masked form itself. Any
    partial match against the hidden middle digits would let them recover those digits one search
    at a time (130 + d for d = 0…9, keeping the d that finds the customer).

    A partial match compares ``field__searchable`` (crm.db.Searchable), the expression of the
    mobile's trigram index; a whole number compares the column itself, through its B-tree."""
    digits = "".join(ch for ch in text if ch.isdigit())
    if may_reveal(user):
        return Q(**{f"{field}__searchable__contains": digits}) if len(digits) >= 4 else None
    compact = re.sub(r"[\s\-]", "", text)
    masked = MASKED_MOBILE.match(compact)
    if masked:
        return Q(
            **{f"{field}__searchable__startswith": masked.group(1), f"{field}__searchable__endswith": masked.group(2)}
        )
    if compact.isdigit() and len(compact) == 11:
        return Q(**{field: compact})
    if compact.isdigit() and len(compact) == 4:
        return Q(**{f"{field}__searchable__endswith": compact})
    return None


def name_or_mobile_q(user, text, *, name_field="name", mobile_field="mobile", keys_field=None):
    """The one name-or-mobile search every list and picker uses: the name contains ``text`` (through
    the name's search keys when the model keeps them: one or two characters and pinyin, see
    :mod:`crm.name_keys`), or the mobile matches it as :func:`mobile_search_q` allows for this user
    (no partial match on hidden digits)."""
    q = name_keys.name_q(text, name_field=name_field, keys_field=keys_field)
    by_mobile = mobile_search_q(user, text, field=mobile_field)
    return q | by_mobile if by_mobile is not None else q


def search_name_or_mobile(queryset, user, text, **fields):
    """``queryset`` narrowed to :func:`name_or_mobile_q` (stripped ``text``; empty: unchanged); a
    model that keeps search keys for its name (a ``name_keys`` field) is searched through them."""
    text = (text or "").strip()
    if not text:
        return queryset
    if "keys_field" not in fields and fields.get("name_field", "name") == "name":
        fields["keys_field"] = keys_field_of(queryset.model)
    return queryset.filter(name_or_mobile_q(user, text, **fields))


def keys_field_of(model):
    """``"name_keys"`` when ``model`` keeps search keys for its name, else ``None``."""
    try:
        field = model._meta.get_field("name_keys")
    except FieldDoesNotExist:
        return None
    return "name_keys" if isinstance(field, name_keys.NameKeysField) else None
