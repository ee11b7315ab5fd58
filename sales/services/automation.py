"""Rules that create work: e.g. every new A-grade lead gets a "call within 24 hours" task."""

import datetime

from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import Grade, Task
from .tasks import create_task


def on_lead_assigned(lead):
    if lead.grade == Grade.A and lead.owner_id:
        if not Task.objects.filter(lead=lead, by_rule="call_a_lead_24h").exists():
            create_task(
                actor=None,
                assignee=lead.owner,
                lead=lead,
                by_rule="call_a_lead_24h",
                title=_("Call A-grade lead %(name)s within 24 hours") % {"name": lead.name},
                due_at=timezone.now() + datetime.timedelta(hours=24),
                priority=Task.Priority.HIGH,
            )
