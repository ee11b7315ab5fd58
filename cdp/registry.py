"""Identities other apps keep: ``field`` stores the WeChat ones (openid, unionid, WeCom external
contact) under its own uniqueness rule and registers a lookup here from its ``AppConfig.ready``,
so the events API and the identity list read them without this app importing ``field``.

A lookup is ``lookup(kind, values) -> {value: customer_id}`` (one query), a lister is
``lister(customer_ids) -> [(customer_id, kind, issuer, value)]``."""

from collections.abc import Callable

_lookups: dict[str, Callable] = {}
_listers: dict[str, Callable] = {}


def register_identity_kinds(kinds, *, lookup: Callable, lister: Callable, name: str) -> None:
    for kind in kinds:
        _lookups[str(kind)] = lookup
    _listers[name] = lister


def lookup(kind: str, values) -> dict[str, int] | None:
    """``{value: customer_id}`` for a kind kept by another app; None when no app keeps it."""
    fn = _lookups.get(kind)
    return None if fn is None else fn(kind, list(values))


def external_identities(customer_ids) -> list[tuple]:
    rows = []
    for lister in _listers.values():
        rows.extend(lister(list(customer_ids)))
    return rows
