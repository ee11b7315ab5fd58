"""WeChat Work (企业微信): the one client every WeCom call goes through, and the callback crypto.

Settings (all empty by default; nothing WeCom shows or runs until ``WECOM_CORP_ID`` is set):
``WECOM_CORP_ID``, ``WECOM_AGENT_ID``, ``WECOM_SECRET`` (the self-built app's secret),
``WECOM_API_BASE`` (``https://qyapi.weixin.qq.com/cgi-bin/``), ``WECOM_OAUTH_URL`` (WeCom's
authorize page), ``WECOM_CALLBACK_TOKEN`` and ``WECOM_CALLBACK_AES_KEY`` (the customer-contact
callback's Token and EncodingAESKey), ``WECOM_JSSDK_URL`` (the JS-SDK file the chat sidebar loads;
empty: the sidebar works by its search only), ``WECOM_RATE_PER_MINUTE`` (API calls per minute for
the corp, all processes together).

Every request goes through ``crm.outbound`` (its host list must hold the API host). The access token
and the JS-SDK tickets are shared through the cache by every process until shortly before WeCom's
expiry; when one is missing, one caller fetches it under a cache lock while the others wait for it
(WeCom limits gettoken and the ticket calls per corp and app). Every API call counts against the
corp's per-minute budget in the cache; past it, ``RateLimited`` is raised (tasks retry later).
"""

import base64
import hashlib
import hmac
import os
import struct
import time
from urllib.parse import urlencode

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from defusedxml import ElementTree
from django.conf import settings
from django.core.cache import cache

from crm import outbound

TOKEN_CACHE_KEY = "wecom:access-token:{corp}"
TICKET_CACHE_KEY = "wecom:ticket:{kind}:{corp}:{agent}"
RATE_CACHE_KEY = "wecom:rate:{corp}:{minute}"
LOCK_WAIT_SECONDS = 5
BLOCK = 32  # WeCom pads to 32 bytes (PKCS#7 with a 32-byte block)


class WeComError(Exception):
    """WeCom answered with an error code, or could not be reached."""


class RateLimited(WeComError):
    """The corp's per-minute budget of API calls is spent; try again in the next minute."""


class SignatureError(Exception):
    """A callback whose signature or content does not check out."""


def setting(name, default=""):
    return getattr(settings, name, default) or default


def configured():
    return bool(setting("WECOM_CORP_ID") and setting("WECOM_SECRET"))


def oauth_url(*, redirect_uri, state):
    """WeCom's authorize page for a silent sign-in (snsapi_base) inside WeCom."""
    query = urlencode(
        {
            "appid": setting("WECOM_CORP_ID"),
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": "snsapi_base",
            "state": state,
            "agentid": setting("WECOM_AGENT_ID"),
        }
    )
    return (
        f"{setting('WECOM_OAUTH_URL', 'https://open.weixin.qq.com/connect/oauth2/authorize')}?{query}#wechat_redirect"
    )


