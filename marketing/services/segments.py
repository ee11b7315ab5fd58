"""Audience segments: conditions over customers or leads, grouped and combined with AND/OR.

A definition is plain JSON, so it can be saved, compared and audited::

    {"match": "all", "groups": [
        {"match": "any", "conditions": [{"field": "tags", "op": "any", "value": [3, 4]}]},
        {"match": "all", "conditions": [{"field": "days_since_order", "op": "more_than", "value": 60}]}]}

``match`` says how groups (and conditions inside a group) combine: ``all`` is AND, ``any`` is OR.
An empty definition means everyone in the viewer's scope.
"""

import datetime
import decimal
import logging
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm import permissions
from crm.models import Department, User
from customers import regions, registry
from customers.models import Customer, CustomerTag, LifecycleStage, SatisfactionLevel, Tag, ValueSegment
from customers.services.sources import all_source_choices
from sales.models import Grade, Lead

from ..models import Campaign, Message, Registration, Segment, SegmentSize

logger = logging.getLogger(__name__)
GRID_CLASSES = [(c, c) for c in "ABCDEFGHI"]
OPS = {
    "any": _("has any of"),
    "all": _("has all of"),
    "none": _("has none of"),
    "in": _("is one of"),
    "not_in": _("is not one of"),
    "contains": _("contains"),
    "empty": _("is not set"),
    "gte": _("at least"),
    "lte": _("at most"),
    "more_than": _("more than N days ago, or never"),
    "within": _("within the last N days"),
    "reached": _("was reached by"),
    "registered": _("registered for"),
    "attended": _("attended"),
    "not_reached": _("was not reached by"),
    "in_region": _("is in"),
    "not_in_region": _("is not in"),
}


@dataclass(frozen=True)
class FieldSpec:
    """One field a condition can test: its label, the operators it accepts and the kind of value."""

    name: str
    label: object
    ops: tuple
    value: str  # "choices", "tags", "users", "departments", "campaigns", "int", "decimal", "text", "days",
    # "region" (a 6-digit 省/市/区 code, customers.regions)
    choices: tuple = field(default=())


def _lead_choices():
    return Lead.Status.choices, Grade.choices


CUSTOMER_FIELDS = {
    f.name: f
    for f in (
        FieldSpec("tags", _("Tags"), ("any", "all", "none"), "tags"),
        FieldSpec("lifecycle_stage", _("Lifecycle stage"), ("in", "not_in"), "choices", tuple(LifecycleStage.choices)),
        FieldSpec("value_segment", _("Value segment"), ("in", "not_in"), "choices", tuple(ValueSegment.choices)),
        FieldSpec("grid_class", _("3×3 class"), ("in", "not_in"), "choices", tuple(GRID_CLASSES)),
        FieldSpec(
            "satisfaction_level", _("Satisfaction"), ("in", "not_in"), "choices", tuple(SatisfactionLevel.choices)
        ),
        FieldSpec("kind", _("Kind"), ("in",), "choices", tuple(Customer.Kind.choices)),
        FieldSpec("source", _("Source channel"), ("in", "not_in"), "choices", tuple(Customer.Source.choices)),
        FieldSpec("region", _("Region"), ("in_region", "not_in_region", "empty"), "region"),
        FieldSpec("owner", _("Owner"), ("in", "empty"), "users"),
        FieldSpec("department", _("Department (and below)"), ("in",), "departments"),
        FieldSpec("order_count", _("Number of orders"), ("gte", "lte"), "int"),
        FieldSpec("total_amount", _("Total spent (¥)"), ("gte", "lte"), "decimal"),
        FieldSpec("avg_order_value", _("Average order value (¥)"), ("gte", "lte"), "decimal"),
        FieldSpec("days_since_order", _("Last order"), ("more_than", "within"), "days"),
        FieldSpec("days_since_touch", _("Last follow-up"), ("more_than", "within"), "days"),
        FieldSpec("created", _("Became a customer"), ("within", "more_than"), "days"),
        FieldSpec("campaign", _("Campaign"), ("reached", "registered", "attended", "not_reached"), "campaigns"),
    )
}


