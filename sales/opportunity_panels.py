"""Cards other apps add to the opportunity page (e.g. contracts' "the contract of this deal").

``sales`` sits below those apps in the import contract, so they register here from their
``AppConfig.ready()``; the page includes each card's template with ``panel`` =
``context_fn(opportunity, user)`` (keep that to a query or two), or leaves it out when that is
``None``."""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class OpportunityPanel:
    name: str
    template_name: str
    context_fn: Callable


_panels: dict[str, OpportunityPanel] = {}


def register(name: str, template_name: str, context_fn: Callable) -> None:
    _panels[name] = OpportunityPanel(name, template_name, context_fn)


def panels_for(opportunity, user) -> list[dict]:
    """The registered cards that have something to show for ``opportunity``, in registration order."""
    shown = []
    for item in _panels.values():
        context = item.context_fn(opportunity, user)
        if context is not None:
            shown.append({"name": item.name, "template_name": item.template_name, "context": context})
    return shown
