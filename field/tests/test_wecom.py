"""WeCom end to end against a local stand-in for WeCom's server (a thread in the test) that
implements gettoken, auth/getuserinfo, externalcontact/get, externalcontact/batch/get_by_user (with
cursor paging), get_jsapi_ticket and ticket/get?type=agent_config, and signs callbacks."""

import base64
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import IntegrityError

from customers.models import Customer
from customers.tests.factories import CustomerFactory
from field import wecom
from field.models import WeChatIdentity, WeComAccount, WeComEvent
from sales.models import FollowUp

CORP = "ww0123456789abcdef"
SECRET = "app-secret"
TOKEN = "callback-token"
AES_KEY = base64.b64encode(os.urandom(32)).decode().rstrip("=")
WXWORK_UA = "Mozilla/5.0 (iPhone) AppleWebKit/605.1.15 wxwork/4.1.20 MicroMessenger/7.0.1"


class FakeWeCom:
    """WeCom's server as far as the product uses it."""

    def __init__(self):
        self.codes = {}  # OAuth code -> userid
        self.contacts = {}  # external_userid -> externalcontact/get answer
        self.follows = {}  # userid -> [external_userid, ...] (what get_by_user lists)
        self.calls = []
        self.token_delay = 0.0  # seconds gettoken takes (to let parallel callers overlap)
        self.page_size = 2  # get_by_user entries per page, whatever the limit asked for
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                outer.calls.append(parts.path)
                payload = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                if query.get("access_token") != "TOKEN-1":
                    body = {"errcode": 40014, "errmsg": "invalid access_token"}
                elif parts.path == "/cgi-bin/externalcontact/batch/get_by_user":
                    entries = [
                        {
                            "external_contact": {"external_userid": external, "name": external, "type": 1},
                            "follow_info": {"userid": userid, "remark": "", "createtime": 1733550000},
                        }
                        for userid in payload.get("userid_list", [])
                        for external in outer.follows.get(userid, [])
                    ]
                    start = int(payload.get("cursor") or 0)
                    end = start + min(outer.page_size, int(payload.get("limit") or 50))
                    body = {
                        "errcode": 0,
                        "errmsg": "ok",
                        "external_contact_list": entries[start:end],
                        "next_cursor": str(end) if end < len(entries) else "",
                    }
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                self._answer(body)

            def _answer(self, body):
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                outer.calls.append(parts.path)
                if parts.path == "/cgi-bin/gettoken":
                    time.sleep(outer.token_delay)
                    ok = query.get("corpid") == CORP and query.get("corpsecret") == SECRET
                    body = (
                        {"errcode": 0, "errmsg": "ok", "access_token": "TOKEN-1", "expires_in": 7200}
                        if ok
                        else {"errcode": 40001, "errmsg": "invalid credential"}
                    )
                elif query.get("access_token") != "TOKEN-1":
                    body = {"errcode": 40014, "errmsg": "invalid access_token"}
                elif parts.path == "/cgi-bin/auth/getuserinfo":
                    userid = outer.codes.pop(query.get("code"), None)
                    body = (
                        {"errcode": 0, "errmsg": "ok", "userid": userid}
                        if userid
                        else {"errcode": 40029, "errmsg": "invalid code"}
                    )
                elif parts.path == "/cgi-bin/get_jsapi_ticket":
                    body = {"errcode": 0, "errmsg": "ok", "ticket": "CORP-TICKET", "expires_in": 7200}
                elif parts.path == "/cgi-bin/ticket/get" and query.get("type") == "agent_config":
                    body = {"errcode": 0, "errmsg": "ok", "ticket": "AGENT-TICKET", "expires_in": 7200}
                elif parts.path == "/cgi-bin/externalcontact/get":
                    contact = outer.contacts.get(query.get("external_userid"))
                    body = (
                        {"errcode": 0, "errmsg": "ok", **contact}
                        if contact
                        else {"errcode": 84061, "errmsg": "not external contact"}
                    )
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.base = f"http://127.0.0.1:{self.server.server_port}/cgi-bin/"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def signed_callback(self, xml, *, token=TOKEN, aes_key=None):
        """The query string and body WeCom posts for a message (signed with ``token``)."""
        encrypted = wecom.encrypt(xml, aes_key=aes_key or AES_KEY, receive_id=CORP)
        timestamp, nonce = str(int(time.time())), "n0nce42"
        query = (
            f"msg_signature={wecom.signature(token, timestamp, nonce, encrypted)}&timestamp={timestamp}&nonce={nonce}"
        )
        body = (
            f"<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt>"
            f"<AgentID><![CDATA[1000002]]></AgentID></xml>"
        )
        return query, body