class Client:
    """The WeCom server API (the documented endpoints the product uses)."""

    def __init__(self, *, base=None, corp_id=None, secret=None, agent_id=None):
        self.base = (base or setting("WECOM_API_BASE", "https://qyapi.weixin.qq.com/cgi-bin/")).rstrip("/") + "/"
        self.corp_id = corp_id or setting("WECOM_CORP_ID")
        self.secret = secret or setting("WECOM_SECRET")
        self.agent_id = agent_id or setting("WECOM_AGENT_ID")

    def _spend(self):
        """Count one call against the corp's budget for this minute (shared by every process)."""
        limit = int(setting("WECOM_RATE_PER_MINUTE", 600))
        key = RATE_CACHE_KEY.format(corp=self.corp_id, minute=int(time.time() // 60))
        cache.add(key, 0, 120)
        try:
            used = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, 120)
            used = 1
        if used > limit:
            raise RateLimited(f"more than {limit} WeCom calls this minute")

    def _check(self, path, answer):
        if answer.get("errcode", 0) != 0:
            if answer.get("errcode") == 45009:  # WeCom's own frequency limit
                raise RateLimited(f"{path}: 45009 {answer.get('errmsg', '')}".strip())
            raise WeComError(f"{path}: {answer.get('errcode')} {answer.get('errmsg', '')}".strip())
        return answer

    def _get(self, path, **params):
        self._spend()
        try:
            answer = outbound.get_json(self.base + path + "?" + urlencode(params))
        except (outbound.OutboundError, outbound.OutboundRefused) as exc:
            raise WeComError(str(exc)) from exc
        return self._check(path, answer)

    def _post(self, path, payload, **params):
        self._spend()
        try:
            answer = outbound.post_json(self.base + path + "?" + urlencode(params), payload)
        except (outbound.OutboundError, outbound.OutboundRefused) as exc:
            raise WeComError(str(exc)) from exc
        return self._check(path, answer)

    def _shared(self, key, fetch, *, refresh=False):
        """A value every process shares through the cache (a token, a ticket): when it is missing,
        one caller fetches it under a lock and the others wait for it."""
        if not refresh:
            value = cache.get(key)
            if value:
                return value
        lock = key + ":lock"
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while not cache.add(lock, 1, LOCK_WAIT_SECONDS * 2):
            time.sleep(0.05)
            value = cache.get(key)
            if value and not refresh:
                return value
            if time.monotonic() > deadline:
                raise WeComError("waited too long for another process to fetch " + key)
        try:
            value = None if refresh else cache.get(key)  # fetched while we waited for the lock
            if not value:
                value, expires_in = fetch()
                cache.set(key, value, max(60, int(expires_in) - 300))
            return value
        finally:
            cache.delete(lock)

    def access_token(self, *, refresh=False):
        def fetch():
            answer = self._get("gettoken", corpid=self.corp_id, corpsecret=self.secret)
            return answer["access_token"], answer.get("expires_in", 7200)

        return self._shared(TOKEN_CACHE_KEY.format(corp=self.corp_id), fetch, refresh=refresh)

    def _api(self, path, **params):
        try:
            return self._get(path, access_token=self.access_token(), **params)
        except WeComError as exc:
            if "40014" in str(exc) or "42001" in str(exc):  # invalid or expired token: once more
                return self._get(path, access_token=self.access_token(refresh=True), **params)
            raise

    def _api_post(self, path, payload):
        try:
            return self._post(path, payload, access_token=self.access_token())
        except WeComError as exc:
            if "40014" in str(exc) or "42001" in str(exc):
                return self._post(path, payload, access_token=self.access_token(refresh=True))
            raise

    def userid_for_code(self, code):
        """auth/getuserinfo: the WeCom userid of an OAuth code ("" for a non-member)."""
        answer = self._api("auth/getuserinfo", code=code)
        return answer.get("userid") or answer.get("UserId") or ""

    def external_contact(self, external_userid):
        """externalcontact/get: the contact and the members who follow it (with their remarks)."""
        return self._api("externalcontact/get", external_userid=external_userid)

    def contacts_by_user(self, userids, *, limit=100):
        """externalcontact/batch/get_by_user, every page (``next_cursor``): the external contacts the
        members follow, one entry per member and contact (``external_contact`` and ``follow_info``)."""
        cursor, found = "", []
        while True:
            answer = self._api_post(
                "externalcontact/batch/get_by_user", {"userid_list": list(userids), "cursor": cursor, "limit": limit}
            )
            found += answer.get("external_contact_list") or []
            cursor = answer.get("next_cursor") or ""
            if not cursor:
                return found

    def jsapi_ticket(self):
        """The corp's jsapi_ticket (get_jsapi_ticket), for ``wx.config``."""

        def fetch():
            answer = self._api("get_jsapi_ticket")
            return answer["ticket"], answer.get("expires_in", 7200)

        return self._shared(TICKET_CACHE_KEY.format(kind="corp", corp=self.corp_id, agent=""), fetch)

    def agent_ticket(self):
        """The app's ticket (ticket/get?type=agent_config), for ``wx.agentConfig``."""

        def fetch():
            answer = self._api("ticket/get", type="agent_config")
            return answer["ticket"], answer.get("expires_in", 7200)

        return self._shared(TICKET_CACHE_KEY.format(kind="agent", corp=self.corp_id, agent=self.agent_id), fetch)


def jssdk_signature(ticket, *, noncestr, timestamp, url):
    """The JS-SDK signature as WeCom documents it: SHA1 of
    ``jsapi_ticket=…&noncestr=…&timestamp=…&url=…`` (the page URL without its #fragment)."""
    text = f"jsapi_ticket={ticket}&noncestr={noncestr}&timestamp={timestamp}&url={url.split('#')[0]}"
    return hashlib.sha1(text.encode()).hexdigest()


def jssdk_config(url, *, client=None, now=None):
    """What the sidebar page hands to ``wx.config`` and ``wx.agentConfig`` for ``url``."""
    client = client or Client()
    timestamp, noncestr = str(int(now or time.time())), base64.urlsafe_b64encode(os.urandom(12)).decode()
    return {
        "corpid": client.corp_id,
        "agentid": client.agent_id,
        "timestamp": timestamp,
        "nonceStr": noncestr,
        "signature": jssdk_signature(client.jsapi_ticket(), noncestr=noncestr, timestamp=timestamp, url=url),
        "agentSignature": jssdk_signature(client.agent_ticket(), noncestr=noncestr, timestamp=timestamp, url=url),
    }


# -- callbacks ------------------------------------------------------------------------------------


def signature(token, timestamp, nonce, encrypted):
    """WeCom's msg_signature: SHA1 over the sorted token, timestamp, nonce and encrypted text."""
    return hashlib.sha1("".join(sorted([token, str(timestamp), str(nonce), encrypted])).encode()).hexdigest()


def _key(aes_key):
    key = base64.b64decode(aes_key + "=")
    if len(key) != 32:
        raise SignatureError("the EncodingAESKey must be 43 characters")
    return key


def encrypt(plain, *, aes_key, receive_id):
    """Encrypt as WeCom does (used by tests and stubs): random 16 bytes, length, message, corp id."""
    key = _key(aes_key)
    body = plain.encode()
    data = os.urandom(16) + struct.pack(">I", len(body)) + body + receive_id.encode()
    pad = BLOCK - len(data) % BLOCK
    data += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(data) + encryptor.finalize()).decode()


