"""Follow-ups (跟进记录) and contact protection ("don't harass")."""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Customer

from ..models import FollowUp, Lead, SalesSettings
from .reminders import create_reminder


def contact_status(customer, *, now=None, settings=None):
    """How many outbound touches since the customer's last reply within the window, whether the
    cap is reached, and whether the customer is resting."""
    settings = settings or SalesSettings.current()
    now = now or timezone.now()
    since = now - datetime.timedelta(days=settings.touch_window_days)
    if customer.last_inbound_at and customer.last_inbound_at > since:
        since = customer.last_inbound_at
    touches = FollowUp.objects.filter(customer=customer, direction=FollowUp.Direction.OUTBOUND, at__gt=since).count()
    return {
        "touches": touches,
        "cap": settings.touch_cap,
        "window_days": settings.touch_window_days,
        "over_cap": touches >= settings.touch_cap,
        "resting": customer.resting_since is not None,
    }


def may_contact(customer, *, now=None):
    """For marketing pushes: False when the customer rests or the frequency cap is reached."""
    status = contact_status(customer, now=now)
    return not (status["resting"] or status["over_cap"])


def mark_inbound(*, customer, at=None):
    """The customer re-engaged (a reply, a visit, an event, an inbound lead): resting is lifted."""
    at = at or timezone.now()
    Customer.objects.filter(pk=customer.pk).update(last_inbound_at=at, resting_since=None)


@transaction.atomic
def record_followup(
    *,
    actor,
    content,
    customer=None,
    lead=None,
    opportunity=None,
    channel=FollowUp.Channel.PHONE,
    direction=FollowUp.Direction.OUTBOUND,
    outcome=FollowUp.Outcome.TALKED,
    next_followup_at=None,
    at=None,
    reminder_offsets="",
):
    """Record a touch. Content is required and a next follow-up time must be in the future; with
    one, a follow-up reminder is created. Updates last-touch figures and the resting state."""
    now = timezone.now()
    if not (content or "").strip():
        raise ValidationError({"content": _("Write what happened.")})
    if customer is None and lead is None:
        raise ValidationError({"customer": _("Choose a customer or a lead.")})
    if next_followup_at is not None and next_followup_at <= now:
        raise ValidationError({"next_followup_at": _("The next follow-up must be in the future.")})
    followup = FollowUp.objects.create(
        customer=customer,
        lead=lead,
        opportunity=opportunity,
        channel=channel,
        direction=direction,
        outcome=outcome,
        content=content.strip(),
        next_followup_at=next_followup_at,
        created_by=actor,
        department_id=actor.department_id,
        at=at or now,
    )
    if customer is not None:
        Customer.objects.filter(pk=customer.pk).update(last_followup_at=followup.at)
        if direction == FollowUp.Direction.INBOUND:
            mark_inbound(customer=customer, at=followup.at)
        else:
            settings = SalesSettings.current()
            customer.refresh_from_db(fields=["last_inbound_at", "resting_since"])
            status = contact_status(customer, settings=settings)
            if customer.resting_since is None and status["touches"] >= settings.rest_after_touches:
                Customer.objects.filter(pk=customer.pk).update(resting_since=now)
    if lead is not None:
        updates = {"last_followup_at": followup.at}
        if lead.status in (Lead.Status.NEW, Lead.Status.ASSIGNED):
            updates["status"] = Lead.Status.CONTACTED
        Lead.objects.filter(pk=lead.pk).update(**updates)
    if next_followup_at is not None:
        subject = customer.name if customer is not None else lead.name
        create_reminder(
            owner=actor,
            title=_("Follow up with %(name)s") % {"name": subject},
            due_at=next_followup_at,
            customer=customer,
            lead=lead,
            followup=followup,
            offsets=reminder_offsets,
        )
    return followup