def change_xml(change, *, userid="rep1_wx", external="wmEXT001", at=1733550000):
    return (
        f"<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>"
        f"<CreateTime>{at}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[change_external_contact]]></Event><ChangeType><![CDATA[{change}]]></ChangeType>"
        f"<UserID><![CDATA[{userid}]]></UserID><ExternalUserID><![CDATA[{external}]]></ExternalUserID></xml>"
    )


@pytest.fixture
def fake(settings):
    server = FakeWeCom()
    settings.WECOM_CORP_ID, settings.WECOM_AGENT_ID, settings.WECOM_SECRET = CORP, "1000002", SECRET
    settings.WECOM_API_BASE = server.base
    settings.WECOM_CALLBACK_TOKEN, settings.WECOM_CALLBACK_AES_KEY = TOKEN, AES_KEY
    settings.OUTBOUND_INSECURE_HOSTS = ["127.0.0.1"]
    from django.core.cache import cache

    cache.clear()
    yield server
    server.stop()


@pytest.fixture
def linked(org):
    return WeComAccount.objects.create(user=org.rep1, corp_id=CORP, userid="rep1_wx")


# -- 4. sign-in ---------------------------------------------------------------------------------


def test_login_page_inside_wecom_goes_through_oauth_and_signs_in_by_userid(client, org, fake, linked):
    response = client.get("/login/?next=/customers/", HTTP_USER_AGENT=WXWORK_UA)
    assert response.status_code == 302 and response.url == "/field/wecom/start/?next=%2Fcustomers%2F"
    response = client.get(response.url, HTTP_USER_AGENT=WXWORK_UA)
    authorize = urlsplit(response.url)
    query = {k: v[0] for k, v in parse_qs(authorize.query).items()}
    assert authorize.netloc == "open.weixin.qq.com" and authorize.fragment == "wechat_redirect"
    assert query["appid"] == CORP and query["agentid"] == "1000002" and query["scope"] == "snsapi_base"
    assert query["redirect_uri"] == "http://testserver/field/wecom/oauth/"
    fake.codes["CODE-1"] = "rep1_wx"
    response = client.get(f"/field/wecom/oauth/?code=CODE-1&state={query['state']}")
    assert response.status_code == 302 and response.url == "/customers/"
    assert client.get("/field/me/").status_code == 200
    assert int(client.session["_auth_user_id"]) == org.rep1.pk


def test_outside_wecom_the_normal_login_shows(client, org, fake):
    response = client.get("/login/", HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64) Chrome/120")
    assert response.status_code == 200 and b'name="password"' in response.content


def test_oauth_refuses_a_wrong_state_and_an_unknown_userid(client, org, fake, linked):
    client.get("/field/wecom/start/")
    fake.codes["CODE-2"] = "rep1_wx"
    response = client.get("/field/wecom/oauth/?code=CODE-2&state=forged")
    assert response.status_code == 400 and "_auth_user_id" not in client.session
    response = client.get("/field/wecom/start/")
    state = parse_qs(urlsplit(response.url).query)["state"][0]
    fake.codes["CODE-3"] = "stranger_wx"
    response = client.get(f"/field/wecom/oauth/?code=CODE-3&state={state}")
    assert response.status_code == 403 and "_auth_user_id" not in client.session
    assert "stranger_wx" in response.content.decode()


def test_wecom_pages_are_absent_until_configured(client, org):
    assert client.get("/field/wecom/start/").status_code == 404
    response = client.get("/login/", HTTP_USER_AGENT=WXWORK_UA)
    assert response.status_code == 200


# -- 5. sidebar, identities ------------------------------------------------------------------------


