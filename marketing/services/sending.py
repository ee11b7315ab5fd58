"""Sending campaign touches: who gets them, who is held back and why, one message per person.

The recipient list is written with one ``INSERT … SELECT`` from the audience query, so a push to
50,000 people is built in the database, and the unique (touch, person) constraint makes a second
run add nobody twice. Messages then go out in chunks claimed with ``SKIP LOCKED``.
"""

import datetime
import logging
import uuid

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import (
    Case,
    CharField,
    Count,
    DateTimeField,
    Exists,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from customers.models import Customer
from sales.models import FollowUp, Lead, SalesSettings

from .. import tasks, tracking
from ..channels import ChannelError, Outgoing, backend_for
from ..models import Campaign, Channel, MarketingSettings, Message, OptOut, Registration, Segment, Touch
from . import segments
from .stats import refresh

log = logging.getLogger(__name__)
CHUNK = 500

HOLD_REASONS = {
    "no_address": gettext_lazy("no address for the channel"),
    "opted_out": gettext_lazy("opted out"),
    "resting": gettext_lazy("resting"),
    "capped": gettext_lazy("contact frequency cap reached"),
}
ADDRESS = {Channel.SMS: "mobile", Channel.EMAIL: "email", Channel.WECHAT_OA: "wechat_id", Channel.WECOM: "owner"}


def message_link(message_id):
    return reverse("track:open", args=[tracking.encode("m", message_id)])


def stop_link(message_id):
    return reverse("track:stop", args=[tracking.encode("m", message_id)])


# -- audience and protection ---------------------------------------------------------------------


def subject_of(touch):
    segment = touch.campaign.segment
    if touch.audience == Touch.Audience.SEGMENT and segment is not None:
        return segment.subject
    return Segment.Subject.CUSTOMERS


def audience(touch):
    """Everyone the touch is meant for, before protection rules."""
    campaign = touch.campaign
    if touch.audience == Touch.Audience.SEGMENT:
        if campaign.segment is None:
            raise ValidationError({"audience": _("The campaign has no segment; choose one first.")})
        return segments.segment_members(campaign.segment, campaign.owner)
    if touch.event_id is None:
        raise ValidationError({"event": _("Choose the event whose registrations get this message.")})
    registrations = Registration.objects.filter(event_id=touch.event_id, customer__isnull=False)
    if touch.audience == Touch.Audience.REGISTERED:
        registrations = registrations.exclude(status=Registration.Status.CANCELLED)
    elif touch.audience == Touch.Audience.ATTENDED:
        registrations = registrations.filter(status=Registration.Status.ATTENDED)
    else:
        registrations = registrations.filter(status=Registration.Status.REGISTERED)
    return Customer.objects.filter(pk__in=registrations.values("customer_id"))


def _recent_pushes(person, since):
    counted = (
        Message.objects.filter(**{person: OuterRef("pk")}, status=Message.Status.SENT, sent_at__gte=since)
        .values(person)
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def _rep_touches(since):
    since_value = Value(since, output_field=DateTimeField())
    counted = (
        FollowUp.objects.filter(
            customer=OuterRef("pk"),
            direction=FollowUp.Direction.OUTBOUND,
            at__gt=Greatest(since_value, Coalesce(OuterRef("last_inbound_at"), since_value)),
        )
        .values("customer")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def protection_rules(subject, channel, *, now=None):
    """(reason, Q that holds a person back) in the order they are checked. Shared by campaign
    pushes and nurture plans, so both honour the same opt-outs, resting state and caps."""
    now = now or timezone.now()
    mk = MarketingSettings.current()
    address = ADDRESS[channel]
    rules = [("no_address", Q(owner__isnull=True) if address == "owner" else Q(**{address: ""}))]
    if subject == Segment.Subject.CUSTOMERS:
        opted = OptOut.objects.filter(customer=OuterRef("pk"), channel__in=[channel, OptOut.ALL])
        rules.append(("opted_out", Q(Exists(opted))))
        rules.append(("resting", Q(resting_since__isnull=False)))
        sales = SalesSettings.current()
        rules.append(("capped", Q(_recent_pushes__gte=mk.push_cap) | Q(_rep_touches__gte=sales.touch_cap)))
    else:
        opted = OptOut.objects.filter(customer=OuterRef("existing_customer"), channel__in=[channel, OptOut.ALL])
        rules.append(("opted_out", Q(Exists(opted))))
        rules.append(("capped", Q(_recent_pushes__gte=mk.push_cap)))
    return rules


def _annotated(qs, subject, *, now):
    mk = MarketingSettings.current()
    person = "lead" if subject == Segment.Subject.LEADS else "customer"
    qs = qs.annotate(_recent_pushes=_recent_pushes(person, now - datetime.timedelta(days=mk.push_window_days)))
    if subject == Segment.Subject.CUSTOMERS:
        sales = SalesSettings.current()
        qs = qs.annotate(_rep_touches=_rep_touches(now - datetime.timedelta(days=sales.touch_window_days)))
    return qs


def screen(qs, subject, channel, *, now=None, count_held=True):
    """Split an audience: (eligible queryset, {reason: how many held back})."""
    now = now or timezone.now()
    qs = _annotated(qs, subject, now=now)
    held = {}
    for reason, q in protection_rules(subject, channel, now=now):
        if count_held:
            held[reason] = qs.filter(q).count()
        qs = qs.exclude(q)
    return qs, held


def hold_reason(customer, channel, *, now=None):
    """Why this one customer may not get a push on ``channel`` now (a HOLD_REASONS key), or None."""
    qs = _annotated(Customer.objects.filter(pk=customer.pk), Segment.Subject.CUSTOMERS, now=now or timezone.now())
    for reason, q in protection_rules(Segment.Subject.CUSTOMERS, channel, now=now):
        if qs.filter(q).exists():
            return reason
    return None


def estimate(touch):
    """What pressing Send would do: recipients and held-back counts."""
    qs = audience(touch)
    eligible, held = screen(qs, subject_of(touch), touch.channel)
    return {"recipients": eligible.count(), "held": held}


PREVIEW_KEY = "marketing:send-preview:{token}"
PREVIEW_SECONDS = 3600
PREVIEW_SAMPLE = 200


class PreviewChanged(ValidationError):
    """The people a send would reach are not the people the sender confirmed in the preview."""

    def __init__(self, message, *, joined, dropped):
        super().__init__(message)
        self.joined, self.dropped = joined, dropped


def _person_model(subject):
    if subject == Segment.Subject.LEADS:
        return Lead
    return Customer


def preview(touch, *, now=None, sample=PREVIEW_SAMPLE):
    """Exactly whom pressing Send would reach and who is held back, each with the first reason
    that holds them (the same rules, in the same order, as ``screen``). The lists are kept for an
    hour under ``token``: sending with the token sends to exactly these people or explains what
    changed. Returns {"token", "recipients": [people], "recipient_count", "held": [(person,
    reason label)], "held_count", "held_counts": {reason: n}}; the people lists are the first
    ``sample`` of each (by name)."""
    now = now or timezone.now()
    subject = subject_of(touch)
    qs = _annotated(audience(touch), subject, now=now)
    reason = Case(
        *[When(q, then=Value(key)) for key, q in protection_rules(subject, touch.channel, now=now)],
        default=Value(""),
        output_field=CharField(),
    )
    rows = list(qs.order_by().annotate(_hold=reason).values_list("pk", "_hold"))
    recipients = sorted(pk for pk, why in rows if not why)
    held = {pk: why for pk, why in rows if why}
    token = uuid.uuid4().hex
    cache.set(
        PREVIEW_KEY.format(token=token), {"touch": touch.pk, "recipients": recipients, "held": held}, PREVIEW_SECONDS
    )
    model = _person_model(subject)
    shown = model.objects.select_related("owner").order_by("name", "pk")
    counts = dict.fromkeys(HOLD_REASONS, 0)
    for why in held.values():
        counts[why] += 1
    return {
        "token": token,
        "recipient_count": len(recipients),
        "held_count": len(held),
        "recipients": list(shown.filter(pk__in=recipients)[:sample]),
        "held": [(person, HOLD_REASONS[held[person.pk]]) for person in shown.filter(pk__in=list(held))[:sample]],
        "held_counts": {key: n for key, n in counts.items() if n},
    }


def _check_preview(touch, token, subject):
    """Raise PreviewChanged unless the touch's recipient list (just written) is the previewed one."""
    snapshot = cache.get(PREVIEW_KEY.format(token=token)) if token else None
    if not snapshot or snapshot.get("touch") != touch.pk:
        raise PreviewChanged(
            _("The preview is more than an hour old. Look at who gets it again, then send."), joined=[], dropped=[]
        )
    column = "lead_id" if subject == Segment.Subject.LEADS else "customer_id"
    now_ids = set(touch.messages.values_list(column, flat=True))
    previewed = set(snapshot["recipients"])
    if now_ids == previewed:
        return
    model = _person_model(subject)
    joined = list(model.objects.filter(pk__in=sorted(now_ids - previewed)[:20]).order_by("name"))
    dropped = list(model.objects.filter(pk__in=sorted(previewed - now_ids)[:20]).order_by("name"))
    raise PreviewChanged(
        _(
            "Nothing was sent: since the preview, %(dropped)d of the people shown can no longer get it and "
            "%(joined)d others now would. Check the new preview and send again."
        )
        % {"dropped": len(previewed - now_ids), "joined": len(now_ids - previewed)},
        joined=joined,
        dropped=dropped,
    )


# -- building the recipient list -------------------------------------------------------------------


def _insert_messages(touch, eligible, subject, now):
    person_column = "lead_id" if subject == Segment.Subject.LEADS else "customer_id"
    rows = (
        eligible.order_by()
        .annotate(
            _t=Value(touch.pk, output_field=IntegerField()),
            _c=Value(touch.campaign_id, output_field=IntegerField()),
            _ch=Value(touch.channel),
            _st=Value(Message.Status.QUEUED),
            _er=Value(""),
            _at=Value(now, output_field=DateTimeField()),
        )
        .values_list("_t", "_c", "pk", "_ch", "_st", "_er", "_at")
    )
    sql, params = rows.query.sql_with_params()
    table = Message._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (touch_id, campaign_id, {person_column}, channel, status, error, created_at) "
            f"SELECT * FROM ({sql}) AS src WHERE 1=1 ON CONFLICT DO NOTHING",
            params,
        )
        return cursor.rowcount


def start_send(*, actor, touch, now=None, preview_token=None):
    """Build the recipient list of a touch (once) and queue the delivery. Returns the touch.
    With ``preview_token`` (a send confirmed on the preview page) the list must be exactly the
    previewed one; otherwise nothing is sent and PreviewChanged says who changed."""
    now = now or timezone.now()
    campaign = touch.campaign
    if not campaign.can_send:
        raise ValidationError(_("Only an approved or running campaign sends messages."))
    with transaction.atomic():
        claimed = Touch.objects.filter(pk=touch.pk, status__in=[Touch.Status.DRAFT, Touch.Status.SCHEDULED]).update(
            status=Touch.Status.SENDING
        )
        if not claimed:
            raise ValidationError(_("This touch has already been sent."))
        subject = subject_of(touch)
        eligible, held = screen(audience(touch), subject, touch.channel, now=now)
        _insert_messages(touch, eligible, subject, now)
        if preview_token is not None:
            _check_preview(touch, preview_token, subject)  # rolls the whole send back when it differs
        recipients = touch.messages.count()
        Touch.objects.filter(pk=touch.pk).update(recipients=recipients, held_back=held, sent_at=now)
        if campaign.status == Campaign.Status.APPROVED:
            Campaign.objects.filter(pk=campaign.pk, status=Campaign.Status.APPROVED).update(
                status=Campaign.Status.RUNNING
            )
        transaction.on_commit(lambda: _queue_delivery(touch.pk))
    touch.refresh_from_db()
    return touch


def _queue_delivery(touch_id):
    try:
        tasks.deliver_touch.delay(touch_id)
    except Exception:  # broker down: the queued rows wait, the beat sweep sends them
        log.warning("Could not queue delivery of touch %s; the sweep will send it", touch_id, exc_info=True)


# -- delivering ---------------------------------------------------------------------------------


def render_text(body, name):
    return (body or "").replace("{name}", name or "")


def outgoing_for(message, *, subject_line, body):
    person = message.customer if message.customer_id else message.lead
    address = ADDRESS[message.channel]
    rep = getattr(person, "owner", None)
    to = str(rep.pk) if address == "owner" and rep else getattr(person, address, "") if address != "owner" else ""
    link = settings.SITE_URL + message_link(message.pk)
    text = render_text(body, person.name)
    text += "\n" + _("Reply TD or open %(url)s to stop these messages.") % {
        "url": settings.SITE_URL + stop_link(message.pk)
    }
    return Outgoing(
        channel=message.channel,
        to=to,
        subject=subject_line,
        text=text,
        link=link,
        person_name=person.name,
        message_id=message.pk,
        rep=rep,
    )


def deliver_chunk(queryset, *, body_for, now=None):
    """Send up to CHUNK queued messages of ``queryset``; each row is locked while it is sent and
    never sent twice. ``body_for(message)`` gives (subject, body). Returns how many were handled."""
    with transaction.atomic():
        batch = list(
            queryset.filter(status=Message.Status.QUEUED)
            .select_related("customer__owner", "lead__owner", "enrollment")
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("pk")[:CHUNK]
        )
        sent, failed = [], []
        for message in batch:
            subject_line, body = body_for(message)
            try:
                backend_for(message.channel).send(outgoing_for(message, subject_line=subject_line, body=body))
            except ChannelError as exc:
                failed.append((message.pk, str(exc)[:300]))
            else:
                sent.append(message.pk)
        stamp = now or timezone.now()
        if sent:
            Message.objects.filter(pk__in=sent).update(status=Message.Status.SENT, sent_at=stamp)
        for pk, error in failed:
            Message.objects.filter(pk=pk).update(status=Message.Status.FAILED, error=error)
    return len(batch)


def deliver_touch(touch_id):
    """Send every queued message of a touch, then mark it sent and refresh the campaign figures."""
    touch = Touch.objects.select_related("content").get(pk=touch_id)
    subject_line = touch.subject or (touch.content.title if touch.content else "")
    while deliver_chunk(touch.messages.all(), body_for=lambda m: (subject_line, touch.body)):
        pass
    if not touch.messages.filter(status=Message.Status.QUEUED).exists():
        Touch.objects.filter(pk=touch.pk, status=Touch.Status.SENDING).update(status=Touch.Status.SENT)

    refresh(touch.campaign_id)


def send_due_touches(now=None):
    """Beat: start scheduled touches whose time has come and finish any left half-sent."""
    now = now or timezone.now()
    started = 0
    for touch in Touch.objects.filter(status=Touch.Status.SCHEDULED, scheduled_at__lte=now).select_related("campaign"):
        try:
            start_send(actor=None, touch=touch, now=now)
            started += 1
        except ValidationError as exc:
            log.warning("Scheduled touch %s not sent: %s", touch.pk, exc)
    for touch_id in Touch.objects.filter(status=Touch.Status.SENDING).values_list("pk", flat=True):
        deliver_touch(touch_id)
    return started
