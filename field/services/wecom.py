"""WeCom sign-in, WeChat identities of customers and the external-contact callbacks."""

import datetime
import hashlib
import re
from xml.sax.saxutils import escape

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Customer
from customers.services.records import create_customer
from sales.models import FollowUp
from sales.services.followups import record_followup

from .. import wecom
from ..models import WeChatIdentity, WeComAccount, WeComEvent, WeComFollow

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


def _corp_issuers_q():
    """The issuers of this corp's external ids: the self-built app's (the corp id) and a
    third-party app's (``corp/suite``), which WeCom gives a different id for the same person."""
    corp = wecom.setting("WECOM_CORP_ID")
    return Q(issuer=corp) | Q(issuer__startswith=f"{corp}/")


def identity_for_external(external_userid):
    return (
        WeChatIdentity.objects.select_related("customer")
        .filter(_corp_issuers_q(), kind=WeChatIdentity.Kind.WECOM_EXTERNAL, value=external_userid)
        .first()
    )


def customer_for_unionid(unionid):
    if not unionid:
        return None
    identity = (
        WeChatIdentity.objects.select_related("customer")
        .filter(kind=WeChatIdentity.Kind.UNIONID, value=unionid)
        .first()
    )
    return identity.customer if identity else None


def bind_by_unionid(*, external_userid, actor=None, contact=None):
    """Bind an unbound external id to the customer its unionid is bound to (the same person met
    through another app, another corp or the official account); the customer, or None."""
    if contact is None:
        try:
            contact = wecom.Client().external_contact(external_userid)
        except wecom.WeComError:
            return None
    customer = customer_for_unionid((contact.get("external_contact") or {}).get("unionid"))
    if customer is not None:
        try:
            bind_external(customer=customer, actor=actor, external_userid=external_userid)
        except ValidationError:
            return None
    return customer


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


#: a contact gone from WeCom's list at the nightly check (which side deleted is not known)
REMOVED = "reconcile_removed"


def _handle(message):
    change, userid = message.get("ChangeType", ""), message.get("UserID", "")
    external = message.get("ExternalUserID", "")
    if message.get("Event") != "change_external_contact" or not external:
        return "ignored"
    user = user_for_userid(userid)
    identity = identity_for_external(external)
    found = _(" (found by the nightly check)") if message.get("Source") == "reconcile" else ""
    if change in ("add_external_contact", "add_half_external_contact"):
        _follow(userid, external, active=True)
        customer = identity.customer if identity else None
        if customer is None:
            contact = wecom.Client().external_contact(external)
            customer = bind_by_unionid(external_userid=external, actor=user, contact=contact)
        if customer is None:
            mobile = _remark_mobile(contact, userid)
            matches = list(Customer.objects.filter(mobile=mobile)[:2]) if mobile else []
            if len(matches) != 1:
                return "added; no customer with the remark's mobile" if mobile else "added; not bound"
            customer = matches[0]
            bind_external(customer=customer, actor=user, external_userid=external)
            unionid = (contact.get("external_contact") or {}).get("unionid")
            if unionid and not WeChatIdentity.objects.filter(kind=WeChatIdentity.Kind.UNIONID, value=unionid).exists():
                bind(customer=customer, actor=user, kind=WeChatIdentity.Kind.UNIONID, value=unionid)
        _touch(
            customer,
            user,
            _("Added on WeCom (by %(member)s).") % {"member": userid} + found,
            FollowUp.Direction.INBOUND,
        )
        return f"added; customer {customer.pk}"
    if change in ("del_external_contact", "del_follow_user", REMOVED):
        _follow(userid, external, active=False)
        if identity is None:
            return "deleted; not bound"
        text = {
            "del_external_contact": _("%(member)s deleted the customer on WeCom."),
            "del_follow_user": _("The customer deleted %(member)s on WeCom."),
        }.get(change, _("%(member)s and the customer are no longer connected on WeCom."))
        _touch(
            identity.customer,
            user,
            text % {"member": userid} + found,
            FollowUp.Direction.OUTBOUND if change == "del_external_contact" else FollowUp.Direction.INBOUND,
        )
        return f"deleted; customer {identity.customer_id}"
    return "ignored"


