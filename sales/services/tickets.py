"""After-sales service tickets (售后): complaints, suggestions and service requests on a customer,
tracked from open to resolution; resolving may record the customer's CSAT (source "service"),
which feeds the customer's satisfaction level."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Satisfaction
from customers.services import record_satisfaction

from ..models import ServiceTicket

S = ServiceTicket.Status
OPEN_STATUSES = (S.OPEN, S.IN_PROGRESS)
EDITABLE_FIELDS = ("kind", "title", "description", "status", "owner", "due_at")


def _check_due(due_at, previous=None):
    if due_at is not None and due_at != previous and due_at <= timezone.now():
        raise ValidationError({"due_at": _("Choose a time in the future.")})


@transaction.atomic
def open_ticket(*, actor, customer, title, kind=ServiceTicket.Kind.REQUEST, description="", owner=None, due_at=None):
    """Open a ticket on ``customer``; the owner defaults to the actor. A title is required and a
    due time must be in the future (``ValidationError`` naming the field)."""
    title = (title or "").strip()
    if not title:
        raise ValidationError({"title": _("Enter a title.")})
    _check_due(due_at)
    ticket = ServiceTicket(
        customer=customer,
        kind=kind,
        title=title[:200],
        description=(description or "").strip(),
        owner=owner or actor,
        due_at=due_at,
        status=S.OPEN,
    )
    ticket.full_clean()
    ticket.save()
    return ticket


@transaction.atomic
def update_ticket(*, actor, ticket, **changes):
    """Edit a ticket's kind, title, description, owner, due time or status.

    Status rules: "resolved" is reached only through ``resolve_ticket`` (it needs the resolution);
    "closed" only from "resolved"; going back to open / in progress re-opens a resolved ticket
    (its resolution time is cleared, the resolution text kept)."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"update_ticket does not change {', '.join(sorted(unknown))}")
    ticket = ServiceTicket.objects.select_for_update().get(pk=ticket.pk)
    if "title" in changes:
        changes["title"] = (changes["title"] or "").strip()[:200]
        if not changes["title"]:
            raise ValidationError({"title": _("Enter a title.")})
    if "due_at" in changes:
        _check_due(changes["due_at"], previous=ticket.due_at)
    status = changes.get("status", ticket.status)
    if status != ticket.status:
        if status == S.RESOLVED:
            raise ValidationError({"status": _("Use “Resolve” and write the resolution.")})
        if status == S.CLOSED and ticket.status != S.RESOLVED:
            raise ValidationError({"status": _("Resolve the ticket before closing it.")})
        if status in OPEN_STATUSES:
            ticket.resolved_at = None
    for name, value in changes.items():
        setattr(ticket, name, value)
    ticket.full_clean()
    ticket.save()
    return ticket


@transaction.atomic
def resolve_ticket(*, actor, ticket, resolution, csat=None, comment=""):
    """Resolve an open or in-progress ticket with a written resolution. ``csat`` (1–5, optional)
    is recorded as the customer's satisfaction with source "service" through
    ``customers.services.record_satisfaction``; a ticket is resolved (and scored) once."""
    ticket = ServiceTicket.objects.select_for_update().select_related("customer").get(pk=ticket.pk)
    if ticket.status not in OPEN_STATUSES:
        raise ValidationError(_("This ticket is resolved already."))
    resolution = (resolution or "").strip()
    if not resolution:
        raise ValidationError({"resolution": _("Write how it was resolved.")})
    if csat is not None and not 1 <= int(csat) <= 5:
        raise ValidationError({"csat": _("CSAT scores go from 1 to 5.")})
    ticket.status = S.RESOLVED
    ticket.resolution = resolution
    ticket.resolved_at = timezone.now()
    ticket.save(update_fields=["status", "resolution", "resolved_at"])
    if csat is not None:
        record_satisfaction(
            customer=ticket.customer,
            kind=Satisfaction.Kind.CSAT,
            score=int(csat),
            source=Satisfaction.Source.SERVICE,
            comment=(comment or "").strip() or ticket.title,
            actor=actor,
        )
    return ticket
