"""Every list's export with invalid filter values answers a file (empty when the filter matches
nothing) or a 400 — never a 500 (issue 14, item 6: ``/customers/?export=csv&owner=6`` as rep1 was
an ``EmptyResultSet`` server error). The lists are found by walking the URL patterns for every
``ScopedListView``; each filter of each list gets values of the wrong kind, out of range, of
another user's or department's records, and all of them at once, in CSV and XLSX, for each role
that may export the list."""

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from crm import permissions
from crm.models import Role
from crm.ui import ScopedListView

BAD_VALUES = ["999999999", "99999999999999999999", "-1", "abc", "2026-13-45", "\u0000"]


def _walk(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern


def list_views():
    """(url, view class) of every list page with an export: the registry of lists."""
    found = {}
    for route, pattern in _walk(get_resolver().url_patterns):
        view_class = getattr(pattern.callback, "view_class", None)
        if view_class and issubclass(view_class, ScopedListView) and view_class.export_action and "<" not in route:
            found["/" + route.lstrip("^").rstrip("$")] = view_class
    return sorted(found.items())


LISTS = list_views()


def test_the_registry_finds_every_list():
    assert [url for url, _view in LISTS] == [
        "/catalog/analysis/lines/",
        "/catalog/entitlements/",
        "/contracts/",
        "/contracts/collections/instalments/",
        "/customers/",
        "/customers/orders/",
        "/marketing/",
        "/org/audit/",
        "/org/privacy/",
        "/org/users/",
        "/partners/",
        "/sales/followups/",
        "/sales/leads/",
        "/sales/opportunities/",
        "/sales/tickets/",
    ]


def _filters(view_class):
    return list(view_class.filterset_class.base_filters)


@pytest.mark.parametrize("url,view_class", LISTS, ids=[url for url, _v in LISTS])
def test_an_export_with_invalid_filter_values_is_a_file_or_a_400(org, url, view_class):
    allowed = [
        u
        for u in (org.rep1, org.manager1, org.marketing, org.admin)
        if permissions.can(u, view_class.view_action) and permissions.can(u, view_class.export_action)
    ]
    assert allowed, url
    users = allowed[:1] + allowed[-1:] if len(allowed) > 1 else allowed  # the narrowest and the widest
    queries = []
    for name in _filters(view_class):
        for value in BAD_VALUES:
            queries.append({name: value})
        queries.append({name: str(org.rep3.pk)})  # a record id outside most scopes (the issue's owner=6)
        queries.append({name: str(org.sales2.pk)})
    queries.append(dict.fromkeys(_filters(view_class), "999999999"))
    failures = []
    for user in users:
        client = Client(raise_request_exception=False)
        client.force_login(user)
        for index, query in enumerate(queries):
            for fmt in ("csv", "xlsx") if index == len(queries) - 1 else ("csv",):
                response = client.get(url, {**query, "export": fmt})
                if response.status_code not in (200, 400):
                    failures.append(f"{user.role} {url} {query} {fmt}: {response.status_code}")
                elif response.status_code == 200:
                    if getattr(response, "streaming", False):
                        b"".join(response.streaming_content)
                    disposition = response.get("Content-Disposition", "")
                    if "attachment" not in disposition:
                        failures.append(f"{user.role} {url} {query} {fmt}: 200 without a file")
    assert failures == []


def test_the_issues_probe_answers_the_filtered_out_empty_file(client, org):
    from customers.tests.factories import CustomerFactory

    CustomerFactory(owner=org.rep1, name="我的客户")
    CustomerFactory(owner=org.rep3, name="别人的客户")
    client.force_login(org.rep1)
    response = client.get("/customers/", {"export": "csv", "owner": str(org.rep3.pk)})
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert len(text.strip().splitlines()) == 1  # the header only
    assert "别人的客户" not in text and "我的客户" not in text


def test_a_role_without_the_list_is_still_refused(client, org):
    assert Role.REP not in permissions.ACTIONS["audit.view"]
    client.force_login(org.rep1)
    assert client.get("/org/audit/", {"export": "csv", "actor": "abc"}).status_code == 403
