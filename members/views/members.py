"""Membership pages: the member list and a member's page (tier, tier history, points ledger,
projected tier and points to the next tier), and points spent on a coupon from there."""

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm import permissions
from crm.errors import DomainError
from crm.privacy import search_name_or_mobile
from crm.ui import search_text

from .. import selectors
from ..models import PointsOffer, Tier
from ..services import offers

PAGE_SIZE = 50


class BoundedPaginator(Paginator):
    """Pages over at most ``cap`` rows. A member is in a user's data scope by its customer's owner
    and department, which the member row does not carry: counting every member in scope would join
    every one of them to its customer. The count stops at ``cap + 1`` rows instead (``SELECT
    count(*) FROM (… LIMIT cap + 1)``), under the same scope as the page; ``capped`` says there are
    more (searching or the tier filter narrows the list)."""

    cap = 10_000

    @cached_property
    def _bounded(self):
        found = self.object_list.order_by()[: self.cap + 1].count()
        return min(found, self.cap), found > self.cap

    @property
    def count(self):
        return self._bounded[0]

    @property
    def capped(self):
        return self._bounded[1]


@login_required
def member_list(request: HttpRequest) -> HttpResponse:
    permissions.require(request.user, "members.view")
    query = search_text(request, limit=50)
    members = search_name_or_mobile(
        selectors.members_for(request.user),
        request.user,
        query,
        name_field="customer__name",
        mobile_field="customer__mobile",
    )
    tier = request.GET.get("tier", "")
    if tier.isdigit() and int(tier) < 2**31:
        members = members.filter(tier_id=int(tier))
    page = BoundedPaginator(members.order_by("-points", "id"), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "members/list.html",
        {
            "page": page,
            "query": query,
            "tiers": Tier.objects.all(),
            "tier": tier,
            "can_configure": permissions.can(request.user, "members.configure"),
        },
    )


@login_required
def member_detail(request: HttpRequest, pk: int) -> HttpResponse:
    permissions.require(request.user, "members.view")
    member = get_object_or_404(selectors.members_for(request.user), pk=pk)
    return render(
        request,
        "members/detail.html",
        {
            "member": member,
            "standing": selectors.standing(member),
            "history": selectors.tier_history(member),
            "ledger": selectors.ledger(member),
            "offers": selectors.offers(),
            "can_spend": permissions.can(request.user, "members.points")
            and permissions.is_visible(request.user, member),
            "reference": uuid.uuid4().hex,
        },
    )


@login_required
@require_POST
def redeem(request: HttpRequest, pk: int) -> HttpResponse:
    permissions.require(request.user, "members.points")
    member = get_object_or_404(selectors.members_for(request.user), pk=pk)
    offer_id = request.POST.get("offer", "")
    offer = (
        PointsOffer.objects.select_related("batch").filter(pk=int(offer_id)).first()
        if offer_id.isdigit() and int(offer_id) < 2**31
        else None
    )
    reference = (request.POST.get("reference") or "").strip()[:60]
    if offer is None or not reference:
        messages.error(request, _("Choose a coupon."))
        return redirect(member)
    try:
        coupon = offers.redeem_offer(member=member, offer=offer, reference=reference, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if coupon is None:
            messages.info(request, _("This exchange is already done."))
        else:
            messages.success(
                request,
                _("%(points)s points exchanged for coupon %(code)s.")
                % {"points": f"{offer.points:,}", "code": coupon.code},
            )
    return redirect(member)
