"""What the apps above customers plug into it, each from its ``AppConfig.ready()`` (customers imports
none of them; see also ``timeline.py`` and ``deals.py``):

- saved segments (marketing): a stored definition as a condition on customers, used by tag rules
  and by coupon batches whose audience is a segment;
- the coupon of an order (coupons): redeemed in the order's transaction, given back when the order
  is cancelled;
- orders placed (catalog, partners, members): functions called with a just-stored order inside the
  order's transaction (the catalogue grants the entitlements its SKUs carry); ``place_order`` calls
  :func:`order_placed` after the order and its lines are saved, the order import
  :func:`orders_placed` once for all the orders it stored (each hook's batch form, when it has one);
- the line pricer (catalog): :func:`price_orders` prices the lines of one order (``place_order``)
  or of many (the order import, a chunk at a time) from the catalogue and says which sales policy
  applied; without the catalogue, lines are kept as given;
- the catalogue's choices (catalog): :func:`catalogue_choices` lists the categories or SKUs a
  coupon batch's scope can pick;
- leads captured (partners): :func:`lead_captured` hands a new lead no assignment rule took to
  the apps that distribute leads (the partners' distribution by grade), in the capture's transaction;
- the task creator (sales): an app below or beside sales asks for a task for a rep through
  :func:`create_task` without importing sales.
"""

from collections.abc import Callable
from typing import Any

from django.db.models import Q

_segments: dict[str, Callable] = {}
_order_coupons: dict[str, Callable] = {}


def register_segment_definitions(*, condition: Callable, problem: Callable) -> None:
    """``condition(subject, definition) -> Q | None`` (None: everyone) and ``problem(subject,
    definition) -> str`` ("" when the stored definition is still valid)."""
    _segments.update(condition=condition, problem=problem)


def segment_condition(subject: str, definition: dict) -> Q | None:
    return _segments["condition"](subject, definition)


def segment_problem(subject: str, definition: dict) -> str:
    return _segments["problem"](subject, definition)


def register_order_coupons(*, redeem: Callable, release: Callable) -> None:
    """``redeem(code=, order=, customer=)`` and ``release(order=)``."""
    _order_coupons.update(redeem=redeem, release=release)


def order_coupon_hook(name: str) -> Callable | None:
    """``"redeem"`` or ``"release"``; None when no app handles coupons."""
    return _order_coupons.get(name)


_order_placed: dict[str, tuple[Callable, Callable | None]] = {}
_task_creator: Callable | None = None


def register_order_placed(name: str, handler: Callable, *, batch: Callable | None = None) -> None:
    """Add (or replace) ``handler(order)`` and, optionally, its batch form ``batch(orders)``, which
    must leave the same rows as ``handler`` run on each order in turn (set-based where it can);
    safe to call from ``AppConfig.ready``."""
    _order_placed[name] = (handler, batch)


def order_placed(order) -> None:
    """Run every registered handler for ``order`` (in the caller's transaction)."""
    for handler, _batch in list(_order_placed.values()):
        handler(order)


def orders_placed(orders: list) -> None:
    """Run every registered handler for ``orders``, all stored in the caller's transaction (an
    import): each hook's batch form once, or the hook on each order in turn."""
    if not orders:
        return
    for handler, batch in list(_order_placed.values()):
        if batch is not None:
            batch(orders)
        else:
            for order in orders:
                handler(order)


_lead_captured: dict[str, Callable] = {}


def register_lead_captured(name: str, handler: Callable) -> None:
    """Add (or replace) ``handler(lead)``, called (in the capture's transaction) with a new lead no
    rule assigned (e.g. the partners' lead distribution); safe to call from ``AppConfig.ready``."""
    _lead_captured[name] = handler


def lead_captured(lead) -> None:
    for handler in list(_lead_captured.values()):
        handler(lead)


def register_task_creator(creator: Callable) -> None:
    """``creator(*, assignee, title, description, customer, due_at, by_rule)`` → the task."""
    global _task_creator
    _task_creator = creator


def create_task(**kwargs) -> Any | None:
    """A task through the registered creator, or ``None`` when no app creates tasks."""
    if _task_creator is None:
        return None
    return _task_creator(**kwargs)


# -- conditions other apps add to segments and to lead scoring ----------------------------------

_segment_fields: dict[str, dict] = {}
_lead_criteria: dict[str, dict] = {}


def register_segment_field(name: str, *, label, ops: tuple, value: str, condition: Callable) -> None:
    """A field customer segments can test, kept by an app above customers (e.g. behaviour events):
    ``ops`` among the segment builder's operators, ``value`` its kind of value ("int", "days", …),
    ``condition(op, value, now) -> Q`` on ``Customer``."""
    _segment_fields[name] = {"label": label, "ops": tuple(ops), "value": value, "condition": condition}


def segment_fields() -> dict[str, dict]:
    return dict(_segment_fields)


def register_lead_criterion(code: str, *, label, condition: Callable, test: Callable, help_text="") -> None:
    """A lead-scoring criterion kept by an app above customers: ``condition(value, now) -> Q`` on
    ``Lead`` (the set-based rescore) and ``test(lead, value, now) -> bool`` (one lead, the same rule).
    ``code`` fits in 20 characters."""
    if len(code) > 20:
        raise ValueError(f"criterion code {code!r}: at most 20 characters")
    _lead_criteria[code] = {"label": label, "condition": condition, "test": test, "help_text": help_text}


def lead_criteria() -> dict[str, dict]:
    return dict(_lead_criteria)


_points_awarder: Callable | None = None


def register_points_awarder(awarder: Callable) -> None:
    """``awarder(*, customer, kind, reference)`` → the points entry or None (membership)."""
    global _points_awarder
    _points_awarder = awarder


def award_points(*, customer, kind: str, reference: str) -> Any | None:
    """Points for ``kind`` ("attendance", "check_in") through the registered awarder, once per
    reference; ``None`` when no app keeps points."""
    if _points_awarder is None:
        return None
    return _points_awarder(customer=customer, kind=kind, reference=reference)


_pricer: dict[str, Callable] = {}


def register_line_pricer(pricer: Callable, *, choices: Callable | None = None) -> None:
    """``pricer(orders=[{"lines", "customer", "channel", "on"}], unknown=, actor=)`` → one list of
    priced line dicts per order (see ``catalog.services.pricing.price_orders``); ``choices(kind)``
    → ``[(value, label)]`` of ``"categories"`` or ``"skus"``."""
    _pricer["price"] = pricer
    if choices is not None:
        _pricer["choices"] = choices


def price_orders(orders: list[dict], *, unknown: str = "keep", actor=None) -> list[list[dict]]:
    """The lines of each order priced from the catalogue. ``unknown``: what a SKU the catalogue
    does not know does — ``"keep"`` (stays as given, unpriced), ``"refuse"`` (``ValidationError``
    naming ``items[n].sku``) or ``"create"`` (added to the catalogue as a draft). Without a
    registered pricer every line is returned as given."""
    pricer = _pricer.get("price")
    if pricer is None:
        return [list(order["lines"]) for order in orders]
    return pricer(orders=orders, unknown=unknown, actor=actor)


def catalogue_choices(kind: str) -> list[tuple[str, str]]:
    """``[(value, label)]`` of the catalogue's categories (``"categories"``, by name) or SKUs
    (``"skus"``, by code); empty without the catalogue."""
    choices = _pricer.get("choices")
    return choices(kind) if choices is not None else []
