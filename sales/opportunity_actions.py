"""Buttons other apps add to the opportunity page's header (e.g. resources' "book a trial
lesson"): an app above sales registers a template and a context function in its
``AppConfig.ready``; the function returns ``None`` when the button does not apply."""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Action:
    name: str
    template_name: str
    context_fn: Callable


_actions: dict[str, Action] = {}


def register(name: str, template_name: str, context_fn: Callable) -> None:
    """``context_fn(opportunity, user) -> dict | None`` (keep it to a query or none)."""
    _actions[name] = Action(name, template_name, context_fn)


def for_opportunity(opportunity, user) -> list[dict]:
    shown = []
    for action in _actions.values():
        context = action.context_fn(opportunity, user)
        if context is not None:
            shown.append({"template_name": action.template_name, "context": context})
    return shown
