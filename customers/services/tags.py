"""Tags: by hand, in bulk, by import and by rules (标签、画像).

Tags are written to the through table (``CustomerTag``) directly, so auditlog's signals never see
them; every service here snapshots the tags of the customers it touches before and after, and
writes one audit entry per customer whose tags changed (``changes={"tags": [before, after]}``),
set-based with ``bulk_create``."""

from collections import defaultdict

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.audit import by_rule

from .. import registry
from ..filters import CustomerFilter
from ..models import Customer, CustomerTag, Tag, TagGroup, TagRule

CHUNK = 10000


def _chunks(values, size=CHUNK):
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start : start + size]


# --- the audit trail of tag changes -------------------------------------------------------------


def held_tags(customer_ids):
    """{customer id: set of tag ids} for ``customer_ids`` (customers without tags are left out)."""
    held = defaultdict(set)
    for chunk in _chunks(customer_ids):
        for customer_id, tag_id in CustomerTag.objects.filter(customer_id__in=chunk).values_list(
            "customer_id", "tag_id"
        ):
            held[customer_id].add(tag_id)
    return held


def _audit_fields(actor):
    from auditlog.cid import get_cid

    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    return {"actor": actor, "actor_email": getattr(actor, "email", None) if actor else None, "cid": get_cid()}


def _fill_from_request(entries):
    """``bulk_create`` sends no ``pre_save``; send it here so that auditlog's middleware context
    (``set_actor``: the request's user and address) fills the entries as it fills its own."""
    from auditlog.models import LogEntry
    from django.db.models.signals import pre_save

    if entries and pre_save.has_listeners(LogEntry):
        for entry in entries:
            pre_save.send(sender=LogEntry, instance=entry, raw=False, using="default", update_fields=None)


def log_tag_changes(before, after, *, actor=None, customer_ids=None, now=None, rule=None):
    """One auditlog ``LogEntry`` (an update of the customer) for each customer whose tag set differs
    between the snapshots ``before`` and ``after`` (from :func:`held_tags`), written with
    ``bulk_create``: a fixed number of queries however many customers changed. Returns the count."""
    from auditlog.models import LogEntry
    from django.contrib.contenttypes.models import ContentType

    ids = customer_ids if customer_ids is not None else set(before) | set(after)
    changed = [cid for cid in ids if before.get(cid, set()) != after.get(cid, set())]
    if not changed:
        return 0
    tag_ids = set().union(*(before.get(cid, set()) | after.get(cid, set()) for cid in changed))
    order = {
        tag.pk: (position, str(tag))
        for position, tag in enumerate(Tag.objects.filter(pk__in=tag_ids).select_related("group"))
    }

    def labels(held):
        return [order[t][1] for t in sorted(held, key=lambda t: order.get(t, (len(order), ""))) if t in order]

    names = {}
    for chunk in _chunks(changed):
        names.update(Customer.objects.filter(pk__in=chunk).values_list("pk", "name"))
    content_type = ContentType.objects.get_for_model(Customer)
    fields = _audit_fields(actor)
    if rule is not None:  # the entry names the rule that changed the tags (crm.audit)
        fields["additional_data"] = by_rule(rule)
    now = now or timezone.now()
    entries = [
        LogEntry(
            content_type=content_type,
            object_pk=str(cid),
            object_id=cid,
            object_repr=names.get(cid, str(cid)),
            action=LogEntry.Action.UPDATE,
            timestamp=now,
            changes={"tags": [labels(before.get(cid, set())), labels(after.get(cid, set()))]},
            **fields,
        )
        for cid in sorted(changed)
        if cid in names
    ]
    _fill_from_request(entries)
    LogEntry.objects.bulk_create(entries, batch_size=2000)
    return len(entries)


# --- the services ---------------------------------------------------------------------------------


def _drop_siblings_in_single_groups(customer_ids, tags):
    """A single-choice group holds one tag per customer: adding one removes the others."""
    for tag in tags:
        if not tag.group.multiple:
            for chunk in _chunks(customer_ids):
                CustomerTag.objects.filter(customer_id__in=chunk, tag__group=tag.group).exclude(tag=tag).delete()


