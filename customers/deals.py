"""成交 (deals): what counts as a customer buying, in one place.

A deal is an order, a won opportunity or (with the contracts app) a signed contract. The public
pool's "no deal for M days", its "a customer who bought within the deal period is not recycled for
lack of follow-ups" and "paying customers" all read :func:`latest_deal_at`, one expression over every
kind of deal. This app contributes orders (the customer's ``last_order_at``, kept from paid orders by
the order services); other apps add their kind in ``AppConfig.ready``::

    from customers import deals

    deals.register("won_opportunity", lambda: Subquery(
        Opportunity.objects.filter(customer=OuterRef("pk"), stage__is_won=True)
        .order_by("-closed_at").values("closed_at")[:1]))

A source is a function returning an expression evaluated on a ``Customer`` queryset: the time of
that customer's latest deal of its kind, or NULL.
"""

import datetime
from collections.abc import Callable

from django.db.models import DateTimeField, F, Value
from django.db.models.functions import Coalesce, Greatest, NullIf

from .models import Customer

#: stands for "never" inside the expression (GREATEST is NULL on SQLite as soon as one argument is)
NEVER = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)

_sources: dict[str, Callable] = {"order": lambda: F("last_order_at")}


def register(kind: str, expression_fn: Callable) -> None:
    """Add (or replace) a kind of deal; safe to call from ``AppConfig.ready``."""
    _sources[kind] = expression_fn


def kinds() -> list[str]:
    return list(_sources)


def latest_deal_at():
    """The time of the customer's latest deal of any kind (NULL when the customer never bought),
    as an expression to annotate a ``Customer`` queryset with."""
    never = Value(NEVER, output_field=DateTimeField())
    parts = [Coalesce(fn(), never, output_field=DateTimeField()) for fn in _sources.values()]
    latest = parts[0] if len(parts) == 1 else Greatest(*parts, output_field=DateTimeField())
    return NullIf(latest, never, output_field=DateTimeField())


def latest_deal_for(customer_id: int):
    """The latest deal of one customer (None when never)."""
    return (
        Customer.objects.filter(pk=customer_id)
        .annotate(latest_deal=latest_deal_at())
        .values_list("latest_deal", flat=True)
        .first()
    )
