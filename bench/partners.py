"""Partner scenarios: the partner list and a dealer's store network (the channel manager's pages),
and the portal pages of the demo's partner user ``partner1``. Target: ≤ 150 ms median server time
on the large set (``bench.partners_data`` adds 500 partners, 20,000 stores, 200,000 attributed
orders), with query counts that do not grow with the data."""

from bench.scenarios import Scenario, register
from partners.models import DealerStore, Statement


def _dealer_stores_url(ctx):
    store = DealerStore.objects.order_by("dealer_id").first()
    return f"/partners/{store.dealer_id}/stores/" if store else "/partners/"


def _portal_statement_url(ctx):
    statement = Statement.objects.filter(partner__users__user__username="partner1").exclude(status="draft").first()
    return f"/portal/statements/{statement.pk}/" if statement else "/portal/statements/"


register(
    Scenario("partners.list", "director", "/partners/"),
    Scenario("partners.board", "director", "/partners/board/"),
    Scenario("partners.registrations", "director", "/partners/registrations/?status=conflict"),
    Scenario("partners.stores", "admin", _dealer_stores_url),
    Scenario("portal.home", "partner1", "/portal/"),
    Scenario("portal.registrations", "partner1", "/portal/registrations/"),
    Scenario("portal.orders", "partner1", "/portal/orders/"),
    Scenario("portal.statements", "partner1", "/portal/statements/"),
    Scenario("portal.statement", "partner1", _portal_statement_url),
    Scenario("portal.grade", "partner1", "/portal/grade/"),
)
