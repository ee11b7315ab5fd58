"""The Content-Security-Policy header (django-csp): one policy for every page, none for the two areas
that bring their own inline scripts."""

import pytest

POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)


def _directives(header):
    return {part.split()[0]: part.split()[1:] for part in header.split("; ")}


def test_login_page_sends_the_policy_with_every_directive(client, db):
    response = client.get("/login/")
    assert _directives(response["Content-Security-Policy"]) == _directives(POLICY)


def test_policy_allows_no_other_host_and_no_inline_script(client, db):
    directives = _directives(client.get("/login/")["Content-Security-Policy"])
    assert directives["script-src"] == ["'self'"]
    assert all(
        source in ("'self'", "'unsafe-inline'", "data:", "'none'")
        for sources in directives.values()
        for source in sources
    )


def test_not_found_page_sends_the_policy(client, db):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert _directives(response["Content-Security-Policy"]) == _directives(POLICY)


@pytest.mark.parametrize("path", ["/api/docs/", "/django-admin/"])
def test_api_browser_and_django_admin_go_without_the_policy(admin_client, path):
    response = admin_client.get(path)
    assert response.status_code == 200
    assert "Content-Security-Policy" not in response
