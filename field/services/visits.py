"""外勤签到: check in at a customer (with where, a photo and notes), check out."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.labels import labelled
from customers import registry
from customers.services.records import update_customer
from sales.models import FollowUp
from sales.services.followups import record_followup

from .. import evidence
from ..geo import distance_m, parse_position
from ..models import CheckInRadius, Visit
from .photos import clean_photo


def check_in(
    *,
    user,
    customer,
    latitude=None,
    longitude=None,
    accuracy=None,
    photo=None,
    notes="",
    remember_location=False,
    device="",
    signals=None,
    client_at=None,
    now=None,
) -> Visit:
    """Start a visit at ``customer`` (which the caller found inside the user's scope) and record it
    as a "visit" follow-up on the customer through the follow-up service. The distance to the
    customer is kept when both positions are known; ``remember_location`` stores this position as
    the customer's when the customer has none. One open visit per person: a second check-in before
    checking out fails beside ``customer`` (a partial unique index, so two taps at once cannot
    both succeed). The visit carries a signed evidence bundle (``field.evidence``); ``client_at``
    (an offline draft, checked by the caller) is when it began. The customer's first verified visit
    sets its check-in radius; a visit farther than the radius is flagged outside. A member customer
    earns the check-in points of its tier (through ``customers.registry``, once per visit)."""
    latitude, longitude, accuracy = parse_position(latitude, longitude, accuracy)
    notes = (notes or "").strip()
    received = now or timezone.now()
    now = client_at or received
    clean, digest = clean_photo(photo) if photo else (None, "")
    distance = None
    if latitude is not None and customer.latitude is not None and customer.longitude is not None:
        distance = distance_m(latitude, longitude, customer.latitude, customer.longitude)
    try:
        with transaction.atomic():
            visit = Visit(
                user=user,
                department_id=user.department_id,
                customer=customer,
                started_at=now,
                latitude=latitude,
                longitude=longitude,
                accuracy_m=accuracy,
                distance_m=distance,
                notes=notes,
                photo_sha256=digest,
                client_at=client_at,
            )
            evidence.seal(
                visit,
                evidence.bundle_for(
                    latitude=latitude,
                    longitude=longitude,
                    accuracy=accuracy,
                    signals=signals,
                    device=device,
                    server_at=received,
                    client_at=client_at,
                    photo_sha256=digest,
                ),
            )
            remembered = remember_location and latitude is not None and customer.latitude is None
            visit.is_outside = _outside(customer, visit.distance_m)
            visit.save()
            if clean is not None:
                visit.photo.save(clean.name, clean, save=False)
                Visit.objects.filter(pk=visit.pk).update(photo=visit.photo.name)
            content = labelled(_("Visit (check-in)"), notes) if notes else _("Visit (check-in)")
            visit.followup = record_followup(
                actor=user, customer=customer, content=content, channel=FollowUp.Channel.VISIT, at=now
            )
            Visit.objects.filter(pk=visit.pk).update(followup=visit.followup)
            if remembered:
                update_customer(customer=customer, actor=user, latitude=latitude, longitude=longitude)
            learn_radius(visit, distance=0 if remembered else visit.distance_m)
            # the customer's check-in points (membership), once per visit
            registry.award_points(customer=customer, kind="check_in", reference=f"visit:{visit.pk}")
    except IntegrityError as exc:
        if visit.photo:
            visit.photo.storage.delete(visit.photo.name)
        open_visit = Visit.objects.filter(user=user, ended_at__isnull=True).select_related("customer").first()
        raise ValidationError(
            {
                "customer": _("Check out of your visit at %(name)s first.")
                % {"name": open_visit.customer.name if open_visit else ""}
            }
        ) from exc
    return visit


def _outside(customer, distance):
    if distance is None:
        return False
    learned = CheckInRadius.objects.filter(customer=customer).values_list("radius_m", flat=True).first()
    return distance > (learned or settings.FIELD_VISIT_RADIUS_M)


def learn_radius(visit, distance):
    """The customer's check-in radius from its first verified visit: the distance seen plus twice
    the fix's accuracy, at least 100 m and at most 2 km (rounded up to 10 m). Later visits keep it;
    the one-to-one row makes two first visits at once keep one."""
    if distance is None or visit.evidence_status != evidence.VERIFIED:
        return None
    if CheckInRadius.objects.filter(customer_id=visit.customer_id).exists():
        return None
    radius = min(2000, max(100, -(-(distance + 2 * (visit.accuracy_m or 0)) // 10) * 10))
    try:
        with transaction.atomic():
            learned = CheckInRadius.objects.create(customer_id=visit.customer_id, radius_m=radius, learned_from=visit)
    except IntegrityError:
        return None
    if visit.is_outside:
        Visit.objects.filter(pk=visit.pk).update(is_outside=False)
        visit.is_outside = False
    return learned


def check_out(*, visit, user, notes="", now=None) -> Visit:
    """End the visit and keep its duration. Only its own person checks out, once: a conditional
    UPDATE (``ended_at IS NULL``), so a second tap changes nothing and says so."""
    if visit.user_id != user.pk:
        raise ValidationError({"visit": _("Only the person who checked in can check out.")})
    now = max(now or timezone.now(), visit.started_at)
    minutes = int((now - visit.started_at).total_seconds() // 60)
    notes = (notes or "").strip()
    with transaction.atomic():
        updated = Visit.objects.filter(pk=visit.pk, ended_at__isnull=True).update(
            ended_at=now, duration_minutes=minutes, notes=(f"{visit.notes}\n{notes}".strip() if notes else visit.notes)
        )
        if not updated:
            raise ValidationError({"visit": _("This visit was already checked out.")})
        if visit.followup_id:
            followup = FollowUp.objects.select_for_update().get(pk=visit.followup_id)
            content = _("%(content)s (checked out after %(minutes)s min)") % {
                "content": followup.content,
                "minutes": minutes,
            }
            followup.content = content + (f"\n{notes}" if notes else "")
            followup.save(update_fields=["content"])
    visit.refresh_from_db()
    _audit(
        visit,
        user,
        {"ended_at": (None, timezone.localtime(visit.ended_at).isoformat()), "duration_minutes": (None, minutes)},
    )
    return visit


def _audit(obj, actor, changes):
    """An audit-log entry for a change written by a conditional UPDATE (no save signal)."""
    from auditlog.models import LogEntry

    LogEntry.objects.log_create(
        obj,
        force_log=True,
        action=LogEntry.Action.UPDATE,
        actor=actor,
        changes={name: [str(before), str(after)] for name, (before, after) in changes.items()},
    )
