"""Where the amount a target counts comes from (目标口径).

The amount metric of targets (``Target.Metric.AMOUNT_WON``) counts, by the setting
``SalesSettings.target_amount_source``, either the amount of won opportunities (``won``, this
app's own) or a source another app registers from its ``AppConfig.ready()`` — contracts
registers the signed contract amount (``signed``) and the collected payments (``collected``);
``sales`` sits below ``contracts`` in the import contract, so it reads them only through here.

A source is ``fn(owner_ids, start, end, by_month=False, channel="")``: the amount per owner id in
[start, end) (dates), or per (owner id, first day of month) with ``by_month``; one grouped query.
``channel`` (a customer source code, the dashboards' channel filter; empty: every channel)
narrows the amount the way the won amount is narrowed — by the source channel of the customer
the amount is from — so the three amounts of a won deal fall under the same channel."""

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from .models import SalesSettings

WON = "won"


@dataclass(frozen=True)
class AmountSource:
    code: str
    label: str
    fn: Callable | None


_sources: dict[str, AmountSource] = {WON: AmountSource(WON, _("Amount of won opportunities"), None)}


def register_amount_source(code: str, label, fn: Callable) -> None:
    _sources[code] = AmountSource(code, label, fn)


def amount_source_choices() -> list[tuple[str, str]]:
    return [(s.code, s.label) for s in _sources.values()]


def source(code: str) -> AmountSource:
    """The registered source, or the won amount when ``code`` is not (or no longer) registered."""
    return _sources.get(code) or _sources[WON]


def current_source() -> AmountSource:
    return source(SalesSettings.current().target_amount_source)