def _add(customer_ids, tags, *, source, rule, actor, log=True):
    customer_ids = list(customer_ids)
    tags = list(tags)
    single = [t for t in tags if not t.group.multiple]
    if len({t.group_id for t in single}) < len(single):
        raise ValidationError({"tags": _("Choose at most one tag from a single-choice group.")})
    if not customer_ids or not tags:
        return 0
    before = held_tags(customer_ids)
    wanted = {t.pk for t in tags}
    # the customers whose tags will change: one of the tags missing, or a sibling in a single group
    group_of = dict(Tag.objects.filter(group_id__in={t.group_id for t in single}).values_list("pk", "group_id"))
    chosen = {t.group_id: t.pk for t in single}
    candidates = [
        cid
        for cid in customer_ids
        if not wanted <= before.get(cid, set())
        or any(group_of.get(t) in chosen and chosen[group_of[t]] != t for t in before.get(cid, set()))
    ]
    if not candidates:
        return 0
    _drop_siblings_in_single_groups(candidates, tags)
    links = [
        CustomerTag(customer_id=cid, tag=tag, source=source, rule=rule)
        for cid in candidates
        for tag in tags
        if tag.pk not in before.get(cid, set())
    ]
    CustomerTag.objects.bulk_create(links, ignore_conflicts=True, batch_size=2000)
    after = held_tags(candidates)
    if log:
        log_tag_changes(before, after, actor=actor, customer_ids=candidates, rule=rule)
    return sum(len((after.get(cid, set()) - before.get(cid, set())) & wanted) for cid in candidates)


@transaction.atomic
def add_tags(*, customer_ids, tags, source=CustomerTag.Source.MANUAL, rule=None, actor=None):
    """Give every customer in ``customer_ids`` every tag in ``tags``; returns the links created.
    Each customer whose tags changed gets an audit entry (by ``actor``)."""
    return _add(customer_ids, tags, source=source, rule=rule, actor=actor)


@transaction.atomic
def remove_tags(*, customer_ids, tags, actor=None):
    tags = list(tags)
    holders = set()
    for chunk in _chunks(customer_ids):
        holders.update(
            CustomerTag.objects.filter(customer_id__in=chunk, tag__in=tags).values_list("customer_id", flat=True)
        )
    if not holders:
        return 0
    before = held_tags(holders)
    removed = 0
    for chunk in _chunks(holders):
        removed += CustomerTag.objects.filter(customer_id__in=chunk, tag__in=tags).delete()[0]
    log_tag_changes(before, held_tags(holders), actor=actor, customer_ids=holders)
    return removed


@transaction.atomic
def set_customer_tags(*, customer, tags, source=CustomerTag.Source.MANUAL, actor=None):
    """Replace a customer's tags with ``tags`` (the tag editor on the 360 view)."""
    tags = list(tags)
    before = held_tags([customer.pk])
    CustomerTag.objects.filter(customer=customer).exclude(tag__in=tags).delete()
    _add([customer.pk], tags, source=source, rule=None, actor=actor, log=False)  # logged once below
    log_tag_changes(before, held_tags([customer.pk]), actor=actor, customer_ids=[customer.pk])


#: list parameters that change how the list looks, not whom it holds: dropped from a rule's filter
PRESENTATION_PARAMS = ("sort", "page", "per_page")


def clean_rule_query(query):
    """The customer list filter ``query`` (as in the list's address after "?"), checked against the
    list's known filters: every key must be one of them and every value valid for it, and at least
    one must narrow the list. Raises ValidationError({"query": [...]}) naming each bad field, so a
    misspelt ``regoin=上海`` is refused instead of matching every customer. Returns the query
    without presentation parameters (sort, page, page size)."""
    params = QueryDict((query or "").strip().lstrip("?"), mutable=True)
    for name in PRESENTATION_PARAMS:
        params.pop(name, None)
    known = CustomerFilter.base_filters
    errors = []
    for name in params:
        if name not in known:
            errors.append(
                _("“%(name)s” is not a filter of the customer list (known: %(known)s).")
                % {"name": name, "known": ", ".join(sorted(known))}
            )
        elif not any(value.strip() for value in params.getlist(name)):
            errors.append(_("Give a value for “%(name)s”.") % {"name": name})
    if not errors:
        filterset = CustomerFilter(params, queryset=Customer.objects.none(), rule_check=True)
        if not filterset.is_valid():
            for name, messages in filterset.errors.items():
                for message in messages:
                    errors.append(_("“%(name)s”: %(message)s") % {"name": name, "message": message})
    if not errors and not params:
        errors.append(_("Give a list filter or choose a segment."))
    if errors:
        raise ValidationError({"query": errors})
    return params.urlencode()


