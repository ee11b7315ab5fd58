"""The home page's panels (首页). crm imports no other app, so each app that shows something on the
home page registers its panels here from its ``AppConfig.ready()``; ``crm.views.shell.home`` calls them
in their order, each seeing what the panels before it put in the context (the sales workbench
reads the month's new customers the customers panel counted)."""

import datetime
from collections.abc import Callable
from dataclasses import dataclass

from django.utils import timezone

from .models import User

#: panel(user, *, now, context) -> the context entries it adds
PanelFunction = Callable[..., dict]


@dataclass(frozen=True)
class Panel:
    name: str
    order: int
    manager: PanelFunction | None = None  # the home of managers, directors, marketing and admins
    rep: PanelFunction | None = None  # the home of everyone else


PANELS: dict[str, Panel] = {}


def register(name: str, *, order: int, manager: PanelFunction | None = None, rep: PanelFunction | None = None) -> None:
    PANELS[name] = Panel(name, order, manager, rep)


def panels_context(user: User, *, now: datetime.datetime, manager: bool) -> dict:
    """What the registered panels show ``user`` on the manager's or the rep's home."""
    context = {}
    for panel in sorted(PANELS.values(), key=lambda panel: panel.order):
        function = panel.manager if manager else panel.rep
        if function is not None:
            context.update(function(user, now=now, context=context))
    return context


def month_start_of(now: datetime.datetime) -> datetime.datetime:
    """The start of ``now``'s month (local time)."""
    month = timezone.localdate(now).replace(day=1)
    return timezone.make_aware(datetime.datetime.combine(month, datetime.time.min))