def _lead_fields():
    status, grade = _lead_choices()
    return {
        f.name: f
        for f in (
            FieldSpec("tags", _("Tags"), ("any", "all", "none"), "tags"),
            FieldSpec("status", _("Status"), ("in", "not_in"), "choices", tuple(status)),
            FieldSpec("grade", _("Grade"), ("in", "not_in"), "choices", tuple(grade)),
            FieldSpec("source", _("Source channel"), ("in", "not_in"), "choices", tuple(Customer.Source.choices)),
            FieldSpec("score", _("Score"), ("gte", "lte"), "int"),
            FieldSpec("region", _("Region"), ("in_region", "not_in_region", "empty"), "region"),
            FieldSpec("owner", _("Owner"), ("in", "empty"), "users"),
            FieldSpec("department", _("Department (and below)"), ("in",), "departments"),
            FieldSpec("days_since_touch", _("Last follow-up"), ("more_than", "within"), "days"),
            FieldSpec("created", _("Captured"), ("within", "more_than"), "days"),
            FieldSpec("campaign", _("Campaign"), ("reached", "registered", "attended", "not_reached"), "campaigns"),
        )
    }


def fields_for(subject):
    """The fields a condition can test; the source's values are the lead sources defined now."""
    fields = dict(CUSTOMER_FIELDS if subject == Segment.Subject.CUSTOMERS else _lead_fields())
    if subject == Segment.Subject.CUSTOMERS:  # fields other apps register (behaviour events, …)
        for name, spec in registry.segment_fields().items():
            fields[name] = FieldSpec(name, spec["label"], spec["ops"], spec["value"])
    fields["source"] = FieldSpec(
        "source", _("Source channel"), ("in", "not_in"), "choices", tuple(all_source_choices())
    )
    return fields


def base_queryset(subject, user):
    """Everyone the user may target: the user's data scope over customers or leads."""
    if subject == Segment.Subject.LEADS:
        return permissions.visible(user, Lead.objects.all())
    return permissions.visible(user, Customer.objects.all())


# -- validation ----------------------------------------------------------------------------------


def _as_list(value):
    if value in (None, ""):
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _ids(value):
    try:
        return [int(v) for v in _as_list(value)]
    except (TypeError, ValueError):
        raise ValidationError(_("Choose from the list.")) from None


def clean_condition(subject, condition, fields=None):
    """The condition with its value converted, or ValidationError naming what is wrong."""
    spec = (fields or fields_for(subject)).get(condition.get("field"))
    if spec is None:
        raise ValidationError(_("Choose a field."))
    op = condition.get("op")
    if op not in spec.ops:
        raise ValidationError(_("Choose how to compare."))
    value = condition.get("value")
    if op == "empty":
        return {"field": spec.name, "op": op, "value": None}
    if spec.value == "choices":
        allowed = {str(k) for k, _label in spec.choices}
        values = [str(v) for v in _as_list(value)]
        if not values or not set(values) <= allowed:
            raise ValidationError(_("Choose at least one value."))
        value = values
    elif spec.value in ("tags", "users", "departments"):
        value = _ids(value)
        if not value:
            raise ValidationError(_("Choose at least one value."))
    elif spec.value == "campaigns":
        ids = _ids(value)
        if len(ids) != 1:
            raise ValidationError(_("Choose a campaign."))
        value = ids[0]
    elif spec.value in ("int", "days"):
        try:
            value = int(str(value).strip())
        except (TypeError, ValueError):
            raise ValidationError(_("Enter a whole number.")) from None
        if value < 0:
            raise ValidationError(_("Enter zero or more."))
    elif spec.value == "region":
        value = str(value or "").strip()
        if not regions.is_code(value):
            raise ValidationError(_("Choose a province, city or district."))
    elif spec.value == "decimal":
        try:
            value = str(decimal.Decimal(str(value).strip()).quantize(decimal.Decimal("0.01")))
        except (decimal.InvalidOperation, ValueError):
            raise ValidationError(_("Enter an amount, e.g. 199.00.")) from None
    else:  # text
        if op == "in":
            value = [v.strip() for v in str(value or "").replace("，", ",").split(",") if v.strip()]
        else:
            value = str(value or "").strip()
        if not value:
            raise ValidationError(_("Enter a value."))
    return {"field": spec.name, "op": op, "value": value}


