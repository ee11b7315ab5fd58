"""公海: the public pool page (leads and customers without an owner that the user may claim)."""

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from crm import permissions
from crm.models import DataScope, User
from crm.phone import mask_mobile
from crm.privacy import search_name_or_mobile
from crm.ui import PAGE_SIZES, search_text
from customers.models import Customer

from .. import services
from ..models import Lead, PoolMove
from ..services.pool import LET_GO_REASONS, PoolError, pool_q, private_count, rules_by_department

TABS = ("leads", "customers")


def _pool_annotations(subject):
    """When the record entered the pool (its last move to nobody) and who had it last."""
    moves = PoolMove.objects.filter(**{subject: OuterRef("pk")}).order_by("-at", "-id")
    return {
        "pool_since": Coalesce(Subquery(moves.filter(to_owner__isnull=True).values("at")[:1]), "created_at"),
        "last_owner_id": Subquery(moves.filter(from_owner__isnull=False).values("from_owner")[:1]),
    }


def _search(queryset, text, user):
    return search_name_or_mobile(queryset, user, text)


def _page_size(request):
    try:
        size = int(request.GET.get("per_page", PAGE_SIZES[0]))
    except ValueError:
        size = PAGE_SIZES[0]
    return size if size in PAGE_SIZES else PAGE_SIZES[0]


@login_required
def pool(request):
    """Two tabs, leads and customers in the pool the user sees (``pool_q``), with a Claim button
    per row, the user's count against the cap and the cool-down rule. Paginated; a fixed number
    of queries per page."""
    permissions.require(request.user, "sales.view")
    user = request.user
    tab = request.GET.get("tab") if request.GET.get("tab") in TABS else TABS[0]
    in_pool = pool_q(user)
    leads = Lead.objects.filter(in_pool, status__in=Lead.OPEN_STATUSES)
    customers = Customer.objects.filter(in_pool)
    text = search_text(request)
    leads, customers = _search(leads, text, request.user), _search(customers, text, request.user)
    counts = {"leads": leads.count(), "customers": customers.count()}
    if tab == "leads":
        rows = (
            leads.select_related("department")
            .annotate(**_pool_annotations("lead"))
            .order_by("grade", "-created_at", "-id")
        )
    else:
        rows = (
            customers.select_related("department")
            .annotate(**_pool_annotations("customer"))
            .order_by("-created_at", "-id")
        )
    paginator = Paginator(rows, _page_size(request))
    paginator.count = counts[tab]  # counted above; no second COUNT
    page = paginator.get_page(request.GET.get("page"))
    records = list(page.object_list)

    rules = rules_by_department()
    now = timezone.now()
    owners = User.objects.in_bulk({r.last_owner_id for r in records if r.last_owner_id})
    longest = max(
        (rules[r.department_id].reclaim_cooldown_days for r in records if r.department_id in rules), default=0
    )
    recent = {}
    if longest and records:
        subject = "lead_id" if tab == "leads" else "customer_id"
        for record_id, at in PoolMove.objects.filter(
            from_owner=user,
            reason__in=LET_GO_REASONS,
            at__gte=now - datetime.timedelta(days=longest),
            **{f"{subject}__in": [r.pk for r in records]},
        ).values_list(subject, "at"):
            recent[record_id] = max(at, recent.get(record_id, at))
    for record in records:
        record.masked_mobile = mask_mobile(record.mobile)
        record.last_owner = owners.get(record.last_owner_id)
        rule = rules.get(record.department_id)
        record.cooldown_until = None
        if rule and rule.reclaim_cooldown_days and record.pk in recent:
            until = recent[record.pk] + datetime.timedelta(days=rule.reclaim_cooldown_days)
            record.cooldown_until = until if until > now else None

    own_rule = rules.get(user.department_id)
    return render(
        request,
        "sales/pool/pool.html",
        {
            "tab": tab,
            "tabs": TABS,
            "counts": counts,
            "page": page,
            "records": records,
            "q": text,
            "per_page": paginator.per_page,
            "page_sizes": PAGE_SIZES,
            "rule": own_rule,
            "held": private_count(user),
            "link_records": permissions.effective_scope(user) != DataScope.SELF,
            "can_claim": permissions.can(user, "sales.change"),
            "next_url": request.get_full_path(),
        },
    )


def _claim_target_or_404(user, queryset, pk, visible, subject):
    """A record the user may try to claim: in their pool, in their scope, or one that was just
    claimed from a pool (so that the loser of a race reads "taken"). Anything else: 404."""
    record = queryset.filter(pk=pk).only("pk", "owner_id").first()
    if record is None:
        raise Http404
    if record.owner_id is None:
        if not queryset.filter(pool_q(user), pk=pk).exists():
            raise Http404
        return record
    if visible.filter(pk=pk).exists():
        return record
    last = PoolMove.objects.filter(**{subject: pk}).order_by("-at", "-id").values_list("reason", flat=True).first()
    if last != PoolMove.Reason.CLAIMED:
        raise Http404
    return record


def _back(request, default):
    target = request.POST.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return redirect(target)
    return redirect(default)


def _refused(request, exc, model, pk, yours):
    if exc.code == "taken" and model.objects.filter(pk=pk, owner=request.user).exists():
        messages.info(request, yours)
    else:
        messages.error(request, " ".join(exc.messages))


#: what the pool's claim and release pages say of each kind of record
YOURS_ALREADY = {
    "lead": gettext_lazy("This lead is yours already."),
    "customer": gettext_lazy("This customer is yours already."),
}


@login_required
@require_POST
def claim(request, pk, kind):
    """Take a lead or a customer from the pool (the loser of a race reads that it was taken)."""
    permissions.require(request.user, "sales.change")
    model = Lead if kind == "lead" else Customer
    visible = permissions.visible(request.user, model.objects.all())
    _claim_target_or_404(request.user, model.objects.all(), pk, visible, f"{kind}_id")
    try:
        record = services.claim_from_pool(user=request.user, model=model, pk=pk)
    except PoolError as exc:
        _refused(request, exc, model, pk, YOURS_ALREADY[kind])
    else:
        messages.success(request, _("%(name)s is yours now.") % {"name": record.name})
    return _back(request, reverse("sales:pool") + ("" if kind == "lead" else "?tab=customers"))


@login_required
@require_POST
def release(request, pk, kind):
    """The owner gives a lead or a customer back to the pool (the cool-down then applies to them).
    Afterwards a lead the user may still see (a manager's scope) opens again; otherwise its list."""
    permissions.require(request.user, "sales.change")
    model = Lead if kind == "lead" else Customer
    visible = permissions.visible(request.user, model.objects.select_related("owner", "department"))
    record = get_object_or_404(visible, pk=pk)
    try:
        services.release_to_pool(user=request.user, record=record)
    except PoolError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(record)
    messages.success(request, _("%(name)s went back to the public pool.") % {"name": record.name})
    if kind == "lead":
        return redirect(record) if visible.filter(pk=record.pk).exists() else redirect("sales:leads")
    return redirect(reverse("customers:list"))


urlpatterns = [
    path("pool/", pool, name="pool"),
    path("pool/leads/<int:pk>/claim/", claim, {"kind": "lead"}, name="pool_claim_lead"),
    path("pool/customers/<int:pk>/claim/", claim, {"kind": "customer"}, name="pool_claim_customer"),
    path("pool/customers/<int:pk>/release/", release, {"kind": "customer"}, name="pool_release_customer"),
    path("leads/<int:pk>/release/", release, {"kind": "lead"}, name="lead_release"),
]
