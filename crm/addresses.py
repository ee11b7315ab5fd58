"""The client's address: who is on the other end of a request.

``X-Forwarded-For`` is a header anyone can send. It is read only when the request comes from a
trusted proxy (``TRUSTED_PROXIES``: addresses or networks, by default the loopback addresses a
reverse proxy on the same machine uses). Walking the header from the right, every hop that is
itself a trusted proxy is skipped; the first one that is not is the client. Anything a client
wrote to the left of that is ignored.

``ClientAddressMiddleware`` puts that address in ``REMOTE_ADDR`` and drops the forwarded header,
so every consumer — the login lockout (django-axes), the audit log, the personal-data access log —
sees the same, unspoofable address.
"""

import ipaddress
from functools import lru_cache

from django.conf import settings


@lru_cache(maxsize=8)
def _networks(entries):
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            continue
    return tuple(networks)


def _parse(value):
    value = (value or "").strip()
    if value.startswith("[") and "]" in value:  # [v6]:port
        value = value[1 : value.index("]")]
    elif value.count(":") == 1 and "." in value:  # v4:port
        value = value.split(":", 1)[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def is_trusted_proxy(address):
    parsed = _parse(address) if isinstance(address, str) else address
    if parsed is None:
        return False
    return any(parsed in network for network in _networks(tuple(getattr(settings, "TRUSTED_PROXIES", ()))))


def client_ip(request):
    """The client's address as a string (see the module's docstring)."""
    meta = request.META
    if "crm.client_ip" in meta:
        return meta["crm.client_ip"]
    remote = meta.get("REMOTE_ADDR") or ""
    address = remote
    if is_trusted_proxy(remote):
        hops = [hop for hop in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        for hop in reversed(hops):
            parsed = _parse(hop)
            if parsed is None:
                break  # garbage written by whoever is left of here: stop at the last good hop
            address = str(parsed)
            if not is_trusted_proxy(parsed):
                break
    return address or None


class ClientAddressMiddleware:
    """Resolve the client's address once, before anything reads it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        address = client_ip(request)
        request.META["crm.client_ip"] = address
        if address:
            request.META["REMOTE_ADDR"] = address
        request.META.pop("HTTP_X_FORWARDED_FOR", None)
        request.META.pop("HTTP_X_FORWARDED_PORT", None)
        return self.get_response(request)
