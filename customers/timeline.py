"""The 360 view's timeline (时间线): everything that happened to one customer, newest first.

A *source* is one kind of entry (orders, satisfaction records, ownership changes, ...). Each has

- a source function ``(customer) -> rows``: the (kind, id, at) rows of that customer, built with
  :func:`entries` so that every source selects the same columns in the same order;
- a loader ``(ids) -> objects``: the objects of that kind with those ids, in ONE query
  (select_related / annotate what the template shows);
- a template that renders one entry (it gets ``obj``, ``entry`` and the page's context, e.g.
  ``customer`` and ``show_mobile``).

A page of the timeline is one ``UNION ALL`` query over every source, ordered by time with
LIMIT/OFFSET, then one query per kind that appears on the page — a bounded number of queries
whatever the length of the history. Other apps add their sources in ``AppConfig.ready``::

    from customers import timeline

    timeline.register(
        "follow_up", _("Follow-ups"),
        lambda customer: timeline.entries(FollowUp.objects.filter(customer=customer), "follow_up", "done_at"),
        lambda ids: FollowUp.objects.filter(pk__in=ids).select_related("author"),
        "sales/timeline/follow_up.html", icon="bi-chat-dots",
    )

The same module keeps the 360 view's *panels* (open opportunities, reminders and tasks, coupons
held): an app that fills one calls :func:`register_panel` with its template and a context function.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import CharField, F, Value

from .models import READINGS, Customer, CustomerRelation, LifecycleChange, Order, OwnershipChange, Satisfaction

PAGE_SIZE = 20

#: columns every source selects, in this order
KIND, ID, AT = "timeline_kind", "timeline_id", "timeline_at"


@dataclass(frozen=True)
class Source:
    kind: str
    label: Any
    source_fn: Callable
    loader_fn: Callable
    template_name: str
    icon: str = "bi-circle"


@dataclass
class Entry:
    """One line of the timeline."""

    kind: str
    id: int
    at: Any
    source: Source
    obj: Any = None

    @property
    def template_name(self):
        return self.source.template_name


@dataclass
class Page:
    entries: list = field(default_factory=list)
    has_more: bool = False
    offset: int = 0
    next_offset: int = 0
    kind: str = ""


_sources: dict[str, Source] = {}


def register(kind, label, source_fn, loader_fn, template_name, *, icon="bi-circle"):
    """Add (or replace) the source ``kind``. Registering the same kind twice keeps the last one,
    so calling this from ``AppConfig.ready`` is safe."""
    if not kind or len(kind) > 30 or not kind.replace("_", "").isalnum():
        raise ValueError(f"timeline kind {kind!r}: use up to 30 letters, digits and underscores")
    _sources[kind] = Source(kind, label, source_fn, loader_fn, template_name, icon)


def unregister(kind):
    _sources.pop(kind, None)


def sources():
    """The registered sources, in registration order."""
    return list(_sources.values())


def entries(queryset, kind, at):
    """The rows a source function returns: ``queryset`` reduced to (kind, id, at), where ``at``
    names the field (or expression) that dates the entry."""
    at_expression = F(at) if isinstance(at, str) else at
    return (
        queryset.order_by()
        .annotate(**{KIND: Value(kind, output_field=CharField()), ID: F("pk"), AT: at_expression})
        .values_list(KIND, ID, AT)
    )


def page(customer, *, offset=0, limit=PAGE_SIZE, kind=""):
    """One page of ``customer``'s timeline (all kinds, or only ``kind``)."""
    chosen = [s for s in _sources.values() if not kind or s.kind == kind]
    offset = max(int(offset), 0)
    if not chosen:
        return Page(offset=offset, kind=kind)
    querysets = [s.source_fn(customer) for s in chosen]
    combined = querysets[0].union(*querysets[1:], all=True) if len(querysets) > 1 else querysets[0]
    rows = list(combined.order_by(f"-{AT}", f"-{ID}")[offset : offset + limit + 1])
    has_more = len(rows) > limit
    rows = rows[:limit]

    ids_by_kind = {}
    for row_kind, row_id, _at in rows:
        ids_by_kind.setdefault(row_kind, []).append(row_id)
    loaded = {}
    for row_kind, ids in ids_by_kind.items():
        source = _sources.get(row_kind)
        if source is not None:
            loaded[row_kind] = {obj.pk: obj for obj in source.loader_fn(ids)}

    result = []
    for row_kind, row_id, at in rows:
        obj = loaded.get(row_kind, {}).get(row_id)
        if obj is not None:  # gone between the two queries, or a kind no longer registered
            result.append(Entry(row_kind, row_id, at, _sources[row_kind], obj))
    return Page(entries=result, has_more=has_more, offset=offset, next_offset=offset + limit, kind=kind)


