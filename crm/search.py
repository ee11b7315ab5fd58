"""The global search's sources (全局搜索). crm imports no other app, so each app whose records the
search finds registers a source here from its ``AppConfig.ready()``: ``source(user, query)`` returns
result rows (kind, title, subtitle, extra, url), already narrowed to the user's data scope."""

from collections.abc import Callable

from .models import User

SOURCES: dict[str, Callable[[User, str], list[dict]]] = {}


def register(name: str, source: Callable[[User, str], list[dict]]) -> None:
    SOURCES[name] = source


def results_for(user: User, query: str) -> list[dict]:
    return [row for source in SOURCES.values() for row in source(user, query)]
