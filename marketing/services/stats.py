"""What campaigns produced: attribution (last touch within the window) and the campaign figures.

**Attribution rule.** A touch is a message sent to a person by a campaign, a click on it, or a
registration for one of its events. A lead, an opportunity or an order counts for the campaign whose
touch on that person came *last* before it, within ``MarketingSettings.attribution_days`` (30 by
default). A lead also counts when it was captured by an event registration. Each object counts for
at most one campaign. Beat runs :func:`attribute` every few minutes from a watermark, so the work
is proportional to what is new; :func:`refresh` then rolls the figures of each campaign into
``CampaignStats``, which the pages read (and show how fresh they are).
"""

import bisect
import datetime
import decimal
from collections import defaultdict

from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from coupons.models import Redemption
from customers.models import Order
from sales.models import Lead, Opportunity

from ..models import Attribution, Campaign, CampaignStats, MarketingSettings, Message, Registration

ZERO = decimal.Decimal("0.00")
CHUNK = 2000


def _touches(customer_ids, start, end):
    """customer id → sorted [(time, campaign id)] of campaign touches between start and end."""
    found = defaultdict(list)
    for cid, campaign_id, sent_at, clicked_at in Message.objects.filter(
        customer_id__in=customer_ids,
        campaign__isnull=False,
        status=Message.Status.SENT,
        sent_at__gte=start,
        sent_at__lte=end,
    ).values_list("customer_id", "campaign_id", "sent_at", "clicked_at"):
        found[cid].append((sent_at, campaign_id))
        if clicked_at:
            found[cid].append((clicked_at, campaign_id))
    for cid, campaign_id, registered_at, checked_in_at in (
        Registration.objects.filter(customer_id__in=customer_ids, registered_at__lte=end)
        .filter(Q(registered_at__gte=start) | Q(checked_in_at__gte=start))
        .values_list("customer_id", "campaign_id", "registered_at", "checked_in_at")
    ):
        found[cid].append((registered_at, campaign_id))
        if checked_in_at:
            found[cid].append((checked_in_at, campaign_id))
    for items in found.values():
        items.sort()
    return found


def _last_touch(touches, at, window):
    """The (time, campaign) of the last touch at or before ``at`` within ``window``, or None."""
    if not touches:
        return None
    i = bisect.bisect_right(touches, (at, float("inf")))
    if i == 0:
        return None
    touched_at, campaign_id = touches[i - 1]
    return (touched_at, campaign_id) if touched_at >= at - window else None


def _attribute_rows(rows, kind, window):
    """rows: (object id, customer id, time, amount). Writes Attribution rows, at most one per object."""
    rows = [r for r in rows if r[1]]
    if not rows:
        return 0
    touches = _touches({r[1] for r in rows}, min(r[2] for r in rows) - window, max(r[2] for r in rows))
    made = []
    for object_id, customer_id, at, amount in rows:
        last = _last_touch(touches.get(customer_id), at, window)
        if last:
            made.append(
                Attribution(
                    campaign_id=last[1],
                    kind=kind,
                    object_id=object_id,
                    customer_id=customer_id,
                    amount=amount or ZERO,
                    at=at,
                    touched_at=last[0],
                )
            )
    Attribution.objects.bulk_create(made, ignore_conflicts=True)
    return len(made)


def attribute(*, now=None):
    """Attribute what appeared since the watermark. Returns the number of attributions made."""
    now = now or timezone.now()
    with transaction.atomic():
        settings = MarketingSettings.objects.select_for_update().get(pk=MarketingSettings.current().pk)
        window = datetime.timedelta(days=settings.attribution_days)
        since = settings.attributed_until
        if since is None:
            first = Campaign.objects.order_by("start").values_list("start", flat=True).first()
            if first is None:
                settings.attributed_until = now
                settings.save(update_fields=["attributed_until"])
                return 0
            since = timezone.make_aware(datetime.datetime.combine(first, datetime.time.min))
        touched = Message.objects.filter(status=Message.Status.SENT).values("customer_id")
        registered = Registration.objects.filter(customer__isnull=False).values("customer_id")
        made = 0
        orders = (
            Order.objects.filter(created_at__gt=since, created_at__lte=now, status=Order.Status.PAID)
            .filter(Q(customer_id__in=touched) | Q(customer_id__in=registered))
            .values_list("pk", "customer_id", "placed_at", "amount")
            .order_by("pk")
        )
        made += _chunked(orders, Attribution.Kind.ORDER, window)
        opportunities = (
            Opportunity.objects.filter(created_at__gt=since, created_at__lte=now)
            .filter(Q(customer_id__in=touched) | Q(customer_id__in=registered))
            .values_list("pk", "customer_id", "created_at", "amount")
            .order_by("pk")
        )
        made += _chunked(opportunities, Attribution.Kind.OPPORTUNITY, window)
        # leads captured by an event registration count for that event's campaign
        direct = [
            Attribution(
                campaign_id=r.campaign_id,
                kind=Attribution.Kind.LEAD,
                object_id=r.lead_id,
                at=r.registered_at,
                touched_at=r.registered_at,
            )
            for r in Registration.objects.filter(
                lead__isnull=False, lead__created_at__gt=since, lead__created_at__lte=now
            )
        ]
        Attribution.objects.bulk_create(direct, ignore_conflicts=True)
        made += len(direct)
        # other leads of known (touched) customers: by the lead's matching customer
        leads = (
            Lead.objects.filter(created_at__gt=since, created_at__lte=now, existing_customer__isnull=False)
            .filter(Q(existing_customer_id__in=touched) | Q(existing_customer_id__in=registered))
            .values_list("pk", "existing_customer_id", "created_at")
            .order_by("pk")
        )
        made += _chunked(((pk, cid, at, ZERO) for pk, cid, at in leads.iterator()), Attribution.Kind.LEAD, window)
        settings.attributed_until = now
        settings.save(update_fields=["attributed_until"])
    return made


