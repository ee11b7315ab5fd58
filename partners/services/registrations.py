"""报备: lead registration by partners, with protection days and conflicts.

Registrations of one mobile serialize on an advisory lock for the mobile; inside it, expired
protections are closed, then the new registration is protected only when no other partner holds
the mobile and no customer has it — otherwise it is stored as a conflict (the channel manager sees
it, and is told by a notification). The partial unique index (one protected registration per mobile)
is the last line of defence.

The partner is told at once which of three it is — protected (with its end), already registered
(never by whom) or already our customer. A protection may be extended once, on the partner's
request, by the grade's days; its expiry is warned of once, ``WARN_DAYS`` before."""

import datetime

from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from crm.db import advisory_lock
from crm.errors import Conflict, Invalid
from crm.labels import labelled
from crm.models import User
from crm.notifications import notify, notify_many
from customers.models import Customer

from ..models import LeadRegistration, Partner

#: protection days by partner grade (A protects longest); an extension adds the same again
PROTECTION_DAYS = {"A": 90, "B": 60, "C": 45, "D": 30}
#: the expiry warning goes out this many days before a protection ends
WARN_DAYS = 7


def protection_days(partner: Partner) -> int:
    return PROTECTION_DAYS.get(partner.grade, 30)


@transaction.atomic
def register_lead(*, partner: Partner, name: str, mobile: str) -> LeadRegistration:
    """Register ``mobile`` for ``partner``. Returns the registration: ``protected`` (with its end),
    or ``conflict`` with ``conflict_reason`` "registered" (another partner holds it) or "owned"
    (already our customer). Raises ``Invalid`` on ``mobile`` for a malformed number."""
    mobile = (mobile or "").strip()
    if len(mobile) != 11 or not mobile.isdigit() or not mobile.startswith("1"):
        raise Invalid(
            gettext_noop("Enter an 11-digit mobile number."),
            fields={"mobile": gettext_noop("Enter an 11-digit mobile number.")},
        )
    advisory_lock("partner-registration", mobile)
    now = timezone.now()
    LeadRegistration.objects.filter(
        mobile=mobile, status=LeadRegistration.Status.PROTECTED, protected_until__lte=now
    ).update(status=LeadRegistration.Status.EXPIRED)
    holder = LeadRegistration.objects.filter(mobile=mobile, status=LeadRegistration.Status.PROTECTED).first()
    reason = ""
    if holder is not None:
        reason = "registered"
    elif Customer.objects.filter(mobile=mobile).exists():
        reason = "owned"
    registration = LeadRegistration(partner=partner, name=name[:100], mobile=mobile, created_at=now)
    if reason:
        registration.status, registration.conflict_reason = LeadRegistration.Status.CONFLICT, reason
    else:
        registration.status = LeadRegistration.Status.PROTECTED
        registration.protected_until = now + datetime.timedelta(days=protection_days(partner))
    registration.save()
    if reason:
        _flag_conflict(registration, holder)
    return registration


def _flag_conflict(registration: LeadRegistration, holder: LeadRegistration | None) -> None:
    """Tell the channel manager of the registering partner (and the holder's, when another) about a
    conflict; they see it in the conflicts list and decide — it is never protected for two."""
    partner = registration.partner
    if registration.conflict_reason == "registered":
        body = _("%(mobile)s is already registered by %(holder)s until %(until)s.") % {
            "mobile": registration.mobile,
            "holder": holder.partner.name,
            "until": timezone.localtime(holder.protected_until).strftime("%Y-%m-%d"),
        }
    else:
        body = _("%(mobile)s is already our customer.") % {"mobile": registration.mobile}
    url = reverse("partners:registrations") + "?status=conflict"
    title = _("Registration conflict: %(partner)s registered %(name)s") % {
        "partner": partner.name,
        "name": registration.name,
    }
    recipients = {partner.owner_id}
    if holder is not None:
        recipients.add(holder.partner.owner_id)
    for user in User.objects.filter(pk__in=sorted(recipients)):
        notify(recipient=user, title=title, body=body, url=url, kind="partner_registration_conflict")


@transaction.atomic
def extend_registration(*, registration: LeadRegistration, actor=None) -> LeadRegistration:
    """One extension of a live protection, by the partner's grade's days. Raises
    ``Conflict("already_extended")`` for a second one and ``Conflict("not_protected")`` once the
    protection has ended (a conditional UPDATE decides, so two requests extend once)."""
    now = timezone.now()
    days = datetime.timedelta(days=protection_days(registration.partner))
    updated = LeadRegistration.objects.filter(
        pk=registration.pk,
        status=LeadRegistration.Status.PROTECTED,
        protected_until__gt=now,
        extended_at__isnull=True,
    ).update(protected_until=F("protected_until") + days, extended_at=now, warned_at=None)
    if updated != 1:
        registration.refresh_from_db()
        if registration.extended_at is not None:
            raise Conflict("already_extended", gettext_noop("This registration was extended once already."))
        raise Conflict("not_protected", gettext_noop("This registration is no longer protected."))
    registration.refresh_from_db()
    return registration


def expire_registrations() -> int:
    """Close the protections that have ended (beat, daily)."""
    return LeadRegistration.objects.filter(
        status=LeadRegistration.Status.PROTECTED, protected_until__lte=timezone.now()
    ).update(status=LeadRegistration.Status.EXPIRED)


@transaction.atomic
def warn_expiring_registrations() -> int:
    """Warn the partner's users and its channel manager of a protection ending within
    ``WARN_DAYS`` — once per protection (an extension warns again before its new end): each row is
    claimed by a conditional UPDATE of ``warned_at``, so two runs send one warning."""
    now = timezone.now()
    due = list(
        LeadRegistration.objects.filter(
            status=LeadRegistration.Status.PROTECTED,
            warned_at__isnull=True,
            protected_until__gt=now,
            protected_until__lte=now + datetime.timedelta(days=WARN_DAYS),
        )
        .select_for_update(skip_locked=True, of=("self",))
        .select_related("partner__owner__department")
        .order_by("id")[:5000]
    )
    if not due:
        return 0
    LeadRegistration.objects.filter(pk__in=[r.pk for r in due], warned_at__isnull=True).update(warned_at=now)
    users_by_partner: dict[int, list[User]] = {}
    for user in User.objects.filter(
        partner_link__partner_id__in={r.partner_id for r in due}, is_active=True, is_service=False
    ).select_related("department", "partner_link"):
        users_by_partner.setdefault(user.partner_link.partner_id, []).append(user)
    items = []
    for registration in due:
        until = timezone.localtime(registration.protected_until).strftime("%Y-%m-%d")
        title = _("Registration of %(name)s expires on %(until)s") % {"name": registration.name, "until": until}
        for user in users_by_partner.get(registration.partner_id, []):
            items.append(
                {
                    "recipient": user,
                    "title": title,
                    "url": reverse("portal:registrations"),
                    "kind": "registration_expiry",
                }
            )
        items.append(
            {
                "recipient": registration.partner.owner,
                "title": labelled(registration.partner.name, title),
                "url": reverse("partners:registrations"),
                "kind": "registration_expiry",
            }
        )
    notify_many(items)
    return len(due)
