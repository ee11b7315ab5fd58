"""报备: lead registration by partners, with protection days and conflicts.

Registrations of one mobile serialize on an advisory lock for the mobile; inside it, expired
protections are closed, then the new registration is protected only when no other partner holds
the mobile and no customer has it — otherwise it is stored as a conflict (the channel manager sees
it). The partial unique index (one protected registration per mobile) is the last line of defence."""

import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from crm.db import advisory_lock
from crm.errors import Invalid
from customers.models import Customer

from ..models import LeadRegistration, Partner

#: protection days by partner grade (A protects longest)
PROTECTION_DAYS = {"A": 90, "B": 60, "C": 45, "D": 30}


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
        registration.protected_until = now + datetime.timedelta(days=PROTECTION_DAYS.get(partner.grade, 30))
    registration.save()
    return registration