def test_sidebar_binds_an_existing_customer_then_opens_its_360(client, org, fake):
    customer = CustomerFactory(name="王芳", mobile="13900001111", owner=org.rep1)
    client.force_login(org.rep1)
    page = client.get("/field/wecom/sidebar/?external_userid=wmEXT001&q=13900001111").content.decode()
    assert "王芳" in page and 'data-testid="wecom-bind"' in page
    response = client.post("/field/wecom/sidebar/bind/", {"external_userid": "wmEXT001", "customer": customer.pk})
    assert response.status_code == 302 and response.url == f"/customers/{customer.pk}/"
    identity = WeChatIdentity.objects.get()
    assert (identity.customer, identity.kind, identity.issuer, identity.value, identity.bound_by) == (
        customer,
        "wecom_external",
        CORP,
        "wmEXT001",
        org.rep1,
    )
    response = client.get("/field/wecom/sidebar/?external_userid=wmEXT001")
    assert response.status_code == 302 and response.url == f"/customers/{customer.pk}/"


def test_sidebar_search_stays_within_scope_and_binding_outside_it_is_refused(client, org, fake):
    other = CustomerFactory(name="王五", mobile="13900002222", owner=org.rep2)
    client.force_login(org.rep1)
    page = client.get("/field/wecom/sidebar/?external_userid=wmEXT002&q=王五").content.decode()
    assert 'data-testid="wecom-bind"' not in page
    response = client.post("/field/wecom/sidebar/bind/", {"external_userid": "wmEXT002", "customer": other.pk})
    assert response.status_code == 404 and WeChatIdentity.objects.count() == 0


def test_sidebar_creates_a_customer_and_binds_it(client, org, fake):
    client.force_login(org.rep1)
    response = client.post(
        "/field/wecom/sidebar/create/", {"external_userid": "wmEXT003", "name": "赵敏", "mobile": "13700003333"}
    )
    customer = Customer.objects.get(name="赵敏")
    assert response.url == f"/customers/{customer.pk}/" and customer.owner == org.rep1
    assert list(customer.wechat_identities.values_list("value", flat=True)) == ["wmEXT003"]


def test_an_identity_belongs_to_one_customer_only(client, org, fake):
    first, second = CustomerFactory(owner=org.rep1), CustomerFactory(owner=org.rep1)
    WeChatIdentity.objects.create(customer=first, kind="unionid", value="UNION-1")
    with pytest.raises(IntegrityError):
        WeChatIdentity.objects.create(customer=second, kind="unionid", value="UNION-1")


def test_binding_a_bound_contact_again_names_the_problem(client, org, fake):
    first, second = CustomerFactory(owner=org.rep1), CustomerFactory(owner=org.rep1)
    WeChatIdentity.objects.create(customer=first, kind="wecom_external", issuer=CORP, value="wmEXT004")
    client.force_login(org.rep1)
    response = client.post(
        "/field/wecom/sidebar/bind/", {"external_userid": "wmEXT004", "customer": second.pk}, follow=True
    )
    assert "already bound" in response.content.decode() or "已绑定" in response.content.decode()
    assert WeChatIdentity.objects.get(value="wmEXT004").customer == first


# -- 5. callbacks ----------------------------------------------------------------------------------


def test_a_signed_add_callback_binds_by_the_remark_mobile_and_logs_a_touch_once(
    client, org, fake, linked, django_capture_on_commit_callbacks
):
    customer = CustomerFactory(name="李雷", mobile="13612345678", owner=org.rep1)
    fake.contacts["wmEXT010"] = {
        "external_contact": {"external_userid": "wmEXT010", "name": "Li", "type": 1, "unionid": "UNION-LL"},
        "follow_user": [{"userid": "rep1_wx", "remark": "李雷 13612345678", "remark_mobiles": []}],
    }
    query, body = fake.signed_callback(change_xml("add_external_contact", external="wmEXT010"))
    for _attempt in range(2):  # WeCom retries: the second delivery does nothing more
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(f"/field/wecom/callback/?{query}", body, content_type="text/xml")
        assert response.status_code == 200 and response.content == b"success"
    assert WeComEvent.objects.count() == 1
    event = WeComEvent.objects.get()
    assert event.processed_at is not None and event.result == f"added; customer {customer.pk}"
    assert sorted(customer.wechat_identities.values_list("kind", "value")) == [
        ("unionid", "UNION-LL"),
        ("wecom_external", "wmEXT010"),
    ]
    touch = FollowUp.objects.get(customer=customer)
    assert (touch.channel, touch.direction, touch.created_by) == ("wechat", "inbound", org.rep1)
    assert "rep1_wx" in touch.content


