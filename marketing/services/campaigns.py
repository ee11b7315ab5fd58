"""Campaigns and their approval, events with registration and check-in, opt-outs."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.approvals import selectors as approval_selectors
from crm.approvals import services as approvals
from crm.phone import normalize_mobile
from customers.models import Customer
from customers.services import find_customer
from sales.models import Lead
from sales.services.followups import mark_inbound
from sales.services.leads import capture_lead, rescore

from .. import approvals as marketing_kinds
from ..models import Campaign, Channel, Event, OptOut, Registration
from .nurture import stop_for_opt_out

TRANSITIONS = {
    # action: (allowed from, to)
    "submit": ({Campaign.Status.DRAFT, Campaign.Status.REJECTED}, Campaign.Status.SUBMITTED),
    "start": ({Campaign.Status.APPROVED}, Campaign.Status.RUNNING),
    "finish": ({Campaign.Status.RUNNING, Campaign.Status.APPROVED}, Campaign.Status.FINISHED),
    "cancel": (
        {
            Campaign.Status.DRAFT,
            Campaign.Status.SUBMITTED,
            Campaign.Status.APPROVED,
            Campaign.Status.REJECTED,
            Campaign.Status.RUNNING,
        },
        Campaign.Status.CANCELLED,
    ),
}


def _lock(campaign):
    return Campaign.objects.select_for_update().get(pk=campaign.pk)


def validate(campaign):
    errors = {}
    if campaign.start and campaign.end and campaign.end < campaign.start:
        errors["end"] = _("The end is before the start.")
    unknown = set(campaign.channels or []) - set(Channel.values)
    if unknown:
        errors["channels"] = _("Unknown channel %(c)s.") % {"c": ", ".join(sorted(unknown))}
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def save_campaign(*, actor, campaign, batches=None):
    if campaign.pk and Campaign.objects.filter(pk=campaign.pk).values_list("status", flat=True)[0] not in (
        Campaign.Status.DRAFT,
        Campaign.Status.REJECTED,
        Campaign.Status.APPROVED,
        Campaign.Status.RUNNING,
    ):
        raise ValidationError(_("A finished or cancelled campaign cannot be changed."))
    validate(campaign)
    if campaign.pk is None:
        campaign.owner = (campaign.owner_id and campaign.owner) or actor
        campaign.department_id = campaign.department_id or actor.department_id
        campaign.created_by = actor
    campaign.save()
    if batches is not None:
        if campaign.budget_account_id and any(
            b.campaign.budget_account_id != campaign.budget_account_id for b in batches
        ):
            raise ValidationError({"batches": _("Attach only batches paid from the campaign's budget account.")})
        campaign.batches.set(batches)
    return campaign


def pending_request(campaign):
    return approval_selectors.pending_request(marketing_kinds.CAMPAIGN, campaign)


def can_approve(user, campaign):
    """Whether ``user`` decides the campaign's waiting approval step (never its requester)."""
    return approval_selectors.may_decide_on(user, marketing_kinds.CAMPAIGN, campaign)


def on_decided(*, campaign, actor, approve, reason=""):
    """The approval engine's final decision (kind ``marketing_campaign``)."""
    campaign = _lock(campaign)
    if approve:
        campaign.status, campaign.approved_by, campaign.approved_at = Campaign.Status.APPROVED, actor, timezone.now()
        campaign.reject_reason = ""
    else:
        campaign.status, campaign.reject_reason = Campaign.Status.REJECTED, reason.strip()
    campaign.save()


@transaction.atomic
def change_status(*, actor, campaign, action, reason=""):
    """Submit (asks the approval engine: the requester's manager, or a director), approve or reject
    (the routed approver only; a rejection needs a reason), start, finish, cancel (a waiting
    approval is withdrawn)."""
    campaign = _lock(campaign)
    if action in ("approve", "reject"):
        if campaign.status != Campaign.Status.SUBMITTED:
            raise ValidationError(_("Only a submitted campaign can be approved or rejected."))
        request = pending_request(campaign)
        if request is None or not approval_selectors.may_decide(actor, request):
            raise PermissionDenied
        if action == "reject" and not reason.strip():
            raise ValidationError({"reason": _("Say why, so the owner can fix it.")})
        approvals.decide_current(request=request, actor=actor, approve=action == "approve", comment=reason)
        return Campaign.objects.get(pk=campaign.pk)
    else:
        allowed, target = TRANSITIONS[action]
        if campaign.status not in allowed:
            raise ValidationError(
                _("A %(status)s campaign cannot do that.") % {"status": campaign.get_status_display().lower()}
            )
        if action == "submit":
            if campaign.segment_id is None and not campaign.events.exists():
                raise ValidationError(_("Choose an audience segment or add an event before submitting."))
            campaign.submitted_at = timezone.now()
        if action == "cancel":
            approvals.withdraw(kind=marketing_kinds.CAMPAIGN, obj=campaign)
        campaign.status = target
    campaign.save()
    if action == "submit":
        approvals.request_approval(kind=marketing_kinds.CAMPAIGN, obj=campaign, requester=actor)
    return campaign


# -- events -------------------------------------------------------------------------------------