def rule_queryset(rule: TagRule) -> QuerySet[Customer]:
    """The customers a rule tags: its saved segment's members (whole database, not a user's scope),
    or the customer list filter it keeps. A stored filter that is no longer valid raises
    ValidationError (the caller matches nobody and reports it) — never "every customer"."""
    if rule.segment_id:
        if rule.segment.subject != "customers":
            raise ValidationError({"segment": _("Choose a segment of customers.")})
        problem = registry.segment_problem("customers", rule.segment.definition)
        if problem:  # reported by apply_rule; the rule matches nobody
            raise ValidationError({"segment": problem})
        condition = registry.segment_condition("customers", rule.segment.definition)
        return Customer.objects.filter(condition) if condition is not None else Customer.objects.all()
    query = clean_rule_query(rule.query)
    filterset = CustomerFilter(QueryDict(query), queryset=Customer.objects.all(), rule_check=True)
    filterset.is_valid()
    return filterset.qs


@transaction.atomic
def apply_rule(rule, *, now=None, actor=None):
    """Tag every customer the rule's filter matches; take the tag back from those it tagged
    before that no longer match (tags set by hand are left alone). Both are audited, naming the
    rule. A rule whose stored filter is no longer valid matches nobody: its tags are taken back
    and the problem is kept on the rule (``last_error``) and returned as ``error``."""
    error = ""
    try:
        matching = rule_queryset(rule).values("pk")
    except ValidationError as exc:
        error = "; ".join(exc.messages)
        matching = Customer.objects.none().values("pk")
    added = _add(
        list(matching.values_list("pk", flat=True)), [rule.tag], source=CustomerTag.Source.RULE, rule=rule, actor=actor
    )
    stale = CustomerTag.objects.filter(rule=rule).exclude(customer_id__in=matching)
    losing = list(stale.values_list("customer_id", flat=True))
    removed = 0
    if losing:
        before = held_tags(losing)
        removed = stale.delete()[0]
        log_tag_changes(before, held_tags(losing), actor=actor, customer_ids=losing, rule=rule)
    rule.last_run_at = now or timezone.now()
    rule.last_count = CustomerTag.objects.filter(tag=rule.tag, customer_id__in=matching).count()
    rule.last_error = error[:500]
    rule.save(update_fields=["last_run_at", "last_count", "last_error"])
    return {"added": added, "removed": removed, "matching": rule.last_count, "error": error}


def apply_all_rules():
    return {rule.pk: apply_rule(rule) for rule in TagRule.objects.filter(is_active=True).select_related("tag")}


def tags_by_name(names, *, create=False):
    """Resolve "group:tag" (or a bare tag name, unique across groups) to tags."""
    tags = []
    for name in names:
        name = str(name).strip()
        if not name:
            continue
        if ":" in name:
            group_name, tag_name = (part.strip() for part in name.split(":", 1))
            tag = Tag.objects.filter(group__name=group_name, name=tag_name).select_related("group").first()
            if tag is None and create:
                group, _created = TagGroup.objects.get_or_create(name=group_name)
                tag, _created = Tag.objects.get_or_create(group=group, name=tag_name)
        else:
            matches = list(Tag.objects.filter(name=name).select_related("group")[:2])
            if len(matches) > 1:
                raise ValidationError(_("Tag %(name)s exists in several groups; write group:tag.") % {"name": name})
            tag = matches[0] if matches else None
            if tag is None and create:
                group, _created = TagGroup.objects.get_or_create(name="其他")
                tag, _created = Tag.objects.get_or_create(group=group, name=name)
        if tag is None:
            raise ValidationError(_("Unknown tag %(name)s.") % {"name": name})
        tags.append(tag)
    return tags