def test_a_delete_callback_logs_a_touch_on_the_bound_customer(
    client, org, fake, linked, django_capture_on_commit_callbacks
):
    customer = CustomerFactory(name="韩梅梅", owner=org.rep1)
    WeChatIdentity.objects.create(customer=customer, kind="wecom_external", issuer=CORP, value="wmEXT020")
    query, body = fake.signed_callback(change_xml("del_follow_user", external="wmEXT020"))
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/field/wecom/callback/?{query}", body, content_type="text/xml").status_code == 200
    touch = FollowUp.objects.get(customer=customer)
    assert touch.channel == "wechat" and "rep1_wx" in touch.content


def test_a_forged_callback_is_refused_and_stores_nothing(client, org, fake, django_capture_on_commit_callbacks):
    query, body = fake.signed_callback(change_xml("add_external_contact"), token="not-the-token")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/field/wecom/callback/?{query}", body, content_type="text/xml")
    assert response.status_code == 403 and WeComEvent.objects.count() == 0
    other_key = base64.b64encode(os.urandom(32)).decode().rstrip("=")
    query, body = fake.signed_callback(change_xml("add_external_contact"), aes_key=other_key)
    response = client.post(f"/field/wecom/callback/?{query}", body, content_type="text/xml")
    assert response.status_code == 403 and WeComEvent.objects.count() == 0


def test_the_callback_url_check_echoes_the_decrypted_echostr(client, org, fake):
    encrypted = wecom.encrypt("echo-12345", aes_key=AES_KEY, receive_id=CORP)
    signature = wecom.signature(TOKEN, "1733550000", "abc", encrypted)
    from urllib.parse import urlencode

    query = urlencode({"msg_signature": signature, "timestamp": "1733550000", "nonce": "abc", "echostr": encrypted})
    response = client.get(f"/field/wecom/callback/?{query}")
    assert response.status_code == 200 and response.content == b"echo-12345"


def test_an_entity_laden_callback_is_refused(client, org, fake):
    body = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><xml><Encrypt>&a;</Encrypt></xml>'
    assert (
        client.post(
            "/field/wecom/callback/?msg_signature=x&timestamp=1&nonce=1", body, content_type="text/xml"
        ).status_code
        == 403
    )


def test_wecom_link_command_links_once_and_refuses_a_taken_userid(org, fake):
    from django.core.management import CommandError, call_command

    call_command("wecom_link", "rep1", "rep1_wx")
    assert WeComAccount.objects.get(user=org.rep1).userid == "rep1_wx"
    with pytest.raises(CommandError, match="rep1"):
        call_command("wecom_link", "rep2", "rep1_wx")
    call_command("wecom_link", "rep1", "--unlink")
    assert WeComAccount.objects.count() == 0


# -- WeCom at WeCom's limits ---------------------------------------------------------------------------


def test_the_jssdk_signature_is_the_one_wecom_documents():
    # the example of WeChat's JS-SDK documentation (WeCom signs the same way)
    assert (
        wecom.jssdk_signature(
            "sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg",
            noncestr="Wm3WZYTPz0wzccnW",
            timestamp="1414587457",
            url="http://mp.weixin.qq.com?params=value#ignored",
        )
        == "0f9de62fce790f9a083d5c99e95740ceb90c27ed"
    )


def test_the_sidebar_signs_config_and_agent_config_with_tickets_fetched_once(client, org, fake, settings):
    import hashlib

    settings.WECOM_JSSDK_URL = "https://res.wx.qq.com/open/js/jweixin-1.2.0.js"
    client.force_login(org.rep1)
    for _visit in range(2):
        page = client.get("/field/wecom/sidebar/").content.decode()
        raw = page.split('<script id="wecom-jssdk-config" type="application/json">')[1].split("</script>")[0]
        config = json.loads(raw)
        for ticket, key in (("CORP-TICKET", "signature"), ("AGENT-TICKET", "agentSignature")):
            text = (
                f"jsapi_ticket={ticket}&noncestr={config['nonceStr']}&timestamp={config['timestamp']}"
                "&url=http://testserver/field/wecom/sidebar/"
            )
            assert config[key] == hashlib.sha1(text.encode()).hexdigest()
        assert (config["corpid"], config["agentid"]) == (CORP, "1000002")
        assert 'src="https://res.wx.qq.com/open/js/jweixin-1.2.0.js"' in page
    # one token and one ticket of each kind for both pages: the cache holds them
    assert [fake.calls.count(p) for p in ("/cgi-bin/gettoken", "/cgi-bin/get_jsapi_ticket", "/cgi-bin/ticket/get")] == [
        1,
        1,
        1,
    ]


