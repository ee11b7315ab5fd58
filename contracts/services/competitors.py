"""竞品: competitors on an opportunity and "lost to competitor X"."""

from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from crm.errors import DomainError
from sales.models import Opportunity

from ..models import Competitor, CompetitorQuote


@transaction.atomic
def add_competitor(*, name: str, website: str = "", notes: str = "") -> Competitor:
    name = name.strip()
    if not name:
        raise DomainError("name", _("Enter a name."), fields={"name": _("Enter a name.")})
    try:
        with transaction.atomic():
            return Competitor.objects.create(name=name, website=website.strip(), notes=notes)
    except IntegrityError as exc:
        message = _("A competitor with this name exists.")
        raise DomainError("name_taken", message, fields={"name": message}) from exc


@transaction.atomic
def quote(*, opportunity, competitor: Competitor, price: Decimal | None) -> CompetitorQuote:
    """Record (or update) a competitor's quoted price on an opportunity."""
    if price is not None and price < 0:
        message = _("Enter a price of zero or more.")
        raise DomainError("price", message, fields={"price": message})
    row, _created = CompetitorQuote.objects.update_or_create(
        opportunity=opportunity, competitor=competitor, defaults={"price": price}
    )
    return row


@transaction.atomic
def mark_lost_to(*, opportunity, competitor: Competitor) -> CompetitorQuote:
    """输给竞品: the opportunity was lost to this competitor (one per opportunity); it writes the
    opportunity's lost reason as "Lost to competitor X"."""

    opportunity = Opportunity.objects.select_for_update().select_related("stage").get(pk=opportunity.pk)
    if not opportunity.stage.is_lost:
        message = _("Only a lost opportunity is lost to a competitor.")
        raise DomainError("not_lost", message, fields={"competitor": message})
    CompetitorQuote.objects.filter(opportunity=opportunity, lost_to=True).exclude(competitor=competitor).update(
        lost_to=False
    )
    row, _created = CompetitorQuote.objects.get_or_create(opportunity=opportunity, competitor=competitor)
    row.lost_to = True
    row.save(update_fields=["lost_to"])
    opportunity.lost_reason = (_("Lost to competitor %(name)s") % {"name": competitor.name})[:200]
    opportunity.save(update_fields=["lost_reason"])
    return row