def save_event(*, event):
    if event.ends_at and event.starts_at and event.ends_at < event.starts_at:
        raise ValidationError({"ends_at": _("The end is before the start.")})
    if event.capacity is not None and event.pk and event.capacity < event.registered_count:
        raise ValidationError({"capacity": _("%(n)s people are already registered.") % {"n": event.registered_count}})
    event.save()
    return event


def _person(*, customer=None, mobile="", name="", actor=None):
    """The customer to register: the one given, the one with this mobile, or — for someone unknown —
    nobody yet (a lead is captured instead)."""
    if customer is not None:
        return customer, customer.mobile, customer.name
    mobile = normalize_mobile(mobile) if mobile else ""
    if not mobile:
        raise ValidationError({"mobile": _("Enter a mobile number.")})
    found = find_customer({"mobile": mobile})
    if found is not None:
        return found, mobile, found.name
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Enter the name of this new person.")})
    if "\x00" in name:  # from an imported file: PostgreSQL refuses it
        raise ValidationError({"name": _("Null characters are not allowed.")})
    if len(name) > Registration._meta.get_field("name").max_length:
        raise ValidationError(
            {"name": _("At most %(max)d characters.") % {"max": Registration._meta.get_field("name").max_length}}
        )
    return None, mobile, name


@transaction.atomic
def register(
    *, event, customer=None, mobile="", name="", source=Registration.Source.HAND, actor=None, attended=False, at=None
):
    """Register someone for an event (idempotent per person) and, with ``attended``, check them in.
    Someone not yet a customer becomes a lead from the event. Capacity holds under concurrency:
    the counter only moves while below it."""
    at = at or timezone.now()
    customer, mobile, name = _person(customer=customer, mobile=mobile, name=name, actor=actor)
    existing = (
        Registration.objects.select_for_update()
        .filter(Q(event=event) & (Q(customer=customer) if customer else Q(mobile=mobile)))
        .first()
    )
    if existing is None and mobile:
        existing = Registration.objects.select_for_update().filter(event=event, mobile=mobile).first()
    if existing is not None:
        if existing.status == Registration.Status.CANCELLED:
            _take_seat(event)
            existing.status = Registration.Status.REGISTERED
            existing.save(update_fields=["status"])
        registration = existing
    else:
        _take_seat(event)
        lead = None
        if customer is None:
            lead = capture_lead(
                name=name,
                mobile=mobile,
                source=Customer.Source.EVENT,
                actor=actor,
                note=_("Registered for %(event)s") % {"event": event.name},
            )
        try:
            with transaction.atomic():
                registration = Registration.objects.create(
                    event=event,
                    campaign_id=event.campaign_id,
                    customer=customer,
                    lead=lead,
                    name=name,
                    mobile=mobile,
                    source=source,
                    by=actor,
                    registered_at=at,
                )
        except IntegrityError:
            raise ValidationError({"mobile": _("This person is already registered.")}) from None
    if attended:
        check_in(registration=registration, at=at)
        registration.refresh_from_db()
    return registration


def _take_seat(event):
    taken = (
        Event.objects.filter(pk=event.pk)
        .filter(Q(capacity__isnull=True) | Q(registered_count__lt=F("capacity")))
        .update(registered_count=F("registered_count") + 1)
    )
    if not taken:
        raise ValidationError(_("The event is full."))


@transaction.atomic
def check_in(*, registration, at=None):
    """Mark attendance once; attending counts as the person re-engaging (resting is lifted)."""
    at = at or timezone.now()
    changed = (
        Registration.objects.filter(pk=registration.pk)
        .exclude(status=Registration.Status.ATTENDED)
        .update(status=Registration.Status.ATTENDED, checked_in_at=at)
    )
    if not changed:
        return False
    if registration.status == Registration.Status.CANCELLED:
        _take_seat(registration.event)
    Event.objects.filter(pk=registration.event_id).update(attended_count=F("attended_count") + 1)
    if registration.customer_id:
        mark_inbound(customer=registration.customer, at=at)
    if registration.lead_id:
        Lead.objects.filter(pk=registration.lead_id).update(events_attended=F("events_attended") + 1)
        rescore(Lead.objects.get(pk=registration.lead_id))
    return True


@transaction.atomic
def cancel_registration(*, registration):
    changed = Registration.objects.filter(pk=registration.pk, status=Registration.Status.REGISTERED).update(
        status=Registration.Status.CANCELLED
    )
    if changed:
        Event.objects.filter(pk=registration.event_id).update(registered_count=F("registered_count") - 1)
    return bool(changed)


# -- opt-outs -----------------------------------------------------------------------------------


def opt_out(*, customer, channel, actor=None, source="hand"):
    if channel not in Channel.values and channel != OptOut.ALL:
        raise ValidationError({"channel": _("Unknown channel.")})
    OptOut.objects.get_or_create(customer=customer, channel=channel, defaults={"by": actor, "source": source})

    stop_for_opt_out(customer=customer, channel=channel)


def opt_in(*, customer, channel):
    OptOut.objects.filter(customer=customer, channel=channel).delete()


def opted_out_channels(customer):
    return set(OptOut.objects.filter(customer=customer).values_list("channel", flat=True))
