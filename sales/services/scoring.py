"""Rescoring every open lead when the scoring rules (or the grade thresholds) change.

``score_of`` / ``grade_of`` (services/leads.py) score one lead in Python when it is captured or
edited. When a rule changes, every open lead's score may change: ``rescore_open_leads`` does it
set-based, with the same rules written as SQL (one ``CASE`` per rule, summed), in chunks of ids,
writing only the leads whose score or grade actually changes.

``request_rescore`` queues the Celery task once per transaction (after the commit) and keeps a
status in the cache that the rules page shows ("running", "done: N leads changed").
"""

import logging
import uuid

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Case, Exists, IntegerField, OuterRef, Q, Value, When
from django.utils import timezone

from crm.db import advisory_lock
from customers import registry

from .. import tasks
from ..models import Grade, Lead, SalesSettings, ScoringRule
from .leads import _at_least

logger = logging.getLogger(__name__)

STATUS_KEY = "sales:lead-rescore"
CHUNK = 5_000
RUNNING = ("queued", "running")


def rule_condition(rule):
    """The rule as a condition on ``Lead`` (the same test as ``score_of``), or None (never met)."""
    C, v = ScoringRule.Criterion, rule.value.strip()
    if rule.criterion == C.SOURCE:
        return Q(source=v)
    if rule.criterion == C.HAS_MOBILE:
        return ~Q(mobile="")
    if rule.criterion == C.HAS_EMAIL:
        return ~Q(email="")
    if rule.criterion == C.HAS_REGION:
        return ~Q(region="")
    if rule.criterion == C.HAS_NEED:
        return Q(need__regex=r"\S")  # not blank once stripped
    if rule.criterion == C.VISITS_AT_LEAST:
        return Q(visits__gte=_at_least(v))
    if rule.criterion == C.EVENTS_AT_LEAST:
        return Q(events_attended__gte=_at_least(v))
    if rule.criterion == C.HAS_TAG:
        return Q(Exists(Lead.tags.through.objects.filter(lead_id=OuterRef("pk"), tag__name=v)))
    extra = registry.lead_criteria().get(rule.criterion)
    return extra["condition"](v, timezone.now()) if extra else None


def score_expression(rules):
    """SUM over the rules of CASE WHEN <condition> THEN points ELSE 0 END."""
    expression = Value(0, output_field=IntegerField())
    for rule in rules:
        condition = rule_condition(rule)
        if condition is None or not rule.points:
            continue
        expression = expression + Case(
            When(condition, then=Value(rule.points)), default=Value(0), output_field=IntegerField()
        )
    return expression


def grade_expression(settings):
    """The grade of the ``score`` column (the same thresholds as ``grade_of``)."""
    return Case(
        When(score__gte=settings.grade_a, then=Value(Grade.A)),
        When(score__gte=settings.grade_b, then=Value(Grade.B)),
        When(score__gte=settings.grade_c, then=Value(Grade.C)),
        default=Value(Grade.D),
    )


def rescore_open_leads(*, progress=None):
    """Rescore and regrade every open lead; returns the number of leads whose score or grade
    changed. Each chunk of ids is one short transaction (two UPDATEs), so reps editing leads
    wait a moment at most; a lead edited meanwhile is rescored by its own edit anyway."""
    rules = list(ScoringRule.objects.filter(is_active=True))
    open_leads = Lead.objects.filter(status__in=Lead.OPEN_STATUSES)
    bounds = open_leads.order_by().values_list("pk", flat=True)
    first, last = bounds.order_by("pk").first(), bounds.order_by("-pk").first()
    if first is None:
        return 0
    changed = 0
    total = last - first + 1
    for start in range(first, last + 1, CHUNK):
        with transaction.atomic():
            advisory_lock("lead-rescore", "all")  # two rescores run one after the other
            settings = SalesSettings.current()  # read per chunk: thresholds saved meanwhile apply
            chunk = open_leads.filter(pk__gte=start, pk__lt=start + CHUNK)
            score = score_expression(rules)
            changed_ids = set(chunk.filter(~Q(score=score)).values_list("pk", flat=True))
            if changed_ids:
                chunk.filter(pk__in=changed_ids).update(score=score)
            grade = grade_expression(settings)
            regraded = chunk.filter(~Q(grade=grade))
            changed_ids.update(regraded.values_list("pk", flat=True))
            regraded.update(grade=grade)
            changed += len(changed_ids)
        if progress is not None:
            progress(min(start + CHUNK - first, total), total)
    return changed


# --- queueing and status ------------------------------------------------------------------------


def rescore_status():
    """{"state": queued | running | done | failed, "requested_at", "finished_at", "changed", ...} or None."""
    return cache.get(STATUS_KEY)


def _set_status(**values):
    status = dict(cache.get(STATUS_KEY) or {})
    status.update(values)
    cache.set(STATUS_KEY, status, timeout=7 * 24 * 3600)
    return status


def _queue(token):
    try:
        tasks.rescore_leads.delay(token=token)
    except Exception:  # the broker is down: say so; the next rule change queues it again
        logger.exception("could not queue the lead rescore")
        _set_status(state="failed", finished_at=timezone.now().isoformat())


def request_rescore():
    """Queue a rescore of the open leads after the current transaction commits (once per
    transaction, however many rules it changes)."""
    if connection.in_atomic_block and any(
        getattr(entry[1], "sales_rescore_pending", False) for entry in connection.run_on_commit
    ):
        return  # already queued for this transaction's commit
    token = uuid.uuid4().hex

    def queue():
        queue.sales_rescore_pending = False
        _set_status(state="queued", token=token, requested_at=timezone.now().isoformat(), processed=0, total=0)
        _queue(token)

    queue.sales_rescore_pending = True
    transaction.on_commit(queue)


def run_rescore(token=None):
    """The task's body: rescore, keeping the status up to date. A newer request made while this
    one runs keeps the status "queued" until its own run finishes."""
    current = cache.get(STATUS_KEY) or {}
    if current.get("token", "") in ("", token or ""):  # else a newer request waits: it stays "queued"
        _set_status(state="running", started_at=timezone.now().isoformat(), token=token or "")

    def progress(processed, total):
        current = cache.get(STATUS_KEY) or {}
        if current.get("token", "") == (token or ""):
            _set_status(processed=processed, total=total)

    try:
        changed = rescore_open_leads(progress=progress)
    except Exception:
        logger.exception("lead rescore failed")
        _set_status(state="failed", finished_at=timezone.now().isoformat())
        raise
    current = cache.get(STATUS_KEY) or {}
    if current.get("token", "") == (token or ""):
        _set_status(state="done", finished_at=timezone.now().isoformat(), changed=changed)
    return changed
