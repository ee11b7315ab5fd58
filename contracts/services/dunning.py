"""催款: instalments remind whoever their dunning levels name, before and after the due date.

The levels (``DunningLevel``) of an instalment are its own, or else the company's default levels
(rows without an instalment, which admins set on the dunning levels page and a data migration
seeds), or — with no default rows at all, as in a database emptied by hand — the built-in plan:
``CONTRACT_DUNNING_DAYS`` after due to the owner, with the owner's manager told too from
``CONTRACT_ESCALATE_AFTER_DAYS`` on. A level has an offset (days from due, negative before), a
channel and a responsible person (the owner, the owner and their manager, the owner and the head
of the contract's department — the manager of its department, teams skipped — or the owner and a
named person). A plan holds at most one level per offset and channel (``dunning_level_taken``);
the company plan keeps at least one level (``dunning_level_last``), so removing levels never falls
back to the built-in plan unnoticed.

Each instalment gets one notice per level. The proof of a notice is a ``DunningNotice`` row,
unique per (instalment, offset, channel), written in the transaction that writes the
notification, while the instalment row is locked (SKIP LOCKED: a second dispatcher passes it by).
A notice whose channel no level at its offset has any more (the level was edited, or the notice
predates channels per level) still stands for the levels at that offset, so editing a level never
sends its notice again. A settled instalment is never read, so reminders stop the moment a
payment settles it; the markers belong to one instalment, so reminding one never silences another.
An instalment first seen long after several offsets gets the notices of its latest offset only,
not one for every offset it has passed."""

import datetime
from dataclasses import dataclass

from auditlog.context import set_actor
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.errors import DomainError
from crm.models import Department, User
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
    return sorted(set(getattr(settings, "CONTRACT_DUNNING_DAYS", (1, 7, 15, 30))))


def escalate_after() -> int:
    return int(getattr(settings, "CONTRACT_ESCALATE_AFTER_DAYS", 15))


def _level(row: DunningLevel) -> Level:
    return Level(row.offset_days, row.channel, row.responsible, row.user_id)


def builtin_levels() -> list[Level]:
    """The plan from the settings: what the seed writes and what applies with no default rows."""
    return [
        Level(
            days,
            responsible=DunningLevel.Responsible.MANAGER
            if days >= escalate_after()
            else DunningLevel.Responsible.OWNER,
        )
        for days in dunning_days()
    ]


def default_levels() -> list[Level]:
    """The levels of an instalment without its own: the default rows, or the built-in plan."""
    rows = [_level(row) for row in DunningLevel.objects.filter(instalment__isnull=True).order_by("offset_days", "id")]
    return rows or builtin_levels()


def _taken(level: Level) -> DomainError:
    channel = DunningLevel.Channel(level.channel).label
    return DomainError(
        "dunning_level_taken",
        _("Another level is already %(days)s days from due on the channel %(channel)s.")
        % {"days": level.offset_days, "channel": channel},
        fields={
            "offset_days": _("Another level is already %(days)s days from due on the channel %(channel)s.")
            % {"days": level.offset_days, "channel": channel}
        },
    )


def check_level(level: Level) -> None:
    """A level names its person when its responsible is a named person (``dunning_level_user``)."""
    if level.responsible == DunningLevel.Responsible.USER and not level.user_id:
        raise DomainError("dunning_level_user", _("Name the person."), fields={"user": _("Name the person.")})


def _save(row: DunningLevel, level: Level) -> DunningLevel:
    row.offset_days = level.offset_days
    row.channel = level.channel
    row.responsible = level.responsible
    row.user_id = level.user_id if level.responsible == DunningLevel.Responsible.USER else None
    try:
        with transaction.atomic():  # the partial unique index settles a race between two admins
            row.save()
    except IntegrityError:
        raise _taken(level) from None
    return row


@transaction.atomic
def add_default_level(*, level: Level, actor) -> DunningLevel:
    """Add a level to the company's default plan; audit-logged. Raises ``dunning_level_taken``
    when the plan has a level with the same offset and channel, ``dunning_level_user``."""
    check_level(level)
    if DunningLevel.objects.filter(
        instalment__isnull=True, offset_days=level.offset_days, channel=level.channel
    ).exists():
        raise _taken(level)
    with set_actor(actor):
        return _save(DunningLevel(instalment=None), level)


@transaction.atomic
def change_default_level(*, row: DunningLevel, level: Level, actor) -> DunningLevel:
    """Change one level of the company's default plan; audit-logged. The notices already sent for
    it stay sent (they are not sent again on the new channel). Errors as ``add_default_level``."""
    check_level(level)
    row = DunningLevel.objects.select_for_update().get(pk=row.pk, instalment__isnull=True)
    if (
        DunningLevel.objects.filter(instalment__isnull=True, offset_days=level.offset_days, channel=level.channel)
        .exclude(pk=row.pk)
        .exists()
    ):
        raise _taken(level)
    with set_actor(actor):
        return _save(row, level)


