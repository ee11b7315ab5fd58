"""催款: instalments remind whoever their dunning levels name, before and after the due date.

The levels (``DunningLevel``) of an instalment are its own, or else the default levels (rows
without an instalment), or else ``CONTRACT_DUNNING_DAYS`` after due to the owner, with the owner's
manager told too from ``CONTRACT_ESCALATE_AFTER_DAYS`` on. A level has an offset (days from due,
negative before), a channel and a responsible person (the owner, the owner and their manager, or
the owner and a named person).

Each instalment gets one notice per offset. The proof of a notice is a ``DunningNotice`` row,
unique per (instalment, offset), written in the transaction that writes the notification, while
the instalment row is locked (SKIP LOCKED: a second dispatcher passes it by). A settled
instalment is never read, so reminders stop the moment a payment settles it; the markers belong
to one instalment, so reminding one never silences another. An instalment first seen long after
several offsets gets one notice (its latest offset), not one for every offset it has passed."""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import User
from crm.notifications import notify_many
from sales.services.reminders import manager_of

from ..models import Contract, DunningLevel, DunningNotice, Instalment


@dataclass(frozen=True)
class Level:
    offset_days: int
    channel: str = DunningLevel.Channel.PREFERENCE
    responsible: str = DunningLevel.Responsible.OWNER
    user_id: int | None = None


def dunning_days() -> list[int]:
    return sorted(getattr(settings, "CONTRACT_DUNNING_DAYS", (1, 7, 15, 30)))


def escalate_after() -> int:
    return int(getattr(settings, "CONTRACT_ESCALATE_AFTER_DAYS", 15))


def _level(row: DunningLevel) -> Level:
    return Level(row.offset_days, row.channel, row.responsible, row.user_id)


def default_levels() -> list[Level]:
    """The levels of an instalment without its own: the default rows, or the settings."""
    rows = [_level(row) for row in DunningLevel.objects.filter(instalment__isnull=True).order_by("offset_days")]
    if rows:
        return rows
    return [
        Level(days, responsible=DunningLevel.Responsible.MANAGER if days >= escalate_after() else "owner")
        for days in dunning_days()
    ]


@transaction.atomic
def set_levels(*, instalment: Instalment | None, levels: list[Level], actor) -> list[DunningLevel]:
    """Replace the levels of ``instalment`` (``None``: the default levels). The notices already
    sent stay sent; a new offset the instalment has already passed is not sent retroactively
    beyond the latest one."""
    DunningLevel.objects.filter(instalment=instalment).delete()
    return DunningLevel.objects.bulk_create(
        [
            DunningLevel(
                instalment=instalment,
                offset_days=level.offset_days,
                channel=level.channel,
                responsible=level.responsible,
                user_id=level.user_id,
            )
            for level in sorted(levels, key=lambda lv: lv.offset_days)
        ]
    )


def _recipients(level: Level, owner, users: dict) -> list:
    recipients = [owner]
    if level.responsible == DunningLevel.Responsible.MANAGER:
        manager = manager_of(owner)
        if manager is not None:
            recipients.append(manager)
    elif level.responsible == DunningLevel.Responsible.USER and level.user_id in users:
        if level.user_id != owner.pk:
            recipients.append(users[level.user_id])
    return recipients


def dispatch_overdue(*, today: datetime.date | None = None, batch_size: int = 500) -> int:
    """Send the due notices of open instalments (before and after due); returns how many
    notifications were written. Safe to run twice and in parallel. A handful of queries and
    one write per batch, whatever the data size."""
    today = today or timezone.localdate()
    defaults = default_levels()
    own_min = (
        DunningLevel.objects.filter(instalment__isnull=False)
        .order_by("offset_days")
        .values_list("offset_days", flat=True)
        .first()
    )
    offsets = [lv.offset_days for lv in defaults] + ([own_min] if own_min is not None else [])
    if not offsets:
        return 0
    earliest = min(offsets)
    sent = 0
    with transaction.atomic():
        instalments = list(
            Instalment.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                settled_at__isnull=True,
                contract__status=Contract.Status.ACTIVE,
                due_on__lte=today - datetime.timedelta(days=earliest),
            )
            .select_related("contract__owner__department", "contract__customer")
            .order_by("due_on", "id")[:batch_size]
        )
        levels_of: dict[int, list[Level]] = {}
        for row in DunningLevel.objects.filter(instalment__in=instalments).order_by("offset_days"):
            levels_of.setdefault(row.instalment_id, []).append(_level(row))
        named = {lv.user_id for group in [defaults, *levels_of.values()] for lv in group if lv.user_id}
        users = {u.pk: u for u in User.objects.filter(pk__in=named).select_related("department")} if named else {}
        done = {
            (row["instalment_id"], row["offset_days"])
            for row in DunningNotice.objects.filter(instalment__in=instalments).values("instalment_id", "offset_days")
        }
        items, markers = [], []
        for instalment in instalments:
            levels = levels_of.get(instalment.pk, defaults)
            days = (today - instalment.due_on).days
            passed = [lv for lv in levels if lv.offset_days <= days and (instalment.pk, lv.offset_days) not in done]
            if not passed:
                continue
            latest = passed[-1]
            for level in passed:
                markers.append(
                    DunningNotice(
                        instalment=instalment,
                        offset_days=level.offset_days,
                        escalated=level is latest and level.responsible != DunningLevel.Responsible.OWNER,
                    )
                )
            contract = instalment.contract
            values = {
                "days": abs(days),
                "contract": contract.number,
                "seq": instalment.sequence,
                "amount": f"{instalment.outstanding:,.2f}",
            }
            if days > 0:
                title = _("Overdue %(days)s days: %(contract)s instalment %(seq)s, %(amount)s outstanding") % values
            elif days == 0:
                title = _("Due today: %(contract)s instalment %(seq)s, %(amount)s outstanding") % values
            else:
                title = _("Due in %(days)s days: %(contract)s instalment %(seq)s, %(amount)s outstanding") % values
            body = contract.customer.name
            url = contract.get_absolute_url()
            for recipient in _recipients(latest, contract.owner, users):
                text = title
                if recipient.pk != contract.owner_id:
                    text = _("Escalated: %(title)s (%(owner)s)") % {"title": title, "owner": contract.owner}
                items.append(
                    {
                        "recipient": recipient,
                        "title": text,
                        "body": body,
                        "url": url,
                        "kind": "dunning",
                        "channel": latest.channel,
                    }
                )
        DunningNotice.objects.bulk_create(markers)
        if items:
            notify_many(items)
        sent = len(items)
    return sent
