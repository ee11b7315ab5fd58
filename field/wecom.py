"""WeChat Work (企业微信): the one client every WeCom call goes through, and the callback crypto.

Settings (all empty by default; nothing WeCom shows or runs until ``WECOM_CORP_ID`` is set):
``WECOM_CORP_ID``, ``WECOM_AGENT_ID``, ``WECOM_SECRET`` (the self-built app's secret),
``WECOM_API_BASE`` (``https://qyapi.weixin.qq.com/cgi-bin/``), ``WECOM_OAUTH_URL`` (WeCom's
authorize page), ``WECOM_CALLBACK_TOKEN`` and ``WECOM_CALLBACK_AES_KEY`` (the customer-contact
callback's Token and EncodingAESKey), ``WECOM_JSSDK_URL`` (the JS-SDK file the chat sidebar loads;
empty: the sidebar works by its search only).

Every request goes through ``crm.outbound`` (its host list must hold the API host). The access token
is shared through the cache by every process until shortly before WeCom's expiry.
"""

import base64
import hashlib
import hmac
import os
import struct
from urllib.parse import urlencode

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from defusedxml import ElementTree
from django.conf import settings
from django.core.cache import cache

from crm import outbound

TOKEN_CACHE_KEY = "wecom:access-token:{corp}"
BLOCK = 32  # WeCom pads to 32 bytes (PKCS#7 with a 32-byte block)


class WeComError(Exception):
    """WeCom answered with an error code, or could not be reached."""


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

    def __init__(self, *, base=None, corp_id=None, secret=None):
        self.base = (base or setting("WECOM_API_BASE", "https://qyapi.weixin.qq.com/cgi-bin/")).rstrip("/") + "/"
        self.corp_id = corp_id or setting("WECOM_CORP_ID")
        self.secret = secret or setting("WECOM_SECRET")

    def _get(self, path, **params):
        try:
            answer = outbound.get_json(self.base + path + "?" + urlencode(params))
        except (outbound.OutboundError, outbound.OutboundRefused) as exc:
            raise WeComError(str(exc)) from exc
        if answer.get("errcode", 0) != 0:
            raise WeComError(f"{path}: {answer.get('errcode')} {answer.get('errmsg', '')}".strip())
        return answer

    def access_token(self, *, refresh=False):
        key = TOKEN_CACHE_KEY.format(corp=self.corp_id)
        token = None if refresh else cache.get(key)
        if not token:
            answer = self._get("gettoken", corpid=self.corp_id, corpsecret=self.secret)
            token = answer["access_token"]
            cache.set(key, token, max(60, int(answer.get("expires_in", 7200)) - 300))
        return token

    def _api(self, path, **params):
        try:
            return self._get(path, access_token=self.access_token(), **params)
        except WeComError as exc:
            if "40014" in str(exc) or "42001" in str(exc):  # invalid or expired token: once more
                return self._get(path, access_token=self.access_token(refresh=True), **params)
            raise

    def userid_for_code(self, code):
        """auth/getuserinfo: the WeCom userid of an OAuth code ("" for a non-member)."""
        answer = self._api("auth/getuserinfo", code=code)
        return answer.get("userid") or answer.get("UserId") or ""

    def external_contact(self, external_userid):
        """externalcontact/get: the contact and the members who follow it (with their remarks)."""
        return self._api("externalcontact/get", external_userid=external_userid)


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