def clean_definition(subject, definition):
    """Validate a whole definition. Errors are keyed ``g{i}-c{j}`` so the builder shows each one
    beside its condition."""
    definition = definition or {}
    match = definition.get("match", "all")
    if match not in ("all", "any"):
        raise ValidationError({"match": _("Choose all or any.")})
    groups, errors = [], {}
    fields = fields_for(subject)  # read once (the lead sources come from the database)
    for i, group in enumerate(definition.get("groups") or []):
        conditions = []
        for j, condition in enumerate(group.get("conditions") or []):
            try:
                conditions.append(clean_condition(subject, condition, fields))
            except ValidationError as exc:
                errors[f"g{i}-c{j}"] = exc.messages
        if conditions:
            groups.append({"match": "any" if group.get("match") == "any" else "all", "conditions": conditions})
    if errors:
        raise ValidationError(errors)
    _check_references(subject, groups, fields)
    return {"match": match, "groups": groups}


def _check_references(subject, groups, specs):
    """Every tag, user, department and campaign a condition names must exist: a condition on a
    deleted tag is an error beside it, never a condition that silently matches all or nothing."""
    kinds = {"tags", "users", "departments", "campaigns"}
    wanted = {kind: set() for kind in kinds}
    for group in groups:
        for condition in group["conditions"]:
            kind = specs[condition["field"]].value
            if kind in kinds and condition["value"] is not None:
                wanted[kind].update(_as_list(condition["value"]))
    found = {kind: set(_names(kind, ids)) if ids else set() for kind, ids in wanted.items()}
    errors = {}
    for i, group in enumerate(groups):
        for j, condition in enumerate(group["conditions"]):
            kind = specs[condition["field"]].value
            if (
                kind in kinds
                and condition["value"] is not None
                and not set(_as_list(condition["value"])) <= found[kind]
            ):
                errors[f"g{i}-c{j}"] = [_("A chosen value no longer exists; choose again.")]
    if errors:
        raise ValidationError(errors)


def stored_definition_q(subject, definition, now=None):
    """The condition of a saved definition, checked again at run time: fields, operators and
        values must still be known (a tag may have been deleted, a definition written by an older
        version). An invalid stored definition matches nobody (``pk IS NULL``: valid SQL everywhere,
    also inside ``INSERT … SELECT``) — never everyone;
        ``stored_problem`` says what is wrong."""
    try:
        cleaned = clean_definition(subject, definition)
    except ValidationError:
        return Q(pk__isnull=True)
    return definition_q(subject, cleaned, now)


def stored_problem(subject, definition):
    """ "" when a saved definition is valid, else what is wrong with it (for the segment's pages)."""
    try:
        clean_definition(subject, definition)
    except ValidationError as exc:
        return "; ".join(exc.messages)
    return ""


# -- compiling to a query ------------------------------------------------------------------------


def _days_ago(days, now):
    return now - datetime.timedelta(days=days)


def _department_ids(ids):
    paths = list(Department.objects.filter(pk__in=ids).values_list("path", flat=True))
    if not paths:
        return []
    q = Q()
    for path in paths:
        q |= Q(path__startswith=path)
    return list(Department.objects.filter(q).values_list("pk", flat=True))


