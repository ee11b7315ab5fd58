"""打卡: the start and the end of a working day."""

import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import Department

from .. import evidence
from ..geo import distance_m, parse_position
from ..models import ClockIn, WorkHours, WorkSite

DEFAULT_START, DEFAULT_END = datetime.time(9, 0), datetime.time(18, 0)


def _lineage(department):
    """The department's ids from itself up to the root (nearest first)."""
    if department is None:
        return []
    path = department.path if isinstance(department, Department) else Department.objects.get(pk=department).path
    return [int(part) for part in reversed(path.strip("/").split("/")) if part]


def hours_for(department):
    """The work hours that apply to ``department``: its own, or the nearest set above it, or 9–18."""
    ids = _lineage(department)
    by_department = {hours.department_id: hours for hours in WorkHours.objects.filter(department_id__in=ids)}
    for pk in ids:
        if pk in by_department:
            return by_department[pk]
    return WorkHours(start=DEFAULT_START, end=DEFAULT_END, grace_minutes=0)


def sites_for(department):
    """The active work sites of ``department`` and every department above it."""
    return list(WorkSite.objects.filter(department_id__in=_lineage(department), is_active=True))


def nearest_site(sites, latitude, longitude):
    """(site, distance) of the nearest site, or (None, None) without sites or position."""
    if latitude is None or not sites:
        return None, None
    return min(
        ((site, distance_m(latitude, longitude, site.latitude, site.longitude)) for site in sites),
        key=lambda pair: pair[1],
    )


def clock(
    *, user, kind, latitude=None, longitude=None, accuracy=None, device="", signals=None, client_at=None, now=None
) -> ClockIn:
    """Record the start or the end of ``user``'s day, once per kind and day (a unique index makes a
    second tap, or two at once, fail with an error beside ``kind``). Flags: late (a start after the
    hours' start plus grace), early (an end before the hours' end), outside (no position, or farther
    from every site than its radius; with no site set for the department nobody is outside).
    ``client_at`` (an offline draft, checked by the caller) is the time of the entry; the record
    carries a signed evidence bundle either way (``field.evidence``)."""
    if kind not in ClockIn.Kind.values:
        raise ValidationError({"kind": _("Choose the start or the end of the day.")})
    latitude, longitude, accuracy = parse_position(latitude, longitude, accuracy)
    received = now or timezone.now()
    now = client_at or received
    local = timezone.localtime(now)
    department = user.department
    hours = hours_for(department)
    sites = sites_for(department)
    site, distance = nearest_site(sites, latitude, longitude)
    grace_end = (
        datetime.datetime.combine(local.date(), hours.start) + datetime.timedelta(minutes=hours.grace_minutes)
    ).time()
    record = ClockIn(
        user=user,
        department=department,
        kind=kind,
        day=local.date(),
        at=now,
        latitude=latitude,
        longitude=longitude,
        accuracy_m=accuracy,
        site=site,
        distance_m=distance,
        is_late=kind == ClockIn.Kind.START and local.time().replace(microsecond=0) > grace_end,
        is_early=kind == ClockIn.Kind.END and local.time() < hours.end,
        is_outside=bool(sites) and (site is None or distance > site.radius_m),
        device=(device or "")[:200],
        client_at=client_at,
    )
    evidence.seal(
        record,
        evidence.bundle_for(
            latitude=latitude,
            longitude=longitude,
            accuracy=accuracy,
            signals=signals,
            device=device,
            server_at=received,
            client_at=client_at,
        ),
    )
    try:
        with transaction.atomic():
            record.save()
    except IntegrityError as exc:
        done = ClockIn.objects.filter(user=user, day=local.date(), kind=kind).first()
        when = timezone.localtime(done.at).strftime("%H:%M") if done else ""
        message = (
            _("You already clocked in for the day at %(time)s.")
            if kind == ClockIn.Kind.START
            else _("You already clocked out for the day at %(time)s.")
        )
        raise ValidationError({"kind": message % {"time": when}}) from exc
    return record
