"""A customer named by an outside caller: by id, or by mobile (normalized) — the one resolver the
orders API, the coupon API, event registrations and ``place_order`` use."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction

from crm.db import advisory_lock
from crm.phone import normalize_mobile

from ..models import Customer
from .records import create_customer


@dataclass(frozen=True)
class CustomerRef:
    """``{"id"}`` or ``{"mobile", "name"}`` as a request gives it; ``name`` is for someone new."""

    id: int | None = None
    mobile: str = ""
    name: str = ""

    @classmethod
    def of(cls, value: CustomerRef | dict[str, Any]) -> CustomerRef:
        if isinstance(value, CustomerRef):
            return value
        return cls(id=value.get("id") or None, mobile=value.get("mobile") or "", name=value.get("name") or "")


def find_customer(ref: CustomerRef | dict[str, Any], *, queryset=None) -> Customer | None:
    """The customer with this id, or else the first (oldest) with this mobile; None when there is
    none. A mobile is normalized first (raises ``ValidationError`` on ``mobile`` if it is not one)."""
    ref = CustomerRef.of(ref)
    customers = Customer.objects.all() if queryset is None else queryset
    if ref.id:
        return customers.filter(pk=ref.id).first()
    if not ref.mobile:
        return None
    return customers.filter(mobile=normalize_mobile(ref.mobile)).order_by("id").first()


@transaction.atomic
def resolve_or_create_customer(
    ref: CustomerRef | dict[str, Any], *, actor, **new_fields
) -> tuple[Customer | None, bool]:
    """The customer the reference names, creating one for an unknown mobile (with ``new_fields``:
    department, owner, source …). Returns ``(customer, created)``; ``(None, False)`` for an unknown
    id. Concurrent calls for one new mobile serialize on an advisory lock held to the end of the
    caller's transaction, so one mobile never makes two customers."""
    ref = CustomerRef.of(ref)
    if ref.id:
        return find_customer(ref), False
    mobile = normalize_mobile(ref.mobile)
    advisory_lock("customer-mobile", mobile)
    customer = Customer.objects.filter(mobile=mobile).order_by("id").first()
    if customer is not None:
        return customer, False
    return create_customer(actor=actor, name=ref.name or mobile, mobile=mobile, **new_fields), True