def _tag_q(subject, op, tag_ids):
    if subject == Segment.Subject.LEADS:
        links = Lead.tags.through.objects.filter(tag_id__in=tag_ids)
        key = "lead_id"
    else:
        links = CustomerTag.objects.filter(tag_id__in=tag_ids)
        key = "customer_id"
    if op == "all":
        matching = links.values(key).annotate(n=Count("tag_id", distinct=True)).filter(n=len(set(tag_ids)))
        return Q(pk__in=matching.values(key))
    q = Q(pk__in=links.values(key))
    return ~q if op == "none" else q


def _campaign_q(subject, op, campaign_id):
    person = "lead" if subject == Segment.Subject.LEADS else "customer"
    if op in ("reached", "not_reached"):
        inner = Message.objects.filter(campaign_id=campaign_id, status=Message.Status.SENT, **{person: OuterRef("pk")})
    else:
        inner = Registration.objects.filter(campaign_id=campaign_id, **{person: OuterRef("pk")})
        inner = inner.exclude(status=Registration.Status.CANCELLED)
        if op == "attended":
            inner = inner.filter(status=Registration.Status.ATTENDED)
    return ~Exists(inner) if op == "not_reached" else Exists(inner)


def _region_q(subject, op, code):
    """Customers match through their normalized region columns, leads through the code matched from
    their text; both by prefix at the region's level (customers.regions)."""
    column = "region_code" if subject == Segment.Subject.LEADS else "region"
    if op == "empty":
        return Q(**{column: ""})
    q = regions.in_region_q(code, column) if subject == Segment.Subject.LEADS else regions.customer_region_q(code)
    return ~q if op == "not_in_region" else q


def condition_q(subject, condition, now):
    name, op, value = condition["field"], condition["op"], condition["value"]
    registered = registry.segment_fields().get(name) if subject == Segment.Subject.CUSTOMERS else None
    if registered is not None:
        return registered["condition"](op, value, now)
    if name == "tags":
        return _tag_q(subject, op, value)
    if name == "campaign":
        return _campaign_q(subject, op, value)
    if name == "department":
        return Q(department_id__in=_department_ids(value))
    if name == "owner":
        return Q(owner__isnull=True) if op == "empty" else Q(owner_id__in=value)
    if name == "region":
        return _region_q(subject, op, value)
    if name in ("days_since_order", "days_since_touch", "created"):
        column = {"days_since_order": "last_order_at", "days_since_touch": "last_followup_at", "created": "created_at"}[
            name
        ]
        cutoff = _days_ago(value, now)
        if op == "within":
            return Q(**{f"{column}__gte": cutoff})
        return Q(**{f"{column}__lt": cutoff}) | Q(**{f"{column}__isnull": True})
    if op in ("in", "not_in"):
        q = Q(**{f"{name}__in": value})
        return ~q if op == "not_in" else q
    if op == "contains":
        return Q(**{f"{name}__icontains": value})
    if op in ("gte", "lte"):
        return Q(**{f"{name}__{op}": value})
    raise ValueError(f"unknown operator {op!r}")


def _combine(parts, match):
    result = None
    for part in parts:
        result = part if result is None else (result & part if match == "all" else result | part)
    return result


def definition_q(subject, definition, now=None):
    now = now or timezone.now()
    groups = []
    for group in definition.get("groups", []):
        q = _combine([condition_q(subject, c, now) for c in group["conditions"]], group["match"])
        if q is not None:
            groups.append(q)
    return _combine(groups, definition.get("match", "all"))


def members(user, *, subject, definition, now=None, stored=False):
    """The queryset of people matching ``definition`` inside ``user``'s scope (``stored``: a saved
    definition, checked again; an invalid one matches nobody)."""
    qs = base_queryset(subject, user)
    q = (stored_definition_q if stored else definition_q)(subject, definition, now)
    return qs.filter(q) if q is not None else qs


