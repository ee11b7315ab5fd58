"""What contracts add to the lower layers: an active contract is a deal (成交) for the public
pool (``customers.deals``); the 360 view's contracts panel (``customers.timeline``); the contract
card of a won opportunity (``sales.opportunity_page``); the signed and collected amounts that
targets may count (``sales.metrics``)."""

from django.db.models import OuterRef, Subquery
from django.utils.translation import gettext_lazy as _

from crm import permissions
from customers import deals, timeline
from sales import metrics, opportunity_page

from . import selectors
from .models import Contract


def _latest_contract():

    return Subquery(
        Contract.objects.filter(customer=OuterRef("pk"), status=Contract.Status.ACTIVE, signed_at__isnull=False)
        .order_by("-signed_at")
        .values("signed_at")[:1]
    )


def _contracts_panel(customer, user):
    """The customer's contracts the user may see, with amount, received and overdue: one query."""
    items = list(selectors.with_overdue(selectors.contracts_for(user).filter(customer=customer))[:10])
    return {"items": items, "customer": customer}


def _opportunity_card(opportunity, user):
    """A won opportunity shows its contract, or the button that signs one (prefilled from it)."""
    contract = selectors.with_overdue(selectors.contracts_for(user).filter(opportunity=opportunity)).first()
    if contract is None and not opportunity.stage.is_won:
        return None
    return {
        "contract": contract,
        "opportunity": opportunity,
        "can_create": contract is None
        and permissions.can(user, "contracts.change")
        and permissions.is_visible(user, opportunity),
    }


def register():
    deals.register("contract", _latest_contract)
    timeline.register_panel("contracts", "contracts/panels/contracts.html", _contracts_panel)
    opportunity_page.register(
        "contract", "contracts/panels/opportunity_contract.html", _opportunity_card, place=opportunity_page.PANEL
    )
    metrics.register_amount_source("signed", _("Signed contract amount"), selectors.signed_amounts)
    metrics.register_amount_source("collected", _("Collected payments"), selectors.collected_amounts)
