"""催款: overdue instalments remind their contract's owner, and escalate to the owner's manager.

Each instalment gets one notice per offset (days after due, ``CONTRACT_DUNNING_DAYS``); from
``CONTRACT_ESCALATE_AFTER_DAYS`` on, the owner's manager is told too. The proof of a notice is a
``DunningNotice`` row, unique per (instalment, offset), written in the transaction that writes the
notification, while the instalment row is locked (SKIP LOCKED: a second dispatcher passes it by).
A settled instalment is never read, so reminders stop the moment a payment settles it; the markers
belong to one instalment, so reminding one never silences another. An instalment first seen long
overdue gets one notice (its latest offset), not one for every offset it has passed."""

import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.notifications import notify_many
from sales.services.reminders import manager_of

from ..models import Contract, DunningNotice, Instalment


def dunning_days() -> list[int]:
    return sorted(getattr(settings, "CONTRACT_DUNNING_DAYS", (1, 7, 15, 30)))


def escalate_after() -> int:
    return int(getattr(settings, "CONTRACT_ESCALATE_AFTER_DAYS", 15))


def dispatch_overdue(*, today: datetime.date | None = None, batch_size: int = 500) -> int:
    """Send the due notices of overdue instalments; returns how many notifications were written.
    Safe to run twice and in parallel."""

    today = today or timezone.localdate()
    offsets = dunning_days()
    if not offsets:
        return 0
    sent = 0
    with transaction.atomic():
        instalments = list(
            Instalment.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                settled_at__isnull=True,
                contract__status=Contract.Status.ACTIVE,
                due_on__lte=today - datetime.timedelta(days=offsets[0]),
            )
            .select_related("contract__owner__department", "contract__customer")
            .order_by("due_on", "id")[:batch_size]
        )
        done = {
            (row["instalment_id"], row["offset_days"])
            for row in DunningNotice.objects.filter(instalment__in=instalments).values("instalment_id", "offset_days")
        }
        items, markers = [], []
        for instalment in instalments:
            late = (today - instalment.due_on).days
            passed = [o for o in offsets if o <= late and (instalment.pk, o) not in done]
            if not passed:
                continue
            latest = passed[-1]
            escalated = latest >= escalate_after()
            for offset in passed:
                markers.append(
                    DunningNotice(
                        instalment=instalment,
                        offset_days=offset,
                        escalated=escalated and offset == latest,
                    )
                )
            contract = instalment.contract
            title = _("Overdue %(days)s days: %(contract)s instalment %(seq)s, %(amount)s outstanding") % {
                "days": late,
                "contract": contract.number,
                "seq": instalment.sequence,
                "amount": f"{instalment.outstanding:,.2f}",
            }
            body = contract.customer.name
            url = contract.get_absolute_url()
            items.append({"recipient": contract.owner, "title": title, "body": body, "url": url, "kind": "dunning"})
            if escalated:
                manager = manager_of(contract.owner)
                if manager is not None:
                    items.append(
                        {
                            "recipient": manager,
                            "title": _("Escalated: %(title)s (%(owner)s)") % {"title": title, "owner": contract.owner},
                            "body": body,
                            "url": url,
                            "kind": "dunning",
                        }
                    )
        DunningNotice.objects.bulk_create(markers)
        if items:
            notify_many(items)
        sent = len(items)
    return sent