def segment_members(segment, user=None, now=None):
    """The members of a saved segment; a definition no longer valid matches nobody."""
    qs = base_queryset(segment.subject, user or segment.owner)
    q = stored_definition_q(segment.subject, segment.definition, now)
    return qs.filter(q) if q is not None else qs


def preview(user, *, subject, definition, sample_size=10, stored=False):
    """The live count and a small sample, for the builder."""
    qs = members(user, subject=subject, definition=definition, stored=stored)
    sample = list(qs.select_related("owner").order_by("-pk")[:sample_size])
    return {"count": qs.count(), "sample": sample}


# -- saving and tracking size ---------------------------------------------------------------------


def record_size(segment, *, now=None):
    """Count the segment now and keep today's size for the chart."""
    now = now or timezone.now()
    size = segment_members(segment).count()
    problem = stored_problem(segment.subject, segment.definition)[:300]
    if problem:
        logger.warning("segment %s matches nobody: its conditions are not valid (%s)", segment.pk, problem)
    Segment.objects.filter(pk=segment.pk).update(size=size, counted_at=now, problem=problem)
    SegmentSize.objects.update_or_create(segment=segment, day=timezone.localdate(now), defaults={"size": size})
    segment.size, segment.counted_at, segment.problem = size, now, problem
    return size


def save_segment(*, actor, segment, definition):
    segment.definition = clean_definition(segment.subject, definition)
    if segment.pk is None:
        segment.owner = actor
        segment.department_id = actor.department_id
    segment.save()
    record_size(segment)
    return segment


def _names(kind, ids):
    model = {"tags": Tag, "users": User, "departments": Department, "campaigns": Campaign}[kind]
    return {obj.pk: str(obj) for obj in model.objects.filter(pk__in=ids)}


def _referenced(subject, definition, wanted, fields=None):
    fields = fields or fields_for(subject)
    for group in definition.get("groups", []):
        for c in group["conditions"]:
            spec = fields.get(c["field"])
            if spec is not None and spec.value in ("tags", "users", "departments", "campaigns"):
                wanted.setdefault(spec.value, set()).update(_as_list(c["value"]))
    return wanted


def describe_many(items):
    """``describe`` for many segments with one query per kind of referenced object."""
    wanted = {}
    fields = {subject: fields_for(subject) for subject in {item.subject for item in items}}
    for item in items:
        _referenced(item.subject, item.definition, wanted, fields[item.subject])
    names = {kind: _names(kind, ids) for kind, ids in wanted.items()}
    return [describe(item.subject, item.definition, names=names, fields=fields[item.subject]) for item in items]


def describe(segment_or_subject, definition=None, names=None, fields=None):
    """A readable sentence of the conditions, for lists and confirmations."""
    if definition is None:
        subject, definition = segment_or_subject.subject, segment_or_subject.definition
    else:
        subject = segment_or_subject
    fields = fields or fields_for(subject)
    joiner = {"all": " AND ", "any": " OR "}
    if names is None:
        names = {kind: _names(kind, ids) for kind, ids in _referenced(subject, definition, {}, fields).items()}
    groups = []
    for group in definition.get("groups", []):
        parts = []
        for c in group["conditions"]:
            spec = fields.get(c["field"])
            if spec is None:
                continue
            value = c["value"]
            if spec.value == "choices":
                labels = dict(spec.choices)
                value = ", ".join(str(labels.get(v, v)) for v in value)
            elif spec.value in names:
                value = ", ".join(names[spec.value].get(v, str(v)) for v in _as_list(value))
            elif spec.value == "region" and value:
                value = regions.full_name(str(value)) or value
            elif isinstance(value, list):
                value = ", ".join(str(v) for v in value)
            parts.append(f"{spec.label} {OPS[c['op']]} {value if value is not None else ''}".strip())
        if parts:
            groups.append("(" + joiner[group["match"]].join(parts) + ")")
    return joiner[definition.get("match", "all")].join(groups)