def test_parallel_callers_share_one_token_fetch(fake):
    fake.token_delay = 0.3
    tokens, errors = [], []

    def call():
        try:
            tokens.append(wecom.Client().access_token())
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and tokens == ["TOKEN-1"] * 8
    assert fake.calls.count("/cgi-bin/gettoken") == 1


def test_calls_past_the_corps_budget_for_the_minute_are_refused(fake, settings, monkeypatch):
    settings.WECOM_RATE_PER_MINUTE = 3
    clock = [6000.0]
    monkeypatch.setattr(wecom.time, "time", lambda: clock[0])
    fake.contacts["wmR"] = {"external_contact": {"external_userid": "wmR"}, "follow_user": []}
    client = wecom.Client()
    client.external_contact("wmR")  # gettoken + get: two of three
    client.external_contact("wmR")  # three
    with pytest.raises(wecom.RateLimited):
        client.external_contact("wmR")
    assert fake.calls.count("/cgi-bin/externalcontact/get") == 2  # the refused call never left
    clock[0] += 60  # the next minute has a budget again
    assert client.external_contact("wmR")["external_contact"]["external_userid"] == "wmR"


def test_a_retried_callback_is_answered_at_once_and_processed_once(
    client, org, fake, linked, django_capture_on_commit_callbacks
):
    customer = CustomerFactory(name="周杰", mobile="13811112222", owner=org.rep1)
    fake.contacts["wmEXT030"] = {
        "external_contact": {"external_userid": "wmEXT030", "name": "Zhou", "type": 1},
        "follow_user": [{"userid": "rep1_wx", "remark": "", "remark_mobiles": ["13811112222"]}],
    }
    xml = change_xml("add_external_contact", external="wmEXT030", at=1733551111)
    queued = []
    for _attempt in range(3):  # WeCom retries an unanswered callback: re-encrypted, new nonce and time
        query, body = fake.signed_callback(xml)
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            response = client.post(f"/field/wecom/callback/?{query}", body, content_type="text/xml")
        assert response.status_code == 200 and response.content == b"success"
        queued += callbacks
        # answered before any work: nothing processed, WeCom's API not called yet
        assert WeComEvent.objects.get().processed_at is None
        assert "/cgi-bin/externalcontact/get" not in fake.calls
    assert len(queued) == 1  # one task for the three deliveries
    queued[0]()
    queued[0]()  # a task run twice (a worker lost after the work) does nothing more
    event = WeComEvent.objects.get()
    assert event.processed_at is not None and event.result == f"added; customer {customer.pk}"
    assert FollowUp.objects.filter(customer=customer).count() == 1
    assert fake.calls.count("/cgi-bin/externalcontact/get") == 1


