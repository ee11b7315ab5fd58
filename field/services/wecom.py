"""WeCom sign-in, WeChat identities of customers and the external-contact callbacks."""

import hashlib
import re

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Customer
from customers.services.records import create_customer
from sales.models import FollowUp
from sales.services.followups import record_followup

from .. import wecom
from ..models import WeChatIdentity, WeComAccount, WeComEvent

MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


def user_for_userid(userid):
    """Our active user stored for a WeCom userid, or None."""
    if not userid:
        return None
    account = (
        WeComAccount.objects.select_related("user")
        .filter(corp_id=wecom.setting("WECOM_CORP_ID"), userid=userid)
        .first()
    )
    if account is None or not account.user.is_active:
        return None
    return account.user


def identity_for_external(external_userid):
    return (
        WeChatIdentity.objects.select_related("customer")
        .filter(kind=WeChatIdentity.Kind.WECOM_EXTERNAL, issuer=wecom.setting("WECOM_CORP_ID"), value=external_userid)
        .first()
    )


def bind(*, customer, actor, kind, value, issuer=""):
    """Bind a WeChat identity to ``customer``; one already bound (here or elsewhere) is refused."""
    value = (value or "").strip()
    if not value:
        raise ValidationError({"external_userid": _("The WeChat id is missing.")})
    try:
        with transaction.atomic():
            return WeChatIdentity.objects.create(
                customer=customer,
                kind=kind,
                issuer=issuer,
                value=value,
                bound_by=actor if actor and actor.is_authenticated else None,
            )
    except IntegrityError as exc:
        raise ValidationError({"external_userid": _("This WeChat contact is already bound to a customer.")}) from exc


def bind_external(*, customer, actor, external_userid):
    return bind(
        customer=customer,
        actor=actor,
        kind=WeChatIdentity.Kind.WECOM_EXTERNAL,
        value=external_userid,
        issuer=wecom.setting("WECOM_CORP_ID"),
    )


@transaction.atomic
def create_and_bind(*, actor, external_userid, name, mobile=""):
    customer = create_customer(actor=actor, name=name, mobile=mobile)
    bind_external(customer=customer, actor=actor, external_userid=external_userid)
    return customer


def event_key(message):
    """One key per WeCom event, the same for every retry of it."""
    parts = [
        message.get(name, "")
        for name in ("ToUserName", "CreateTime", "Event", "ChangeType", "UserID", "ExternalUserID")
    ]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def store_event(message, payload):
    """Store a decrypted callback once; returns (event, created)."""
    return WeComEvent.objects.get_or_create(
        key=event_key(message), defaults={"change_type": message.get("ChangeType", "")[:40], "payload": payload}
    )


def _remark_mobile(contact, userid):
    for follow in contact.get("follow_user") or []:
        if follow.get("userid") != userid:
            continue
        for mobile in follow.get("remark_mobiles") or []:
            if MOBILE.fullmatch(str(mobile)):
                return str(mobile)
        found = MOBILE.search(follow.get("remark") or "") or MOBILE.search(follow.get("description") or "")
        if found:
            return found.group(0)
    return ""


def _touch(customer, user, content, direction):
    actor = user or customer.owner
    if actor is None:
        return None
    return record_followup(
        actor=actor, customer=customer, content=content, channel=FollowUp.Channel.WECHAT, direction=direction
    )


def process_event(event_id):
    """Act on a stored callback once: log the touch, bind by the mobile in the member's remark."""
    with transaction.atomic():
        event = WeComEvent.objects.select_for_update().filter(pk=event_id, processed_at__isnull=True).first()
        if event is None:
            return "done already"
        message = wecom.parse_xml(event.payload)
        result = _handle(message)
        event.processed_at, event.result = timezone.now(), result[:200]
        event.save(update_fields=["processed_at", "result"])
        return result


def _handle(message):
    change, userid = message.get("ChangeType", ""), message.get("UserID", "")
    external = message.get("ExternalUserID", "")
    if message.get("Event") != "change_external_contact" or not external:
        return "ignored"
    user = user_for_userid(userid)
    identity = identity_for_external(external)
    if change == "add_external_contact":
        customer = identity.customer if identity else None
        if customer is None:
            contact = wecom.Client().external_contact(external)
            mobile = _remark_mobile(contact, userid)
            matches = list(Customer.objects.filter(mobile=mobile)[:2]) if mobile else []
            if len(matches) != 1:
                return "added; no customer with the remark's mobile" if mobile else "added; not bound"
            customer = matches[0]
            bind_external(customer=customer, actor=user, external_userid=external)
            unionid = (contact.get("external_contact") or {}).get("unionid")
            if unionid and not WeChatIdentity.objects.filter(kind=WeChatIdentity.Kind.UNIONID, value=unionid).exists():
                bind(customer=customer, actor=user, kind=WeChatIdentity.Kind.UNIONID, value=unionid)
        _touch(customer, user, _("Added on WeCom (by %(member)s).") % {"member": userid}, FollowUp.Direction.INBOUND)
        return f"added; customer {customer.pk}"
    if change in ("del_external_contact", "del_follow_user"):
        if identity is None:
            return "deleted; not bound"
        text = (
            _("%(member)s deleted the customer on WeCom.")
            if change == "del_external_contact"
            else _("The customer deleted %(member)s on WeCom.")
        )
        _touch(
            identity.customer,
            user,
            text % {"member": userid},
            FollowUp.Direction.OUTBOUND if change == "del_external_contact" else FollowUp.Direction.INBOUND,
        )
        return f"deleted; customer {identity.customer_id}"
    return "ignored"


def sign_in_user(code):
    """The user an OAuth code signs in as; raises ValidationError naming what is wrong."""
    if not code:
        raise ValidationError({"code": _("WeCom sent no sign-in code.")})
    try:
        userid = wecom.Client().userid_for_code(code)
    except wecom.WeComError as exc:
        raise ValidationError({"code": _("WeCom could not confirm who you are; try again.")}) from exc
    user = user_for_userid(userid)
    if user is None:
        raise ValidationError(
            {
                "userid": _(
                    "The WeCom member %(userid)s is not linked to an active user here. "
                    "Ask an administrator to link it, or sign in with your password."
                )
                % {"userid": userid or "-"}
            }
        )
    return user
