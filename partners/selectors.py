"""Reads of partners, every one through the permission layer."""

from django.db.models import Count, QuerySet

from crm import permissions

from .models import Partner, PartnerContact, PartnerFollowUp, PartnerStatus

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
