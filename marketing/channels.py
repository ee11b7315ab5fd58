"""Channel backends: how a marketing message leaves the system.

Each channel maps to a backend class in ``settings.MARKETING_CHANNEL_BACKENDS`` (a dotted path), so a
real SMS or WeChat official-account provider plugs in by configuration::

    MARKETING_CHANNEL_BACKENDS = {"sms": "myproject.sms.AliyunBackend", ...}

A backend has one method, ``send(outgoing)``; it raises :class:`ChannelError` when the provider
refuses. The logging backend (the default for SMS and the official account) writes each message to
the log and keeps it in ``LoggingBackend.outbox`` for development and tests.

A backend that calls its provider over HTTP does so through ``crm.outbound.post_json`` (allowed
hosts, https, public addresses only, no redirects, short timeouts); the provider's host goes into
``OUTBOUND_ALLOWED_HOSTS``.
"""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import send_mail
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from crm.notifications import notify

log = logging.getLogger("marketing.channels")

DEFAULT_BACKENDS = {
    "sms": "marketing.channels.LoggingBackend",
    "wechat_oa": "marketing.channels.LoggingBackend",
    "email": "marketing.channels.EmailBackend",
    "wecom": "marketing.channels.WeComRepBackend",
}


class ChannelError(Exception):
    """The provider refused or could not be reached; the message is marked failed with this text."""


@dataclass
class Outgoing:
    channel: str
    to: str  # mobile, email address, WeChat id; for WeChat Work the rep's user id
    subject: str
    text: str
    link: str
    person_name: str
    message_id: int
    rep: object = None  # the owning rep (a User) when known


class LoggingBackend:
    """Development backend: log the message and keep it in memory."""

    outbox = []

    def send(self, outgoing):
        log.info("[%s] to %s: %s %s", outgoing.channel, outgoing.to, outgoing.text, outgoing.link)
        type(self).outbox.append(outgoing)


class EmailBackend:
    def send(self, outgoing):
        try:
            send_mail(
                outgoing.subject or outgoing.text[:60],
                f"{outgoing.text}\n\n{outgoing.link}",
                settings.DEFAULT_FROM_EMAIL,
                [outgoing.to],
                fail_silently=False,
            )
        except Exception as exc:  # SMTP errors of every kind end as a failed message
            raise ChannelError(str(exc)[:300]) from exc


class WeComRepBackend:
    """WeChat Work private-domain messaging goes through the customer's rep: the rep gets the text and
    the tracked link (in the CRM and on their WeChat Work webhook) and forwards it to the customer."""

    def send(self, outgoing):
        if outgoing.rep is None:
            raise ChannelError(_("The customer has no owner to forward the message."))
        notify(
            recipient=outgoing.rep,
            kind="marketing",
            title=_("Please forward to %(name)s") % {"name": outgoing.person_name},
            body=f"{outgoing.text}\n{outgoing.link}",
        )


def backend_for(channel):
    paths = {**DEFAULT_BACKENDS, **getattr(settings, "MARKETING_CHANNEL_BACKENDS", {})}
    return import_string(paths[channel])()
