"""Lead sources (来源渠道): the one place that says which source codes exist and may be used.

Forms, filters, imports, scoring and assignment rules, segments and the API all ask here, so a
source an admin adds is usable everywhere at once and an inactive one is refused everywhere for
new records while old records keep showing its name."""

import threading

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.signals import request_finished, request_started
from django.db import transaction
from django.utils.translation import gettext as _

from ..models import LeadSource

#: the sources every installation starts with (also seeded by the migration that made the table)
DEFAULTS = [
    ("website", "官网", "线上"),
    ("web", "网页表单", "线上"),
    ("wechat_oa", "微信公众号", "线上"),
    ("mini_program", "小程序", "线上"),
    ("live", "直播", "线上"),
    ("event", "活动/会议", "线下"),
    ("visit", "陌生拜访", "线下"),
    ("store", "门店到访", "线下"),
    ("referral", "转介绍", "口碑"),
    ("api", "系统对接", "对接"),
    ("other", "其他", "其他"),
]


def ensure_defaults(**_signal_kwargs):
    """An empty table gets the default sources. Runs after ``migrate`` and after a flush (both send
    ``post_migrate``; connected in ``CustomersConfig.ready``), never on a read."""
    if not LeadSource.objects.exists():
        for position, (code, name, group) in enumerate(DEFAULTS, start=1):
            LeadSource.objects.get_or_create(
                code=code, defaults={"name": name, "group": group, "position": position * 10}
            )


# Every source, read once per request: a page shows source names in its filter, its columns and its
# charts, and each used to read the table. The cache lives from ``request_started`` to
# ``request_finished`` in the thread serving the request and is dropped when a source is saved;
# outside a request (tasks, commands, tests calling services) every call reads the table. Between
# requests the rows are kept in the shared cache for ROWS_TTL seconds, deleted when a source is saved
# or deleted (and again once that change is committed, so a page read in between does not keep it).
_request = threading.local()
ROWS_KEY = "lead-sources:rows"
ROWS_TTL = 300


def _start_request(**_kwargs):
    _request.rows = None
    _request.active = True


def _end_request(**_kwargs):
    _request.rows = None
    _request.active = False


def _forget_shared():
    cache.delete(ROWS_KEY)


def forget(**_kwargs):
    """Drop the cached rows (a source was saved or deleted)."""
    _request.rows = None
    _forget_shared()
    transaction.on_commit(_forget_shared)


request_started.connect(_start_request, dispatch_uid="lead-sources-start")
request_finished.connect(_end_request, dispatch_uid="lead-sources-end")


def _rows():
    """(code, name, is_active) of every source in display order."""
    rows = getattr(_request, "rows", None)
    if rows is None:
        in_request = getattr(_request, "active", False)
        rows = cache.get(ROWS_KEY) if in_request else None
        if rows is None:
            rows = list(LeadSource.objects.order_by("position", "code").values_list("code", "name", "is_active"))
            if in_request:
                cache.set(ROWS_KEY, rows, ROWS_TTL)
        if in_request:
            _request.rows = rows
    return rows


def active_sources():
    return LeadSource.objects.filter(is_active=True).order_by("position", "code")


def source_choices():
    """(code, name) of the active sources, for choice fields (a callable: read when rendered)."""
    return [(code, name) for code, name, active in _rows() if active]


def all_source_choices():
    """(code, name) of every source, active or not: filters and reports over existing records."""
    return [(code, name) for code, name, _active in _rows()]


def source_names():
    """{code: name} of every source, for lists and exports (read once per request)."""
    return {code: name for code, name, _active in _rows()}


def check_source(code):
    """``code`` when it names an active source; else ValidationError on ``source``."""
    code = (code or "").strip()
    if not code or not LeadSource.objects.filter(code=code, is_active=True).exists():
        raise ValidationError(
            {
                "source": _("Unknown or inactive source %(source)s. Use one of: %(codes)s.")
                % {"source": code or "—", "codes": ", ".join(active_sources().values_list("code", flat=True))}
            }
        )
    return code


def save_source(*, source):
    """Create or change a source (the code is fixed once records may use it)."""
    source.full_clean()
    source.save()
    return source