@transaction.atomic
def remove_default_level(*, row: DunningLevel, actor) -> None:
    """Remove one level of the company's default plan; audit-logged. The plan keeps at least one
    level (``dunning_level_last``): with none, the built-in plan would apply unannounced."""
    rows = list(DunningLevel.objects.select_for_update().filter(instalment__isnull=True).order_by("id"))
    if row.pk not in {r.pk for r in rows}:
        return
    if len(rows) == 1:
        raise DomainError("dunning_level_last", _("Keep at least one dunning level in the company's plan."))
    with set_actor(actor):
        DunningLevel.objects.get(pk=row.pk).delete()


@transaction.atomic
def set_levels(*, instalment: Instalment | None, levels: list[Level], actor) -> list[DunningLevel]:
    """Replace the levels of ``instalment`` (``None``: the default levels), each row written and
    removed one by one so the audit log records them. The notices already sent stay sent; a new
    offset the instalment has already passed is not sent retroactively beyond the latest one.
    Raises ``dunning_level_taken`` for two levels with the same offset and channel."""
    seen = set()
    for level in levels:
        check_level(level)
        if (level.offset_days, level.channel) in seen:
            raise _taken(level)
        seen.add((level.offset_days, level.channel))
    with set_actor(actor):
        for row in DunningLevel.objects.filter(instalment=instalment):
            row.delete()
        return [
            _save(DunningLevel(instalment=instalment), level)
            for level in sorted(levels, key=lambda lv: (lv.offset_days, lv.channel))
        ]


def _head_of(department_id: int | None, owner, heads: dict):
    """部门负责人: the manager of the department (not a team) the contract belongs to, or — none
    set, or the owner themself — the nearest manager above it; ``None`` when nobody is found."""
    department_id = department_id or owner.department_id
    if department_id is None:
        return None
    if department_id not in heads:
        department = Department.objects.filter(pk=department_id).only("path").first()
        ids = [int(part) for part in department.path.strip("/").split("/") if part] if department else []
        rows = Department.objects.filter(pk__in=ids).in_bulk()
        found = []
        for pk in reversed(ids):
            place = rows.get(pk)
            if place is not None and place.kind != Department.Kind.TEAM and place.manager_id:
                found.append(place.manager_id)
        people = User.objects.select_related("department").in_bulk(found)
        heads[department_id] = [people[pk] for pk in found if pk in people]
    return next((head for head in heads[department_id] if head.pk != owner.pk), None)


def _recipients(level: Level, contract, users: dict, heads: dict) -> list:
    owner = contract.owner
    recipients = [owner]
    extra = None
    if level.responsible == DunningLevel.Responsible.MANAGER:
        extra = manager_of(owner)
    elif level.responsible == DunningLevel.Responsible.DEPARTMENT_HEAD:
        extra = _head_of(contract.department_id, owner, heads)
    elif level.responsible == DunningLevel.Responsible.USER and level.user_id in users:
        extra = users[level.user_id] if level.user_id != owner.pk else None
    if extra is not None:
        recipients.append(extra)
    return recipients


def _is_sent(level: Level, marked: set, channels_here: set) -> bool:
    """A level's notice is out when a notice with its channel is, or one whose channel no level at
    that offset has any more (an edited level, or a notice from before channels per level)."""
    return level.channel in marked or bool(marked - channels_here)


def dispatch_overdue(*, today: datetime.date | None = None, batch_size: int = 500) -> int:
    """Send the due notices of open instalments (before and after due); returns how many
    notifications were written. Safe to run twice and in parallel. A handful of queries and
    one write per batch, whatever the data size (plus one per department whose head is asked)."""
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
        for row in DunningLevel.objects.filter(instalment__in=instalments).order_by("offset_days", "id"):
            levels_of.setdefault(row.instalment_id, []).append(_level(row))
        named = {lv.user_id for group in [defaults, *levels_of.values()] for lv in group if lv.user_id}
        users = {u.pk: u for u in User.objects.filter(pk__in=named).select_related("department")} if named else {}
        done: dict[tuple[int, int], set] = {}
        for row in DunningNotice.objects.filter(instalment__in=instalments).values(
            "instalment_id", "offset_days", "channel"
        ):
            done.setdefault((row["instalment_id"], row["offset_days"]), set()).add(row["channel"])
        heads: dict = {}
        items, markers = [], []
        for instalment in instalments:
            levels = levels_of.get(instalment.pk, defaults)
            channels_at: dict[int, set] = {}
            for lv in levels:
                channels_at.setdefault(lv.offset_days, set()).add(lv.channel)
            days = (today - instalment.due_on).days
            passed = [
                lv
                for lv in levels
                if lv.offset_days <= days
                and not _is_sent(lv, done.get((instalment.pk, lv.offset_days), set()), channels_at[lv.offset_days])
            ]
            if not passed:
                continue
            latest = max(lv.offset_days for lv in passed)
            sending = [lv for lv in passed if lv.offset_days == latest]
            for level in passed:
                markers.append(
                    DunningNotice(
                        instalment=instalment,
                        offset_days=level.offset_days,
                        channel=level.channel,
                        escalated=level in sending and level.responsible != DunningLevel.Responsible.OWNER,
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
            for level in sending:
                for recipient in _recipients(level, contract, users, heads):
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
                            "channel": level.channel,
                        }
                    )
        DunningNotice.objects.bulk_create(markers)
        if items:
            notify_many(items)
        sent = len(items)
    return sent
