"""Outbound requests (SSRF): a webhook URL anyone can save reaches only the allowed host, over https,
at a public address — checked when saved and again at each send, redirects never followed, short
timeouts, capped answers; and no product code calls another server except through crm.outbound."""

import json
import pathlib
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest import mock

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ValidationError

from crm import notifications, outbound
from crm.models import Delivery


@pytest.fixture(autouse=True)
def _english():
    """The messages below are asserted in English (each test starts in the default language)."""
    from django.utils import translation

    with translation.override("en"):
        yield


class _Server(BaseHTTPRequestHandler):
    hits = []
    mode = "ok"

    def do_POST(self):
        type(self).hits.append(self.path)
        if self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", "/stolen")
            self.end_headers()
            return
        if self.path.startswith("/huge"):
            self.send_response(200)
            self.end_headers()
            for _ in range(200):
                self.wfile.write(b"x" * 65536)
            return
        if self.path.startswith("/slow"):
            time.sleep(3)
        payload = json.dumps({"errcode": 0, "errmsg": "ok"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    _Server.hits = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Server)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def local_allowed(settings):
    """The documented test set-up: the local server's host may be called over http."""
    settings.OUTBOUND_INSECURE_HOSTS = ["127.0.0.1"]


def _send(org, url, capture):
    org.rep1.notify_by_email = False
    org.rep1.notify_by_wecom = True
    org.rep1.wecom_webhook = url
    org.rep1.save()
    with mock.patch("crm.notifications.enqueue"):
        with capture(execute=True):
            note = notifications.notify(recipient=org.rep1, title="新线索")
        notifications.deliver(note.deliveries.get().pk)
    return note.deliveries.get()


@pytest.mark.parametrize(
    "url,message",
    [
        ("http://127.0.0.1:8000/cgi-bin/webhook/send", "Only these hosts can be called: qyapi.weixin.qq.com."),
        ("https://169.254.169.254/latest/meta-data/", "Only these hosts can be called: qyapi.weixin.qq.com."),
        ("https://evil.example/hook", "Only these hosts can be called: qyapi.weixin.qq.com."),
        ("http://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=1", "The address must start with https://."),
        ("https://user:pw@qyapi.weixin.qq.com/x", "The address may not contain a user name or password."),
    ],
)
def test_preferences_refuse_a_webhook_the_server_must_not_call(client, org, url, message):
    client.force_login(org.rep1)
    response = client.post(
        "/preferences/",
        {
            "first_name": "小明",
            "last_name": "王",
            "email": "rep1@example.com",
            "wecom_webhook": url,
            "notify_by_wecom": "on",
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert response.context["form"].errors["wecom_webhook"] == [message]
    org.rep1.refresh_from_db()
    assert org.rep1.wecom_webhook == ""


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.9",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "::1",
        "fe80::1",
        "fd00::1",
        "::ffff:10.0.0.1",
    ],
)
def test_an_allowed_host_that_resolves_into_a_private_network_is_refused(settings, address):
    settings.OUTBOUND_ALLOWED_HOSTS = ["hooks.example.com"]
    with mock.patch("crm.outbound._resolve", return_value=[address]):
        with pytest.raises(ValidationError) as refused:
            outbound.validate_url("https://hooks.example.com/send")
    assert refused.value.messages == ["The host hooks.example.com points into a private network; it cannot be called."]


def test_the_department_webhook_is_checked_beside_the_field(client, org):
    client.force_login(org.admin)
    response = client.post(
        f"/org/departments/{org.team1.pk}/edit/",
        {
            "name": org.team1.name,
            "kind": org.team1.kind,
            "parent": org.team1.parent_id or "",
            "wecom_webhook": "http://10.0.0.5/internal",
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert response.context["form"].errors["wecom_webhook"] == ["Only these hosts can be called: qyapi.weixin.qq.com."]


def test_a_stored_webhook_into_the_local_network_is_refused_at_send_and_never_called(
    org, server, django_capture_on_commit_callbacks
):
    """A URL saved before the guard (or written by other means) is checked again when sending: the
    server is never called, and the refusal is final (no retries)."""
    delivery = _send(org, f"{server}/cgi-bin/webhook/send?key=x", django_capture_on_commit_callbacks)
    assert _Server.hits == []
    assert delivery.status == Delivery.Status.FAILED and delivery.attempts == 1
    assert "OutboundRefused" in delivery.last_error


def test_an_allowed_local_test_host_receives_the_message(
    org, server, local_allowed, django_capture_on_commit_callbacks
):
    delivery = _send(org, f"{server}/cgi-bin/webhook/send?key=x", django_capture_on_commit_callbacks)
    assert delivery.status == Delivery.Status.SENT
    assert _Server.hits == ["/cgi-bin/webhook/send?key=x"]


def test_a_redirect_is_not_followed(org, server, local_allowed, django_capture_on_commit_callbacks):
    delivery = _send(org, f"{server}/redirect", django_capture_on_commit_callbacks)
    assert _Server.hits == ["/redirect"]  # never /stolen
    assert delivery.status == Delivery.Status.PENDING and "redirects are not followed" in delivery.last_error


def test_a_huge_answer_is_cut_off(server, local_allowed):
    started = time.monotonic()
    with pytest.raises(outbound.OutboundError, match="larger than 65536 bytes"):
        outbound.post_json(f"{server}/huge", {})
    assert time.monotonic() - started < 3


def test_a_slow_server_times_out(server, local_allowed):
    started = time.monotonic()
    with pytest.raises(outbound.OutboundError):
        outbound.post_json(f"{server}/slow", {}, timeout=0.5)
    assert time.monotonic() - started < 2.5


def test_the_connection_goes_to_the_address_that_was_checked(settings):
    """DNS rebinding: the name answers a public address for the check and a private one after;
    the connection is made to the checked address, the name is resolved once."""
    settings.OUTBOUND_ALLOWED_HOSTS = ["qyapi.weixin.qq.com"]
    answers = iter([["93.184.216.34"], ["127.0.0.1"]])
    connected = []

    def refuse(address, *args, **kwargs):
        connected.append(address)
        raise ConnectionRefusedError("test")

    with (
        mock.patch("crm.outbound._resolve", side_effect=lambda host, port: next(answers)),
        mock.patch("crm.outbound.socket.create_connection", side_effect=refuse),
    ):
        with pytest.raises(outbound.OutboundError):
            outbound.post_json("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=x", {})
    assert connected == [("93.184.216.34", 443)]


def test_no_product_code_calls_another_server_except_through_the_guard():
    """Every outbound request goes through crm.outbound: no other module of the product opens an
    HTTP connection itself (benchmarks, fault runs and screenshots drive the local server only)."""
    root = pathlib.Path(django_settings.BASE_DIR)
    pattern = re.compile(
        r"\b(urllib\.request|urlopen|import requests|from requests|httpx|http\.client|"
        r"aiohttp|pycurl|socket\.create_connection)\b"
    )
    offenders = []
    for app in ("crm", "customers", "sales", "coupons", "marketing"):
        for path in (root / app).rglob("*.py"):
            relative = path.relative_to(root).as_posix()
            if "/tests/" in relative or relative == "crm/outbound.py" or "bench" in path.name:
                continue
            if pattern.search(path.read_text(encoding="utf-8")):
                offenders.append(relative)
    assert offenders == []
