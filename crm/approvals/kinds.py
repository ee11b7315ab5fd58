"""The registry of approval kinds: each app registers what it asks approval for."""

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.apps import apps

from crm import permissions


def _no_amount(obj) -> Decimal | None:
    return None


def _own_department(obj):
    path = getattr(type(obj), "scope_department_field", None)
    if not path:
        return None
    value = obj
    for part in path.split("__"):
        value = getattr(value, part, None)
        if value is None:
            return None
    return value


def _visible(user, obj) -> bool:
    return permissions.is_visible(user, obj)


@dataclass(frozen=True)
class Kind:
    """One kind of request.

    ``describe(obj, key)`` names the request; ``on_approved(request, obj, actor)`` and
    ``on_rejected(request, obj, actor, comment)`` run inside the deciding transaction;
    ``record_role(obj, key)`` is the role a ``record_role`` step asks (empty: that step is not
    needed); ``default_steps`` are ``(relation, role, min_amount)`` rows seeded when an admin has
    configured nothing."""

    code: str
    label: Any
    model: str  # "app_label.Model"
    describe: Callable
    on_approved: Callable
    on_rejected: Callable
    amount: Callable = _no_amount
    department: Callable = _own_department
    record_role: Callable = lambda obj, key: ""
    may_view: Callable = _visible
    url: Callable = lambda obj: obj.get_absolute_url()
    default_steps: tuple = field(default_factory=tuple)
    #: records waiting for approval that may lack a request (made before the engine, or by the
    #: demo data), and who asked: ``services.adopt_waiting`` opens their requests
    waiting: Callable | None = None
    requester: Callable | None = None

    @property
    def model_class(self):
        return apps.get_model(self.model)


_kinds: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    """Add (or replace) a kind; safe to call from ``AppConfig.ready``."""
    _kinds[kind.code] = kind
    return kind


def get(code: str) -> Kind:
    return _kinds[code]


def all_kinds() -> list[Kind]:
    return list(_kinds.values())


def label_of(code: str):
    kind = _kinds.get(code)
    return kind.label if kind else code
