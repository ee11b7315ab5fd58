"""What the apps above customers plug into it, each from its ``AppConfig.ready()`` (customers imports
none of them; see also ``timeline.py`` and ``deals.py``):

- saved segments (marketing): a stored definition as a condition on customers, used by tag rules
  and by coupon batches whose audience is a segment;
- the coupon of an order (coupons): redeemed in the order's transaction, given back when the order
  is cancelled.
"""

from collections.abc import Callable

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
