"""The scenario registry and the scenarios of the shell and the customers app.

A scenario is one request, made as one user, with the status it must answer. Other apps add
theirs in ``bench/<app>.py`` (named after the app's label), imported by :func:`load_app_scenarios`, for example::

    from bench.scenarios import Scenario, register

    register(
        Scenario("orders.list", "director", "/sales/orders/"),
        Scenario("orders.detail", "rep1", lambda ctx: f"/sales/orders/{ctx.first(Order).pk}/"),
    )

``url`` is a path, or a callable ``url(ctx) -> path`` resolved once before timing (so the
look-ups it does are not measured). For anything but a GET, pass ``request(client, ctx) ->
response`` instead. ``user`` is a username to log in as, or ``None`` for an anonymous client
(API scenarios send ``ctx.bearer()`` headers instead).
"""

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field

#: name -> Scenario, in registration order
REGISTRY = {}


@dataclass
class Scenario:
    name: str
    user: str | None
    url: str | Callable | None = None
    status: int = 200
    headers: dict | Callable = field(default_factory=dict)  # extra WSGI environ, e.g. HTTP_AUTHORIZATION
    request: Callable | None = None  # request(client, ctx) -> response, instead of a GET of url
    runs: int | None = None  # fixed number of measured runs (e.g. 1 for a full export)
    warmups: int | None = None
    note: str = ""

    def resolve(self, ctx):
        """Return ``perform(client) -> response`` and the resolved URL (for the report)."""
        if self.request is not None:
            return (lambda client: self.request(client, ctx)), self.url if isinstance(self.url, str) else ""
        url = self.url(ctx) if callable(self.url) else self.url
        headers = self.headers(ctx) if callable(self.headers) else dict(self.headers)
        return (lambda client: client.get(url, **headers)), url


def in_process(work: Callable) -> Callable:
    """A scenario's ``request`` that measures ``work(ctx)`` — a query or a service call, without the
    page around it — in this process, and answers what it returned as the body of a 200 (so the
    runner times and checks it like any other request)."""

    def request(client, ctx):
        from django.http import HttpResponse

        return HttpResponse(str(work(ctx)))

    return request


def register(*scenarios):
    for scenario in scenarios:
        if scenario.name in REGISTRY:
            raise ValueError(f"Benchmark scenario {scenario.name!r} is registered twice")
        REGISTRY[scenario.name] = scenario


def load_app_scenarios():
    """Import ``bench.<app>`` for each of the project's apps that has one; they register their scenarios."""
    import os

    from django.apps import apps
    from django.conf import settings

    for config in apps.get_app_configs():
        if not config.path.startswith(str(settings.BASE_DIR)) or f"{os.sep}.venv{os.sep}" in config.path:
            continue  # third-party apps
        module_name = f"bench.{config.label}"
        try:
            importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:  # the module exists but one of its imports is missing
                raise
    return list(REGISTRY.values())


def selected(only=None):
    """Scenarios whose name contains any of the ``only`` substrings (all when empty)."""
    scenarios = load_app_scenarios()
    if only:  # the floor is always measured: the ratios are to it
        scenarios = [s for s in scenarios if s.name == FLOOR or any(part in s.name for part in only)]
    return scenarios


# --- helpers for url callables ------------------------------------------------------------------


def _sample_customer(ctx):
    """The newest customer of rep1: in scope for rep1, manager1, director and admin."""
    from customers.models import Customer

    return ctx.cached(
        "customer", lambda: Customer.objects.filter(owner__username="rep1").order_by("-created_at").first()
    )


def _customer_detail_url(ctx):
    return f"/customers/{_sample_customer(ctx).pk}/"


def _api_customer_url(ctx):
    return f"/api/v1/customers/{_sample_customer(ctx).pk}"


def _api_mobile_url(ctx):
    return f"/api/v1/customers?mobile={_sample_customer(ctx).mobile}"


def _bearer(ctx):
    return ctx.bearer()


# --- the shell and customers --------------------------------------------------------------------

#: the floor: a signed-in trivial view through the whole middleware; every page is printed as a multiple of it
FLOOR = "floor"

register(
    Scenario(FLOOR, "rep1", "/ping/", note="signed-in trivial view: the floor of every page"),
    Scenario("home.rep1", "rep1", "/"),
    Scenario("home.manager1", "manager1", "/"),
    Scenario("home.director", "director", "/"),
    Scenario("customers.list", "director", "/customers/"),
    Scenario("customers.list.100", "director", "/customers/?per_page=100", note="a list of 100 rows"),
    Scenario("customers.list.page2000", "admin", "/customers/?page=2000&per_page=20"),
    Scenario("customers.search", "director", "/customers/?q=王"),
    Scenario("customers.sort.created_at", "director", "/customers/?sort=created_at"),
    Scenario("customers.sort.name", "director", "/customers/?sort=name"),
    Scenario("customers.detail", "manager1", _customer_detail_url),
    # Streams every row in scope: measured once, the time is until the last byte is consumed.
    Scenario(
        "customers.export.csv",
        "director",
        "/customers/?export=csv",
        runs=1,
        warmups=0,
        note="one run, full stream consumed",
    ),
    Scenario("search.global", "director", "/search/?q=王"),
    Scenario("notifications", "rep1", "/notifications/"),
    Scenario("api.customer", None, _api_customer_url, headers=_bearer),
    Scenario("api.customers.by_mobile", None, _api_mobile_url, headers=_bearer),
    Scenario("api.ping", None, "/api/v1/ping", headers=_bearer),
)


# --- searching by name and mobile (one or two characters, pinyin, part of a mobile) ---------------


def _search_query(text):
    """The search the customer list makes, without the page around it: the count of matches in the
    director's scope and the first page of 20 (what the ≤ 30 ms target of a short search is about)."""

    def search(ctx):
        from crm.privacy import search_name_or_mobile
        from customers.selectors import customers_for

        user = ctx.user("director")
        found = search_name_or_mobile(customers_for(user), user, text)
        count = found.count()
        first = list(found.order_by("-created_at", "-id").values_list("id", flat=True)[:20])
        return f"{count} {len(first)}"

    return in_process(search)


def _partial_mobile(ctx):
    """Six digits from the middle of a mobile of the set: a partial-mobile search."""
    return _sample_customer(ctx).mobile[3:9]


register(
    Scenario("search.name.1char", "director", request=_search_query("王"), url="王"),
    Scenario("search.name.2char", "director", request=_search_query("子涵"), url="子涵"),
    Scenario("search.name.pinyin", "director", request=_search_query("wzh"), url="wzh"),
    Scenario("search.name.initials2", "director", request=_search_query("wz"), url="wz"),
    Scenario(
        "search.mobile.partial",
        "director",
        request=lambda client, ctx: _search_query(_partial_mobile(ctx))(client, ctx),
        url="6 digits",
    ),
    Scenario("customers.search.2char", "director", "/customers/?q=子涵"),
    Scenario("customers.search.pinyin", "director", "/customers/?q=wzh"),
    Scenario("customers.search.mobile", "director", lambda ctx: f"/customers/?q={_partial_mobile(ctx)}"),
)
