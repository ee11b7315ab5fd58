"""What members adds to the 360 view: the points ledger on the timeline."""

from django.utils.translation import gettext_lazy as _

from customers import timeline

from .models import PointsEntry


def register():
    timeline.register(
        "points",
        _("Points"),
        lambda customer: timeline.entries(PointsEntry.objects.filter(member__customer=customer), "points", "at"),
        lambda ids: PointsEntry.objects.filter(pk__in=ids).select_related("member__tier"),
        "members/timeline/points.html",
        icon="bi-gem",
    )