def _follow(userid, external, *, active):
    if userid and external:
        WeComFollow.objects.update_or_create(
            corp_id=wecom.setting("WECOM_CORP_ID"),
            userid=userid,
            external_userid=external,
            defaults={"is_active": active, "updated_at": timezone.now()},
        )


def _synthetic(change, userid, external, day):
    """The XML of an event WeCom never sent (a change made through the API sends none), stamped
    with the day so a second run of the same night stores nothing new."""
    stamp = int(datetime.datetime.combine(day, datetime.time()).timestamp())
    fields = {
        "ToUserName": wecom.setting("WECOM_CORP_ID"),
        "CreateTime": str(stamp),
        "MsgType": "event",
        "Event": "change_external_contact",
        "ChangeType": change,
        "UserID": userid,
        "ExternalUserID": external,
        "Source": "reconcile",
    }
    return {**fields}, "<xml>" + "".join(f"<{k}>{escape(v)}</{k}>" for k, v in fields.items()) + "</xml>"


RECONCILE_BATCH = 100  # userids per get_by_user call (WeCom takes at most 100)


def reconcile(*, day=None):
    """The nightly reconciliation: every linked member's external contacts from
    ``externalcontact/batch/get_by_user`` (all pages) against the follows the callbacks recorded.
    A contact WeCom lists and we never heard of is processed as an add, one we hold that WeCom no
    longer lists as a removal — each through a stored event, so once. A member seen for the first
    time is only recorded (no flood of touches on the first night). Returns the counts."""
    corp = wecom.setting("WECOM_CORP_ID")
    day = day or timezone.localdate()
    userids = sorted(WeComAccount.objects.filter(corp_id=corp).values_list("userid", flat=True))
    client = wecom.Client()
    listed = set()
    for start in range(0, len(userids), RECONCILE_BATCH):
        for entry in client.contacts_by_user(userids[start : start + RECONCILE_BATCH]):
            external = (entry.get("external_contact") or {}).get("external_userid")
            member = (entry.get("follow_info") or {}).get("userid")
            if external and member:
                listed.add((member, external))
    held = set(WeComFollow.objects.filter(corp_id=corp, is_active=True).values_list("userid", "external_userid"))
    known_members = set(WeComFollow.objects.filter(corp_id=corp).values_list("userid", flat=True).distinct())
    counts = {"added": 0, "removed": 0, "recorded": 0}
    for member, external in sorted(listed - held):
        if member not in known_members:
            _follow(member, external, active=True)
            counts["recorded"] += 1
            continue
        message, xml = _synthetic("add_external_contact", member, external, day)
        event, created = store_event(message, xml)
        if created:
            process_event(event.pk)
            counts["added"] += 1
    for member, external in sorted(held - listed):
        message, xml = _synthetic(REMOVED, member, external, day)
        event, created = store_event(message, xml)
        if created:
            process_event(event.pk)
            counts["removed"] += 1
    return counts


def link_account(*, user, userid):
    """Link ``user`` to the WeCom member ``userid`` (empty: unlink). A userid linked to someone
    else is refused naming who; returns the account or None."""
    corp = wecom.setting("WECOM_CORP_ID")
    userid = (userid or "").strip()
    if not userid:
        for account in WeComAccount.objects.filter(user=user):
            account.delete()  # one by one: each removal is audited
        return None
    if not corp:
        raise ValidationError({"userid": _("Set WECOM_CORP_ID before linking WeCom members.")})
    other = WeComAccount.objects.filter(corp_id=corp, userid=userid).exclude(user=user).select_related("user").first()
    if other is not None:
        raise ValidationError(
            {"userid": _("%(userid)s is linked to %(user)s already.") % {"userid": userid, "user": other.user}}
        )
    try:
        with transaction.atomic():
            account, _created = WeComAccount.objects.update_or_create(
                user=user, defaults={"corp_id": corp, "userid": userid}
            )
    except IntegrityError as exc:  # the same userid linked by someone else at the same moment
        raise ValidationError(
            {"userid": _("%(userid)s is linked to another user already.") % {"userid": userid}}
        ) from exc
    return account


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