# -- panels of the 360 view ---------------------------------------------------------------------


@dataclass(frozen=True)
class Panel:
    slot: str
    template_name: str
    context_fn: Callable | None = None


#: the slots the 360 view has; until an app registers one, it shows its empty state
PANEL_SLOTS = ("opportunities", "contracts", "tasks", "coupons", "entitlements", "members", "marketing")
_panels: dict[str, Panel] = {}


def register_panel(slot, template_name, context_fn=None):
    """Fill a panel of the 360 view (its card header stays): the template is included inside the
    card body with ``panel`` = ``context_fn(customer, user)`` (keep that to a query or two) beside
    the page's context (``customer``, ``can_change``, ``show_mobile``)."""
    if slot not in PANEL_SLOTS:
        raise ValueError(f"unknown panel slot {slot!r}; slots: {', '.join(PANEL_SLOTS)}")
    _panels[slot] = Panel(slot, template_name, context_fn)


def panel(slot):
    return _panels.get(slot)


#: buttons other apps add to the 360 view's header (e.g. sales' "write a follow-up")
_actions: dict[str, str] = {}


def register_action(name, template_name):
    """Add a header action of the 360 view: ``template_name`` is included beside the page's own
    buttons with the page's context (``customer``, ``can_change``, ``user``)."""
    _actions[name] = template_name


def actions():
    return list(_actions.values())


# -- the customers app's own sources ------------------------------------------------------------


def _orders(customer):
    return entries(Order.objects.filter(customer=customer), "order", "placed_at")


def _load_orders(ids):
    from django.db.models import Count

    return Order.objects.filter(pk__in=ids).annotate(line_count=Count("lines"))


def _satisfaction(customer):
    return entries(Satisfaction.objects.filter(customer=customer), "satisfaction", "recorded_at")


def _load_satisfaction(ids):
    return Satisfaction.objects.filter(pk__in=ids).select_related("recorded_by")


def _ownership(customer):
    return entries(OwnershipChange.objects.filter(customer=customer), "ownership", "changed_at")


def _load_ownership(ids):
    return OwnershipChange.objects.filter(pk__in=ids).select_related("from_owner", "to_owner", "changed_by")


def _lifecycle(customer):
    return entries(LifecycleChange.objects.filter(customer=customer), "lifecycle", "changed_at")


def _load_lifecycle(ids):
    return LifecycleChange.objects.filter(pk__in=ids)


def _relations(customer):
    from django.db.models import Q

    return entries(
        CustomerRelation.objects.filter(Q(from_customer=customer) | Q(to_customer=customer)), "relation", "created_at"
    )


def _load_relations(ids):
    relations = list(
        CustomerRelation.objects.filter(pk__in=ids).select_related("from_customer", "to_customer", "created_by")
    )
    for relation in relations:
        relation.from_reading = READINGS[relation.kind][1]
    return relations


def _audit(customer):
    from auditlog.models import LogEntry
    from django.contrib.contenttypes.models import ContentType

    content_type = ContentType.objects.get_for_model(Customer)
    return entries(
        LogEntry.objects.filter(
            content_type=content_type,
            object_id=customer.pk,
            action__in=[LogEntry.Action.CREATE, LogEntry.Action.UPDATE],
        ),
        "audit",
        "timestamp",
    )


def _load_audit(ids):
    from auditlog.models import LogEntry

    logged = list(LogEntry.objects.filter(pk__in=ids).select_related("actor", "content_type"))
    for entry in logged:
        entry.field_changes = []
    _describe_changes(logged)
    # an update that only moved the owner is told by its "ownership" entry (with the reason)
    return [e for e in logged if e.field_changes or e.action != LogEntry.Action.UPDATE]


#: fields whose changes the audit entries leave out because another source tells them better
AUDIT_FIELDS_SHOWN_ELSEWHERE = {"owner"}