def decrypt(encrypted, *, aes_key, receive_id):
    key = _key(aes_key)
    try:
        raw = base64.b64decode(encrypted, validate=True)
        decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
        data = decryptor.update(raw) + decryptor.finalize()
    except ValueError as exc:
        raise SignatureError("the message cannot be decrypted") from exc
    pad = data[-1] if data else 0
    if not 1 <= pad <= BLOCK:
        raise SignatureError("bad padding")
    data = data[:-pad]
    (length,) = struct.unpack(">I", data[16:20])
    message, rest = data[20 : 20 + length], data[20 + length :]
    if not hmac.compare_digest(rest, receive_id.encode()):
        raise SignatureError("the message is for another corp")
    return message.decode()


def verify_and_decrypt(*, msg_signature, timestamp, nonce, encrypted):
    """Check the signature of a callback and decrypt it; raises ``SignatureError``."""
    token, aes_key = setting("WECOM_CALLBACK_TOKEN"), setting("WECOM_CALLBACK_AES_KEY")
    if not (token and aes_key and encrypted):
        raise SignatureError("callbacks are not configured")
    expected = signature(token, timestamp, nonce, encrypted)
    if not hmac.compare_digest(expected, msg_signature or ""):
        raise SignatureError("bad signature")
    return decrypt(encrypted, aes_key=aes_key, receive_id=setting("WECOM_CORP_ID"))


def parse_xml(text):
    """A flat WeCom XML message as a dict of its child elements (entities and DTDs refused)."""
    try:
        root = ElementTree.fromstring(text)
    except Exception as exc:  # defusedxml raises its own errors for entities and DTDs
        raise SignatureError("the message is not valid XML") from exc
    return {child.tag: (child.text or "").strip() for child in root}
