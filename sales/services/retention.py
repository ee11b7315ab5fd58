"""Retention of leads that never became customers (个人信息保存期限).

Each night, a lead that never converted and has been quiet for longer than the retention period
(``PrivacySettings.lead_retention_days``) is anonymized: its personal fields and those of its
follow-ups, tasks and registrations are erased, history redacted; status, source, score and dates
stay, so funnel and channel figures do not move.
"""

import datetime

from django.db import transaction
from django.db.models import CharField, Q, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from crm import privacy
from crm.models import PrivacySettings

from ..models import Lead

CHUNK = 2000


def stale_leads(now=None, days=None):
    """Unconverted, not yet anonymized leads with no activity for ``days`` days."""
    if days is None:
        days = PrivacySettings.current().lead_retention_days
    if not days:
        return Lead.objects.none()
    cutoff = (now or timezone.now()) - datetime.timedelta(days=days)
    return (
        Lead.objects.filter(
            customer__isnull=True, anonymized_at__isnull=True, created_at__lt=cutoff, updated_at__lt=cutoff
        )
        .exclude(status=Lead.Status.CONVERTED)
        .filter(Q(last_followup_at__isnull=True) | Q(last_followup_at__lt=cutoff))
    )


def anonymize_stale_leads(now=None):
    """Anonymize every stale lead, in chunks; returns how many."""
    now = now or timezone.now()
    total = 0
    while True:
        with transaction.atomic():
            ids = list(stale_leads(now).order_by("pk").values_list("pk", flat=True)[:CHUNK])
            if not ids:
                return total
            privacy.anonymize(Lead, ids, now=now, keep={"name": Concat(Value("#"), Cast("id", CharField()))})
            privacy.log_access(
                action=privacy.Action.ANONYMIZE, subject=privacy.Subject.LEAD, ids=ids, detail="retention"
            )
            total += len(ids)
