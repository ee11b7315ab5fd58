"""Hooks the customers layer offers to the apps above it (which fill them in ``AppConfig.ready``),
so that customers never imports them and they never import each other.

- ``order_placed``: functions called with a just-stored order, inside the order's transaction
  (the catalogue grants the entitlements its SKUs carry). The one order-placing service calls
  :func:`order_placed` after the order and its lines are saved.
- ``task_creator``: the function that creates a task for a rep (sales fills it); an app below or
  beside sales asks for a task through :func:`create_task` without importing sales.
"""

from collections.abc import Callable
from typing import Any

_order_placed: dict[str, Callable] = {}
_task_creator: Callable | None = None


def register_order_placed(name: str, handler: Callable) -> None:
    """Add (or replace) ``handler(order)``; safe to call from ``AppConfig.ready``."""
    _order_placed[name] = handler


def order_placed(order) -> None:
    """Run every registered handler for ``order`` (in the caller's transaction)."""
    for handler in list(_order_placed.values()):
        handler(order)


def register_task_creator(creator: Callable) -> None:
    """``creator(*, assignee, title, description, customer, due_at, by_rule)`` → the task."""
    global _task_creator
    _task_creator = creator


def create_task(**kwargs) -> Any | None:
    """A task through the registered creator, or ``None`` when no app creates tasks."""
    if _task_creator is None:
        return None
    return _task_creator(**kwargs)
