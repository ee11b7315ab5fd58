"""Reads of partners, every one through the permission layer."""

from django.db.models import Count, Max, OuterRef, Q, QuerySet, Subquery, Sum

from crm import permissions
from crm.phone import mask_mobile
from customers.models import Customer, Order

from .models import (
    Attribution,
    DealerStore,
    GradeChange,
    LeadHandover,
    LeadRegistration,
    Partner,
    PartnerContact,
    PartnerFollowUp,
    PartnerStatus,
    Statement,
)

#: at most this many cards in one kanban column (the rest behind the list's filter)
BOARD_COLUMN_LIMIT = 50


def partners_for(user) -> QuerySet:
    return permissions.visible(user, Partner.objects.select_related("owner", "department"))


def contacts_for(user, partner: Partner) -> QuerySet:
    return permissions.visible(user, PartnerContact.objects.filter(partner=partner))


def follow_ups_for(user, partner: Partner) -> QuerySet:
    return permissions.visible(user, PartnerFollowUp.objects.filter(partner=partner).select_related("author"))


def board(user) -> list[dict]:
    """The pipeline's kanban: one column per status with its count and its most recent cards.
    Two queries whatever the number of partners (the counts, then the cards)."""
    visible = partners_for(user)
    counts = dict(visible.order_by().values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    cards = {status: [] for status in PartnerStatus.values}
    for partner in visible.order_by("status", "-updated_at", "-id"):
        column = cards[partner.status]
        if len(column) < BOARD_COLUMN_LIMIT:
            column.append(partner)
    return [
        {"status": status, "label": label, "count": counts.get(status, 0), "cards": cards[status]}
        for status, label in PartnerStatus.choices
    ]


# --- the partner portal: a partner user's own partner, through the permission layer ---------------

PORTAL_PAGE = 50


def portal_partner(user) -> Partner:
    """The partner of a partner user (the layer shows them their own only), or 404."""
    return permissions.get_visible_or_404(
        user, Partner.objects.select_related("owner"), pk=permissions.partner_id_of(user) or 0
    )


def portal_registrations(user) -> QuerySet:
    return permissions.visible(user, LeadRegistration.objects.all())


def portal_orders(user) -> QuerySet:
    """The orders attributed to the user's partner, newest first."""
    return permissions.visible(user, Attribution.objects.select_related("order__customer")).order_by(
        "-order__placed_at", "-order_id"
    )


def portal_customers(user) -> list[dict]:
    """The customers of the partner's attributed orders with their count, paid total and last order:
    one grouped query."""
    rows = (
        permissions.visible(user, Attribution.objects.all())
        .values("order__customer_id", "order__customer__name", "order__customer__mobile")
        .annotate(
            orders=Count("order_id", filter=Q(order__status="paid")),
            total=Sum("order__amount", filter=Q(order__status="paid")),
            last=Max("order__placed_at"),
        )
        .order_by("-last")[:PORTAL_PAGE]
    )
    return [
        {
            "name": r["order__customer__name"],
            "mobile": mask_mobile(r["order__customer__mobile"]),
            "orders": r["orders"],
            "total": r["total"] or 0,
            "last": r["last"],
        }
        for r in rows
    ]


def portal_handovers(user) -> QuerySet:
    """交给我的线索: the leads handed to the user's partner, newest first (the lead in the same query)."""
    return permissions.visible(user, LeadHandover.objects.select_related("lead")).order_by("-at", "-lead_id")


def handovers_for(user) -> QuerySet:
    """Hand-overs of the partners in the user's scope, newest first."""
    return permissions.visible(user, LeadHandover.objects.select_related("lead", "partner")).order_by("-at", "-lead_id")


def distribution_today(user) -> list[dict]:
    """Each active partner in the user's scope with its grade and the leads handed to it today."""
    from django.utils import timezone

    from .models import PartnerLeadDay

    today = timezone.localdate()
    handed = dict(PartnerLeadDay.objects.filter(day=today).values_list("partner_id", "handed"))
    partners = partners_for(user).filter(status=PartnerStatus.ACTIVE).order_by("grade", "name")[:200]
    return [{"partner": p, "handed": handed.get(p.pk, 0)} for p in partners]


def portal_statements(user) -> QuerySet:
    """The partner's statements once sent for approval (drafts are the channel manager's)."""
    return permissions.visible(user, Statement.objects.exclude(status=Statement.Status.DRAFT))


def portal_grades(user) -> QuerySet:
    return permissions.visible(user, GradeChange.objects.all())


def registrations_for(user) -> QuerySet:
    """Registrations of the partners in the channel manager's scope (the conflicts list)."""
    return permissions.visible(user, LeadRegistration.objects.select_related("partner"))


def network_of(dealer: Partner) -> list[int]:
    """The dealer and every dealer below it, at any depth (one query per level)."""
    ids, level = [dealer.pk], [dealer.pk]
    while level:
        level = list(Partner.objects.filter(parent_id__in=level).exclude(pk__in=ids).values_list("pk", flat=True))
        ids += level
    return ids


def dealer_stores(user, dealer: Partner, *, limit: int = 200) -> list:
    """The stores of a dealer's network with their last order, last visit and lifecycle stage:
    one query (the last order and visit are subqueries). ``dealer`` comes through the permission
    layer; whoever sees a dealer sees its whole network (the stores of the dealers below it too, as
    the roll-up counts them)."""
    # visits are the field app's; read through the customer's relation (no import of a sibling app)
    visits = Customer.objects.filter(pk=OuterRef("customer_id")).annotate(v=Max("visits__started_at")).values("v")[:1]
    orders = (
        Order.objects.filter(customer_id=OuterRef("customer_id"), status=Order.Status.PAID)
        .order_by("-placed_at")
        .values("placed_at")[:1]
    )
    return list(
        DealerStore.objects.filter(dealer_id__in=network_of(dealer))
        .select_related("customer", "dealer")
        .annotate(last_order=Subquery(orders), last_visit=Subquery(visits))
        .order_by("-last_order", "customer_id")[:limit]
    )


def network_rollup(dealer: Partner) -> dict:
    """Orders (paid, count and amount) and visits of the stores of a dealer's network."""
    ids = network_of(dealer)
    stores = DealerStore.objects.filter(dealer_id__in=ids).values("customer_id")
    orders = Order.objects.filter(customer_id__in=stores, status=Order.Status.PAID).aggregate(
        n=Count("id"), total=Sum("amount")
    )
    return {
        "stores": DealerStore.objects.filter(dealer_id__in=ids).count(),
        "dealers": len(ids),
        "orders": orders["n"],
        "gmv": orders["total"] or 0,
        "visits": Customer.objects.filter(pk__in=stores).aggregate(n=Count("visits"))["n"],
    }
