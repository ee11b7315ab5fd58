"""What members adds to the 360 view: the member card (tier, the tier's price benefit, points,
what the next tier takes, the points that expire first) and the points ledger on the timeline."""

from django.utils.translation import gettext_lazy as _

from customers import timeline

from . import selectors
from .models import Member, PointsEntry


def _member_card(customer, user):
    member = Member.objects.select_related("tier").filter(customer=customer).first()
    if member is None:
        return {"member": None}
    return {
        "member": member,
        "standing": selectors.standing(member),
        "price_benefits": selectors.price_benefits(member.tier),
    }


def register():
    timeline.register_panel("members", "members/panels/member.html", _member_card)
    timeline.register(
        "points",
        _("Points"),
        lambda customer: timeline.entries(PointsEntry.objects.filter(member__customer=customer), "points", "at"),
        lambda ids: PointsEntry.objects.filter(pk__in=ids).select_related("member__tier"),
        "members/timeline/points.html",
        icon="bi-gem",
    )