def test_the_nightly_reconciliation_catches_adds_and_removals_without_callbacks(org, fake, linked):
    from field.models import WeComFollow
    from field.services.wecom import reconcile

    # the first night records what each member follows, without a touch for each
    fake.follows = {"rep1_wx": ["wmA", "wmB", "wmC"]}
    assert reconcile() == {"added": 0, "removed": 0, "recorded": 3}
    assert FollowUp.objects.count() == 0
    assert fake.calls.count("/cgi-bin/externalcontact/batch/get_by_user") == 2  # two pages of two
    gone = CustomerFactory(name="吴倩", owner=org.rep1)
    WeChatIdentity.objects.create(customer=gone, kind="wecom_external", issuer=CORP, value="wmB")
    found = CustomerFactory(name="郑爽", mobile="13755556666", owner=org.rep1)
    fake.contacts["wmD"] = {
        "external_contact": {"external_userid": "wmD", "name": "Zheng", "type": 1},
        "follow_user": [{"userid": "rep1_wx", "remark": "郑爽 13755556666"}],
    }
    fake.contacts["wmE"] = {"external_contact": {"external_userid": "wmE", "type": 1}, "follow_user": []}
    # changes made through the API send no callback: wmB gone, wmD and wmE added
    fake.follows = {"rep1_wx": ["wmA", "wmC", "wmD", "wmE"]}
    assert reconcile() == {"added": 2, "removed": 1, "recorded": 0}
    assert list(found.wechat_identities.values_list("value", flat=True)) == ["wmD"]
    added = FollowUp.objects.get(customer=found)
    assert added.channel == "wechat" and "夜间核对" in added.content
    removed = FollowUp.objects.get(customer=gone)
    assert "不再是联系人" in removed.content
    assert not WeComFollow.objects.get(userid="rep1_wx", external_userid="wmB").is_active
    # a second run finds nothing new and logs nothing twice
    assert reconcile() == {"added": 0, "removed": 0, "recorded": 0}
    assert FollowUp.objects.count() == 2


def test_the_reconciliation_task_runs_only_when_configured(org, settings):
    from field.tasks import reconcile_wecom_contacts

    settings.WECOM_CORP_ID = ""
    assert reconcile_wecom_contacts.apply().get() is None


def test_self_built_and_third_party_ids_and_the_unionid_are_one_customer(
    client, org, fake, linked, django_capture_on_commit_callbacks
):
    customer = CustomerFactory(name="孙丽", owner=org.rep1)
    WeChatIdentity.objects.create(customer=customer, kind="unionid", value="UNION-9")
    WeChatIdentity.objects.create(customer=customer, kind="wecom_external", issuer=f"{CORP}/suite1", value="wmTP1")
    client.force_login(org.rep1)
    # the third-party app's id opens the same customer
    response = client.get("/field/wecom/sidebar/?external_userid=wmTP1")
    assert response.status_code == 302 and response.url == f"/customers/{customer.pk}/"
    # the self-built app's id for the same person: bound through the unionid (no mobile in the remark)
    fake.contacts["wmSB1"] = {
        "external_contact": {"external_userid": "wmSB1", "unionid": "UNION-9", "type": 1},
        "follow_user": [{"userid": "rep1_wx", "remark": ""}],
    }
    query, body = fake.signed_callback(change_xml("add_external_contact", external="wmSB1"))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/field/wecom/callback/?{query}", body, content_type="text/xml")
    assert WeComEvent.objects.get().result == f"added; customer {customer.pk}"
    # and a chat opened with another unbound id of the same person goes straight to the customer
    fake.contacts["wmSB2"] = {"external_contact": {"external_userid": "wmSB2", "unionid": "UNION-9"}, "follow_user": []}
    response = client.get("/field/wecom/sidebar/?external_userid=wmSB2")
    assert response.status_code == 302 and response.url == f"/customers/{customer.pk}/"
    assert sorted(customer.wechat_identities.values_list("issuer", "value")) == [
        ("", "UNION-9"),
        (CORP, "wmSB1"),
        (CORP, "wmSB2"),
        (f"{CORP}/suite1", "wmTP1"),
    ]


def test_admins_link_users_to_wecom_members_on_a_page(client, org, fake):
    from auditlog.models import LogEntry

    client.force_login(org.admin)
    page = client.get("/field/wecom/accounts/?q=rep").content.decode()
    assert "rep1" in page and "manager1" not in page
    response = client.post("/field/wecom/accounts/", {"user": org.rep1.pk, "userid": "rep1_wx"}, follow=True)
    assert WeComAccount.objects.get(user=org.rep1).userid == "rep1_wx"
    assert 'value="rep1_wx"' in response.content.decode()
    assert LogEntry.objects.get_for_object(WeComAccount.objects.get()).exists()
    response = client.post("/field/wecom/accounts/", {"user": org.rep2.pk, "userid": "rep1_wx"}, follow=True)
    assert "已关联到" in response.content.decode() and not WeComAccount.objects.filter(user=org.rep2).exists()
    client.post("/field/wecom/accounts/", {"user": org.rep1.pk, "userid": ""})
    assert WeComAccount.objects.count() == 0