def _chunked(rows, kind, window):
    made, chunk = 0, []
    iterator = rows.iterator() if hasattr(rows, "iterator") else rows
    for row in iterator:
        chunk.append(row)
        if len(chunk) >= CHUNK:
            made += _attribute_rows(chunk, kind, window)
            chunk = []
    return made + _attribute_rows(chunk, kind, window)


def _ratio(numerator, denominator):
    if not denominator:
        return None
    return (decimal.Decimal(numerator) / decimal.Decimal(denominator)).quantize(decimal.Decimal("0.01"))


def _money(value):
    return decimal.Decimal(value or 0).quantize(decimal.Decimal("0.01"))


def figures(campaign):
    """Compute a campaign's figures (a handful of grouped, indexed queries)."""
    by_channel = {}
    totals = {"reached": 0, "failed": 0, "opened": 0, "clicked": 0}
    for row in (
        Message.objects.filter(campaign=campaign)
        .values("channel")
        .annotate(
            reached=Count("pk", filter=Q(status=Message.Status.SENT)),
            failed=Count("pk", filter=Q(status=Message.Status.FAILED)),
            opened=Count("pk", filter=Q(opened_at__isnull=False) | Q(clicked_at__isnull=False)),
            clicked=Count("pk", filter=Q(clicked_at__isnull=False)),
        )
    ):
        by_channel[row["channel"]] = {k: row[k] for k in totals}
        for key in totals:
            totals[key] += row[key]
    registrations = Registration.objects.filter(campaign=campaign).exclude(status=Registration.Status.CANCELLED)
    reg = registrations.aggregate(
        registered=Count("pk"), attended=Count("pk", filter=Q(status=Registration.Status.ATTENDED))
    )
    by_event = {
        str(row["event_id"]): {"registered": row["registered"], "attended": row["attended"]}
        for row in registrations.values("event_id").annotate(
            registered=Count("pk"), attended=Count("pk", filter=Q(status=Registration.Status.ATTENDED))
        )
    }
    attributed = {
        row["kind"]: row
        for row in Attribution.objects.filter(campaign=campaign)
        .values("kind")
        .annotate(n=Count("pk"), amount=Sum("amount"))
    }
    lead_ids = Attribution.objects.filter(campaign=campaign, kind=Attribution.Kind.LEAD).values("object_id")
    converted = Lead.objects.filter(pk__in=lead_ids, status=Lead.Status.CONVERTED).count()
    opportunity_ids = Attribution.objects.filter(campaign=campaign, kind=Attribution.Kind.OPPORTUNITY).values(
        "object_id"
    )
    won = Opportunity.objects.filter(pk__in=opportunity_ids, stage__is_won=True).count()
    deals = attributed.get(Attribution.Kind.ORDER, {}).get("n", 0)
    gmv = _money(attributed.get(Attribution.Kind.ORDER, {}).get("amount"))
    coupon_cost = _money(
        Redemption.objects.filter(coupon__batch__in=campaign.batches.all(), reversed_at__isnull=True).aggregate(
            s=Sum("subsidy")
        )["s"]
    )
    cost = _money(campaign.spent) + coupon_cost
    leads = attributed.get(Attribution.Kind.LEAD, {}).get("n", 0)
    return {
        **totals,
        **reg,
        "leads": leads,
        "leads_converted": converted,
        "opportunities": attributed.get(Attribution.Kind.OPPORTUNITY, {}).get("n", 0),
        "opportunities_won": won,
        "deals": deals,
        "gmv": str(gmv),
        "coupon_cost": str(coupon_cost),
        "spent": str(campaign.spent or ZERO),
        "cost": str(cost),
        "cost_per_lead": str(_ratio(cost, leads)) if leads else None,
        "cost_per_deal": str(_ratio(cost, deals)) if deals else None,
        "roi": str(_ratio(gmv - cost, cost)) if cost else None,
        "by_channel": by_channel,
        "by_event": by_event,
    }


def refresh(campaign_id, *, now=None):
    campaign = Campaign.objects.get(pk=campaign_id)
    data = figures(campaign)
    CampaignStats.objects.update_or_create(
        campaign=campaign, defaults={"figures": data, "refreshed_at": now or timezone.now()}
    )
    return data


def refresh_recent(*, now=None, days=60):
    """Beat: attribute what is new, then refresh every campaign that ran in the last ``days``."""
    now = now or timezone.now()
    attribute(now=now)
    recent = Campaign.objects.filter(end__gte=(now - datetime.timedelta(days=days)).date()).exclude(
        status__in=[Campaign.Status.DRAFT, Campaign.Status.SUBMITTED, Campaign.Status.REJECTED]
    )
    count = 0
    for campaign_id in recent.values_list("pk", flat=True):
        refresh(campaign_id, now=now)
        count += 1
    return count
