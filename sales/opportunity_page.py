"""What other apps add to the opportunity page: header buttons (resources' "book a trial lesson")
and cards (contracts' "the contract of this deal").

``sales`` sits below those apps in the import contract, so they register here from their
``AppConfig.ready()`` with one call, naming the ``place``: ``ACTION`` for a button in the header,
``PANEL`` for a card below the page. The page includes each template with ``action`` or ``panel``
= ``context_fn(opportunity, user)`` (keep that to a query or two), or leaves it out when that is
``None``."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

ACTION = "action"
PANEL = "panel"
Place = Literal["action", "panel"]


@dataclass(frozen=True)
class Contribution:
    name: str
    place: Place
    template_name: str
    context_fn: Callable


_contributions: dict[tuple[str, str], Contribution] = {}


def register(name: str, template_name: str, context_fn: Callable, *, place: Place) -> None:
    """``context_fn(opportunity, user) -> dict | None``; ``place`` is ``ACTION`` or ``PANEL``."""
    if place not in (ACTION, PANEL):
        raise ValueError(f"unknown place on the opportunity page: {place!r}")
    _contributions[(place, name)] = Contribution(name, place, template_name, context_fn)


def contributions_for(opportunity, user, place: Place) -> list[dict]:
    """The registered items of ``place`` that have something to show for ``opportunity``, in
    registration order."""
    shown = []
    for item in _contributions.values():
        if item.place != place:
            continue
        context = item.context_fn(opportunity, user)
        if context is not None:
            shown.append({"name": item.name, "template_name": item.template_name, "context": context})
    return shown