def _describe_changes(logged):
    """Set ``entry.field_changes`` to [{field, label, old, new}] for each update entry.

    auditlog's ``changes_display_dict`` looks every foreign key value up one by one; here the keys
    are collected first and fetched with one query per related model, so a page of hand-overs
    costs the same as a page of renames."""
    from auditlog.models import LogEntry

    fk_values = {}  # related model -> set of pks (as text)
    for entry in logged:
        if entry.action != LogEntry.Action.UPDATE:
            continue
        model = entry.content_type.model_class()
        for name, values in (entry.changes_dict or {}).items():
            model_field = _field_or_none(model, name)
            if name in AUDIT_FIELDS_SHOWN_ELSEWHERE:
                continue
            if _is_fk(model_field) and isinstance(values, (list, tuple)):
                related = model_field.related_model
                fk_values.setdefault(related, set()).update(str(v) for v in values if v not in (None, "None", ""))

    names = {}
    for related, pks in fk_values.items():
        clean = []
        for pk in pks:
            try:
                clean.append(related._meta.pk.to_python(pk))
            except Exception:
                continue
        names[related] = {str(obj.pk): str(obj) for obj in related._default_manager.filter(pk__in=clean)}

    for entry in logged:
        if entry.action != LogEntry.Action.UPDATE:
            continue
        model = entry.content_type.model_class()
        rows = []
        for name, values in (entry.changes_dict or {}).items():
            if name in AUDIT_FIELDS_SHOWN_ELSEWHERE:
                continue
            model_field = _field_or_none(model, name)
            label = str(getattr(model_field, "verbose_name", name))
            if isinstance(values, dict):  # many-to-many: {"type": "m2m", "operation": ..., "objects": [...]}
                sign = "+" if values.get("operation") == "add" else "−"
                objects = ", ".join(str(o) for o in values.get("objects", []))
                rows.append({"field": name, "label": label, "old": "", "new": f"{sign} {objects}"})
                continue
            old, new = _pair(values)
            if isinstance(old, list) or isinstance(new, list):  # a set of names, e.g. the tags before → after
                rows.append({"field": name, "label": label, "old": _names(old), "new": _names(new)})
                continue
            if _is_fk(model_field):
                known = names.get(model_field.related_model, {})
                old, new = known.get(str(old), old), known.get(str(new), new)
            elif model_field is not None and model_field.get_internal_type() == "JSONField":
                old, new = _json_text(old), _json_text(new)
            elif model_field is not None:
                # auditlog's display of one plain field (choices, dates): no queries
                single = LogEntry(content_type=entry.content_type, action=entry.action, changes={name: values})
                shown = list(single.changes_display_dict.values())
                if shown:
                    old, new = _pair(shown[0])
            rows.append({"field": name, "label": label, "old": _text(old), "new": _text(new)})
        entry.field_changes = rows


def _field_or_none(model, name):
    try:
        return model._meta.get_field(name)
    except Exception:
        return None


def _is_fk(model_field):
    return model_field is not None and (model_field.many_to_one or model_field.one_to_one) and model_field.concrete


def _json_text(value):
    """``{"school": "\\u5b9e..."}`` as ``school: 实验小学``."""
    import json

    try:
        data = json.loads(value) if isinstance(value, str) else value
    except ValueError:
        return value
    if isinstance(data, dict):
        return "; ".join(f"{key}: {item}" for key, item in data.items())
    return value if isinstance(value, str) else json.dumps(data, ensure_ascii=False)


def _text(value):
    return "" if value in (None, "None") else str(value)


def _names(values):
    return ", ".join(str(v) for v in values) if isinstance(values, list) else _text(values)


def _pair(values):
    values = list(values) if isinstance(values, (list, tuple)) else [values]
    values += [""] * (2 - len(values))
    return values[0], values[1]


def _register_builtin():
    from django.utils.translation import gettext_lazy as _

    register("order", _("Orders"), _orders, _load_orders, "customers/detail/timeline/order.html", icon="bi-receipt")
    register(
        "satisfaction",
        _("Satisfaction"),
        _satisfaction,
        _load_satisfaction,
        "customers/detail/timeline/satisfaction.html",
        icon="bi-emoji-smile",
    )
    register(
        "ownership",
        _("Ownership"),
        _ownership,
        _load_ownership,
        "customers/detail/timeline/ownership.html",
        icon="bi-person-check",
    )
    register(
        "lifecycle",
        _("Lifecycle"),
        _lifecycle,
        _load_lifecycle,
        "customers/detail/timeline/lifecycle.html",
        icon="bi-arrow-repeat",
    )
    register(
        "relation",
        _("Relations"),
        _relations,
        _load_relations,
        "customers/detail/timeline/relation.html",
        icon="bi-diagram-3",
    )
    register(
        "audit", _("Changes"), _audit, _load_audit, "customers/detail/timeline/audit.html", icon="bi-pencil-square"
    )


_register_builtin()
