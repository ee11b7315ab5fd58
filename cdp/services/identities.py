"""Linking identities to customers, and the merge suggestions that come from a clash."""

from auditlog.models import LogEntry
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.errors import Invalid
from crm.phone import normalize_mobile
from customers.models import Customer

from .. import registry
from ..models import OWN_KINDS, Identity, IdentityKind, MergeSuggestion


def normalize(kind: str, value: str) -> str:
    """The stored form of an identifier (raises ``Invalid`` when it cannot be one)."""
    value = (value or "").strip()
    if not value:
        raise Invalid("invalid_identity", _("The identifier is empty."))
    if kind == IdentityKind.MOBILE:
        try:
            return normalize_mobile(value)
        except Exception as exc:
            raise Invalid("invalid_identity", _("Not a mobile number.")) from exc
    if kind == IdentityKind.EMAIL:
        if "@" not in value or len(value) > 128:
            raise Invalid("invalid_identity", _("Not an email address."))
        return value.lower()
    if len(value) > 128:
        raise Invalid("invalid_identity", _("The identifier is too long."))
    return value


def suggest_merge(*, first_id: int, second_id: int, kind: str, value: str) -> MergeSuggestion | None:
    """Record once that two customers share ``kind``/``value`` (none for the same customer)."""
    if first_id == second_id:
        return None
    low, high = sorted((first_id, second_id))
    suggestion, _created = MergeSuggestion.objects.get_or_create(customer_id=low, other_id=high, kind=kind, value=value)
    return suggestion


@transaction.atomic
def link_identity(*, customer, kind: str, value: str, issuer: str = "", actor=None) -> Identity | None:
    """Link an identifier to ``customer``. The identifier is unique (``cdp_identity_unique``):
    when another customer already holds it the link is refused and a merge suggestion is kept
    instead (returns None). WeChat kinds are bound in ``field``; here they only raise suggestions."""
    value = normalize(kind, value)
    if kind not in OWN_KINDS:
        held = registry.lookup(kind, [value]) or {}
        owner_id = held.get(value)
        if owner_id is not None:
            suggest_merge(first_id=customer.pk, second_id=owner_id, kind=kind, value=value)
        return None
    issuer = issuer if kind == IdentityKind.EXTERNAL else ""
    try:
        with transaction.atomic():
            identity, _created = Identity.objects.get_or_create(
                kind=kind, issuer=issuer, value=value, defaults={"customer": customer, "created_by": actor}
            )
    except IntegrityError:  # linked meanwhile by another request
        identity = Identity.objects.get(kind=kind, issuer=issuer, value=value)
    if identity.customer_id != customer.pk:
        suggest_merge(first_id=customer.pk, second_id=identity.customer_id, kind=kind, value=value)
        return None
    return identity


def find_shared_contacts() -> int:
    """Merge suggestions for customers sharing a mobile or an email on their records (the
    customer table allows it); set-based, safe to run again. Returns how many are new."""
    new = 0
    for field, kind in (("mobile", IdentityKind.MOBILE), ("email", IdentityKind.EMAIL)):
        shared = (
            Customer.objects.exclude(**{field: ""})
            .values(field)
            .annotate(n=Count("id"))
            .filter(n__gt=1)
            .values_list(field, flat=True)
        )
        groups: dict[str, list[int]] = {}
        for pk, value in Customer.objects.filter(**{f"{field}__in": shared}).values_list("pk", field):
            groups.setdefault(value, []).append(pk)
        for value, ids in groups.items():
            ids.sort()
            for other in ids[1:]:
                _suggestion, created = MergeSuggestion.objects.get_or_create(
                    customer_id=ids[0], other_id=other, kind=kind, value=value
                )
                new += created
    return new


def dismiss_suggestion(*, suggestion: MergeSuggestion, actor) -> None:
    """Mark a suggestion as looked at and not a duplicate; recorded in the audit log."""
    MergeSuggestion.objects.filter(pk=suggestion.pk, status=MergeSuggestion.Status.OPEN).update(
        status=MergeSuggestion.Status.DISMISSED, decided_by=actor, decided_at=timezone.now()
    )
    suggestion.refresh_from_db()
    LogEntry.objects.log_create(
        suggestion,
        force_log=True,
        action=LogEntry.Action.UPDATE,
        actor=actor,
        changes={"status": [MergeSuggestion.Status.OPEN, suggestion.status]},
    )
