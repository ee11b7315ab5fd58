"""积分兑换: points spent on a coupon of a chosen batch.

The spend and the claim are one transaction: when the batch refuses (sold out, over a limit,
outside its window) the points come back with the rollback, and no coupon is issued without
its points taken. The reference makes a retry return the first coupon's spend.
"""

from django.db import transaction
from django.utils.translation import gettext as _

from coupons.services.claims import claim
from crm.errors import DomainError

from ..models import Member, PointsEntry, PointsOffer
from . import points


@transaction.atomic
def redeem_offer(*, member: Member, offer: PointsOffer, reference: str, actor=None):
    """Spend ``offer.points`` and claim one coupon of its batch. Raises ``DomainError``
    (``insufficient_points``, ``offer_inactive``) or the batch's ``Conflict``."""
    if not offer.is_active:
        raise DomainError("offer_inactive", _("This offer is no longer available."))
    reference = f"offer:{reference}"[:100]
    if PointsEntry.objects.filter(member=member, reference=reference).exists():
        return None
    points.spend(
        member=member,
        points=offer.points,
        reason=(_("Coupon: %(batch)s") % {"batch": offer.batch.name})[:100],
        reference=reference,
    )
    return claim(batch_code=offer.batch.code, customer=member.customer, channel="sales")
