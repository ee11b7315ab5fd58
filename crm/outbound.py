"""Outbound HTTP requests: the one way the product calls another server.

Every request the product makes to a URL — WeChat Work webhooks today, any channel backend or
callback that talks HTTP tomorrow — goes through ``post_json`` (``check_url`` for forms that save a
URL). A URL someone typed must not turn the server into a proxy into its own network (SSRF), so:

- the host must be in ``OUTBOUND_ALLOWED_HOSTS`` (default: the WeChat Work webhook host
  ``qyapi.weixin.qq.com``; an entry ``.example.com`` allows its subdomains too);
- the scheme is https, with the certificate checked against the host name;
- every address the name resolves to must be a public one: loopback, private, link-local, shared,
  reserved, multicast and unspecified ranges are refused, when the URL is saved (an error beside the
  field) and again at each send, and the connection goes to the very address that was checked, so a
  name that resolves elsewhere the second time (DNS rebinding) gains nothing;
- redirects are never followed, timeouts are short (``OUTBOUND_TIMEOUT`` seconds per step and twice
  that in all) and the answer is read up to ``OUTBOUND_MAX_RESPONSE_BYTES`` only.

``OUTBOUND_INSECURE_HOSTS`` lists hosts that may be reached over plain http and at any address: for
a local test server or a development stub only, empty by default and never needed in production.
"""

import http.client
import ipaddress
import json
import socket
import ssl
import time
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _


class OutboundRefused(Exception):
    """The URL may not be called (host, scheme or address); retrying will not help."""


class OutboundError(Exception):
    """The call was made and failed (connection, timeout, status, size); it may succeed later."""


def _setting(name, default):
    return getattr(settings, name, default)


def _host_allowed(host, allowed):
    for entry in allowed:
        entry = entry.strip().lower()
        if not entry:
            continue
        if entry.startswith(".") and (host.endswith(entry) or host == entry[1:]):
            return True
        if host == entry:
            return True
    return False


def is_public(address):
    """Whether ``address`` (an ip_address) is one the internet routes to a third party."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return bool(
        address.is_global
        and not (
            address.is_multicast
            or address.is_reserved
            or address.is_loopback
            or address.is_link_local
            or address.is_private
            or address.is_unspecified
        )
    )


def _resolve(host, port):
    """Every address ``host`` resolves to (as strings)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise OutboundRefused(_("The host %(host)s cannot be found.") % {"host": host}) from exc
    return list(dict.fromkeys(info[4][0] for info in infos))


class Target:
    """A checked URL: where to connect (``ip``) and what to ask for."""

    def __init__(self, *, scheme, host, port, path, ip):
        self.scheme, self.host, self.port, self.path, self.ip = scheme, host, port, path, ip


def check_url(url):
    """Check ``url`` against the rules above and resolve it; returns a ``Target`` whose ``ip`` is
    the checked address to connect to. Raises ``OutboundRefused`` with a message for the user."""
    try:
        parts = urlsplit((url or "").strip())
        port = parts.port
    except ValueError as exc:
        raise OutboundRefused(_("Enter a valid URL.")) from exc
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower().rstrip(".")
    if not host or scheme not in ("http", "https"):
        raise OutboundRefused(_("Enter a valid URL."))
    if parts.username or parts.password:
        raise OutboundRefused(_("The address may not contain a user name or password."))
    insecure = _host_allowed(host, _setting("OUTBOUND_INSECURE_HOSTS", ()))
    if not insecure and not _host_allowed(host, _setting("OUTBOUND_ALLOWED_HOSTS", ())):
        raise OutboundRefused(
            _("Only these hosts can be called: %(hosts)s.")
            % {"hosts": ", ".join(_setting("OUTBOUND_ALLOWED_HOSTS", ())) or "-"}
        )
    if scheme != "https" and not insecure:
        raise OutboundRefused(_("The address must start with https://."))
    port = port or (443 if scheme == "https" else 80)
    addresses = _resolve(host, port)
    if not addresses:
        raise OutboundRefused(_("The host %(host)s cannot be found.") % {"host": host})
    if not insecure:
        for address in addresses:
            if not is_public(ipaddress.ip_address(address.split("%", 1)[0])):
                raise OutboundRefused(
                    _("The host %(host)s points into a private network; it cannot be called.") % {"host": host}
                )
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(scheme=scheme, host=host, port=port, path=path, ip=addresses[0])


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, target, timeout):
        super().__init__(target.host, target.port, timeout=timeout)
        self._ip = target.ip

    def connect(self):
        self.sock = socket.create_connection((self._ip, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, target, timeout):
        super().__init__(target.host, target.port, timeout=timeout, context=ssl.create_default_context())
        self._ip = target.ip

    def connect(self):
        sock = socket.create_connection((self._ip, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post_json(url, payload, *, timeout=None, max_bytes=None):
    """POST ``payload`` as JSON to ``url`` under the rules above and return the decoded JSON answer
    (``{}`` for an empty body). Raises ``OutboundRefused`` (do not retry) or ``OutboundError``."""
    return _call("POST", url, json.dumps(payload).encode(), timeout=timeout, max_bytes=max_bytes)


def get_json(url, *, timeout=None, max_bytes=None):
    """GET ``url`` under the same rules and return the decoded JSON answer (WeChat Work's API reads)."""
    return _call("GET", url, None, timeout=timeout, max_bytes=max_bytes)


def _call(method, url, body, *, timeout=None, max_bytes=None):
    timeout = timeout or _setting("OUTBOUND_TIMEOUT", 5)
    max_bytes = max_bytes or _setting("OUTBOUND_MAX_RESPONSE_BYTES", 64 * 1024)
    target = check_url(url)
    deadline = time.monotonic() + 2 * timeout
    connection_class = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(target, timeout)
    try:
        headers = {"User-Agent": "crm-outbound/1", "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        connection.request(method, target.path, body=body, headers=headers)
        response = connection.getresponse()
        if 300 <= response.status < 400:
            raise OutboundError(f"HTTP {response.status}: redirects are not followed")
        declared = response.getheader("Content-Length")
        if declared and declared.isdigit() and int(declared) > max_bytes:
            raise OutboundError(f"the answer is larger than {max_bytes} bytes")
        chunks, size = [], 0
        while True:
            if time.monotonic() > deadline:
                raise OutboundError(f"no complete answer within {2 * timeout} s")
            chunk = response.read(min(16 * 1024, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > max_bytes:
                raise OutboundError(f"the answer is larger than {max_bytes} bytes")
        if response.status >= 400:
            raise OutboundError(f"HTTP {response.status}")
    except (OSError, http.client.HTTPException) as exc:
        raise OutboundError(f"{type(exc).__name__}: {exc}") from exc
    finally:
        connection.close()
    text = b"".join(chunks).decode("utf-8", "replace").strip()
    if not text:
        return {}
    try:
        answer = json.loads(text)
    except ValueError as exc:
        raise OutboundError("the answer is not JSON") from exc
    return answer if isinstance(answer, dict) else {"value": answer}


def validate_url(value):
    """Form validator: a URL the product will call, checked now (an error beside the field)."""
    from django.core.exceptions import ValidationError

    if not value:
        return
    try:
        check_url(value)
    except OutboundRefused as exc:
        raise ValidationError(str(exc), code="outbound") from exc
