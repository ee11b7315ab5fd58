"""Relations and households (多人级联关系)."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from ..models import FAMILY_KINDS, SYMMETRIC_KINDS, CustomerRelation, RelationKind

HOUSEHOLD_LIMIT = 200


@transaction.atomic
def link_customers(*, actor=None, from_customer, to_customer, kind, note=""):
    """Link two customers ("from is <kind> of to"). Refuses self-links, a second family link (or a
    second referral) between the same two people in either direction — which also refuses
    contradictions such as A parent of B and B parent of A."""
    if kind not in RelationKind.values:
        raise ValidationError({"kind": _("Unknown relation.")})
    if from_customer.pk == to_customer.pk:
        raise ValidationError({"to_customer": _("A customer cannot be linked to themself.")})
    if kind in SYMMETRIC_KINDS and from_customer.pk > to_customer.pk:
        from_customer, to_customer = to_customer, from_customer
    is_family = kind in FAMILY_KINDS
    existing = CustomerRelation.objects.filter(
        Q(from_customer=from_customer, to_customer=to_customer)
        | Q(from_customer=to_customer, to_customer=from_customer),
        is_family=is_family,
    ).first()
    if existing is not None:
        other, reading = existing.reading_for(from_customer.pk)
        if existing.kind == kind and existing.from_customer_id == from_customer.pk:
            raise ValidationError({"to_customer": _("This link exists already.")})
        raise ValidationError(
            {
                "to_customer": _("%(other)s is already linked as %(reading)s; remove that link first.")
                % {"other": other.name, "reading": reading}
            }
        )
    relation = CustomerRelation(
        from_customer=from_customer,
        to_customer=to_customer,
        kind=kind,
        note=note,
        is_family=is_family,
        created_by=actor if actor is not None and actor.is_authenticated else None,
    )
    try:
        with transaction.atomic():
            relation.save()
    except IntegrityError as exc:  # a concurrent request stored the same pair first
        raise ValidationError({"to_customer": _("This link exists already.")}) from exc
    return relation


@transaction.atomic
def unlink(*, relation):
    relation.delete()


def household_ids(customer_id, limit=HOUSEHOLD_LIMIT):
    """Every customer reachable from ``customer_id`` over family links, any number of levels
    (one query per level; ``limit`` bounds the size)."""
    seen = {customer_id}
    frontier = {customer_id}
    while frontier and len(seen) < limit:
        pairs = (
            CustomerRelation.objects.filter(is_family=True)
            .filter(Q(from_customer_id__in=frontier) | Q(to_customer_id__in=frontier))
            .values_list("from_customer_id", "to_customer_id")
        )
        found = {cid for pair in pairs for cid in pair} - seen
        seen |= found
        frontier = found
    return seen


def household(customer_id):
    """(members, links) of the customer's household, for the list and the graph."""
    ids = household_ids(customer_id)
    links = list(
        CustomerRelation.objects.filter(
            is_family=True, from_customer_id__in=ids, to_customer_id__in=ids
        ).select_related("from_customer", "to_customer")
    )
    return ids, links


def referral_count(customer_id, limit=10000):
    """How many customers this one brought in, directly and down the chain (who brought whom)."""
    seen = {customer_id}
    frontier = {customer_id}
    total = 0
    while frontier and total < limit:
        found = (
            set(
                CustomerRelation.objects.filter(kind=RelationKind.REFERRER, from_customer_id__in=frontier).values_list(
                    "to_customer_id", flat=True
                )
            )
            - seen
        )
        total += len(found)
        seen |= found
        frontier = found
    return total
