"""线索分配给合作伙伴: new leads nobody owns are handed to active partners by the rule an admin sets
(``LeadDistributionRule``), weighted by the partner's grade, and the partner reports what came of
each (contacted, converted, invalid) in the portal.

The choice is a smooth weighted round-robin (as nginx balances upstreams): every partner with room
today adds its grade's weight to its running credit, the one with the most credit (the lowest id on
a tie) gets the lead and gives back the sum of the weights. It is deterministic, and over any run
of leads each partner gets its weight's share, spread out rather than in bursts.

Concurrency: a hand-over locks the lead, then every taking part partner's credit row in id order
(so two hand-overs queue instead of deadlocking or both reading the same credits); the day's count
is raised by a conditional UPDATE (``handed < cap``) and the database refuses a count above the cap
(``partner_lead_day_within_cap``); the lead is the hand-over's primary key, so it is handed once."""

from dataclasses import dataclass

from auditlog.models import LogEntry
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from crm.errors import Conflict, Invalid
from crm.notifications import notify
from customers import regions
from sales.models import Lead, PoolMove

from ..models import (
    LeadDistributionRule,
    LeadHandover,
    Partner,
    PartnerLeadCursor,
    PartnerLeadDay,
    PartnerStatus,
)

#: the outcomes a partner may report, from each outcome (converted and invalid are final)
OUTCOME_MOVES = {
    LeadHandover.Outcome.PENDING: (
        LeadHandover.Outcome.CONTACTED,
        LeadHandover.Outcome.CONVERTED,
        LeadHandover.Outcome.INVALID,
    ),
    LeadHandover.Outcome.CONTACTED: (LeadHandover.Outcome.CONVERTED, LeadHandover.Outcome.INVALID),
    LeadHandover.Outcome.CONVERTED: (),
    LeadHandover.Outcome.INVALID: (),
}
#: the lead's status once the partner reports an outcome (a converted lead waits, qualified, for
#: the channel manager to convert it into a customer)
LEAD_STATUS = {
    LeadHandover.Outcome.CONTACTED: Lead.Status.CONTACTED,
    LeadHandover.Outcome.CONVERTED: Lead.Status.QUALIFIED,
    LeadHandover.Outcome.INVALID: Lead.Status.INVALID,
}
BACKLOG_BATCH = 500


def eligible_leads_q(rule: LeadDistributionRule) -> Q:
    """The leads the rule hands out: new, owned by nobody, not a duplicate, not handed yet, from
    the rule's source and region when it names them."""
    q = Q(
        owner__isnull=True,
        status=Lead.Status.NEW,
        duplicate_of__isnull=True,
        anonymized_at__isnull=True,
        handover__isnull=True,
    )
    if rule.source:
        q &= Q(source=rule.source)
    if rule.region:
        q &= regions.in_region_q(rule.region, "region_code")
    return q


@dataclass
class _Pick:
    partner: Partner
    weight: int


def _participants(rule: LeadDistributionRule) -> list[_Pick]:
    partners = Partner.objects.filter(status=PartnerStatus.ACTIVE).select_related("owner").order_by("pk")
    return [_Pick(p, rule.weight_of(p.grade)) for p in partners if rule.weight_of(p.grade) > 0]


def _choose(rule: LeadDistributionRule, day) -> _Pick | None:
    """The partner the next lead goes to, its credit and the day's count updated; None when no
    active partner has a weight and room today. Inside the caller's transaction."""
    picks = _participants(rule)
    if not picks:
        return None
    ids = [p.partner.pk for p in picks]
    PartnerLeadCursor.objects.bulk_create([PartnerLeadCursor(partner_id=i) for i in ids], ignore_conflicts=True)
    credits = {
        c.partner_id: c for c in PartnerLeadCursor.objects.select_for_update().filter(partner_id__in=ids).order_by("pk")
    }
    if rule.daily_cap is not None:
        PartnerLeadDay.objects.bulk_create(
            [PartnerLeadDay(partner_id=i, day=day, cap=rule.daily_cap) for i in ids], ignore_conflicts=True
        )
        handed = dict(PartnerLeadDay.objects.filter(partner_id__in=ids, day=day).values_list("partner_id", "handed"))
        picks = [p for p in picks if handed.get(p.partner.pk, 0) < rule.daily_cap]
        if not picks:
            return None
    total = sum(p.weight for p in picks)
    for p in picks:
        credits[p.partner.pk].credit += p.weight
    chosen = max(picks, key=lambda p: (credits[p.partner.pk].credit, -p.partner.pk))
    credits[chosen.partner.pk].credit -= total
    PartnerLeadCursor.objects.bulk_update([credits[p.partner.pk] for p in picks], ["credit"])
    counted = PartnerLeadDay.objects.filter(partner=chosen.partner, day=day)
    if rule.daily_cap is not None:
        counted = counted.filter(handed__lt=rule.daily_cap)
    if not counted.update(handed=F("handed") + 1, cap=rule.daily_cap):
        if rule.daily_cap is not None:
            return None  # (unreachable while the credit rows are locked: kept as the rule's guard)
        PartnerLeadDay.objects.create(partner=chosen.partner, day=day, handed=1)
    return chosen


@transaction.atomic
def hand_over_lead(*, lead: Lead, rule: LeadDistributionRule | None = None, reason: str) -> LeadHandover | None:
    """Hand ``lead`` to the partner the rule's weighted round-robin picks: the lead goes to the
    partner's channel manager (so no rep claims it from the pool), the move is kept in the lead's
    history with the rule as its author, the hand-over in the audit log, and the channel manager is
    told. None when the rule is off, the lead is not eligible (any more), or no partner has room."""
    rule = rule or LeadDistributionRule.current()
    if not rule.is_active:
        return None
    lead = Lead.objects.select_for_update(of=("self",)).filter(eligible_leads_q(rule), pk=lead.pk).first()
    if lead is None:
        return None
    now = timezone.now()
    pick = _choose(rule, timezone.localdate(now))
    if pick is None:
        return None
    partner = pick.partner
    handover = LeadHandover.objects.create(
        lead=lead, partner=partner, reason=reason, grade=partner.grade, weight=pick.weight, at=now
    )
    Lead.objects.filter(pk=lead.pk).update(
        owner=partner.owner_id,
        department=partner.department_id,
        status=Lead.Status.ASSIGNED,
        assigned_at=now,
        updated_at=now,
    )
    PoolMove.objects.create(lead=lead, to_owner_id=partner.owner_id, reason=PoolMove.Reason.ASSIGNED, at=now)
    why = _("Lead distribution: handed to partner %(partner)s (grade %(grade)s, weight %(weight)s)") % {
        "partner": partner.name,
        "grade": partner.grade,
        "weight": pick.weight,
    }
    LogEntry.objects.log_create(
        lead,
        action=LogEntry.Action.UPDATE,
        changes={
            "owner": [None, str(partner.owner_id)],
            "department": [str(lead.department_id) if lead.department_id else None, str(partner.department_id)],
            "status": [lead.status, Lead.Status.ASSIGNED],
        },
        additional_data={
            "by": {"kind": "rule", "name": why, "model": rule._meta.label_lower, "id": rule.pk},
            "partner": partner.pk,
            "reason": reason,
        },
    )
    notify(
        recipient=partner.owner,
        title=_("Lead %(lead)s handed to partner %(partner)s") % {"lead": lead.name, "partner": partner.name},
        body=why,
        url=lead.get_absolute_url(),
        kind="partner_lead_handed",
    )
    return handover


def on_lead_captured(lead: Lead) -> None:
    """The lead intake's hook (customers.registry): a new lead no assignment rule took."""
    hand_over_lead(lead=lead, reason=LeadHandover.Reason.NEW_LEAD)


def distribute_backlog(*, limit: int = BACKLOG_BATCH) -> int:
    """Hand the oldest eligible leads out, one transaction each, until the batch is done or no
    partner has room today. Returns how many were handed. Safe to run twice (and beside new leads)."""
    rule = LeadDistributionRule.current()
    if not rule.is_active:
        return 0
    ids = list(Lead.objects.filter(eligible_leads_q(rule)).order_by("created_at", "id").values_list("pk", flat=True))
    handed = 0
    for pk in ids[:limit]:
        if hand_over_lead(lead=Lead(pk=pk), rule=rule, reason=LeadHandover.Reason.BACKLOG) is None:
            if not _participants(rule) or _all_full(rule):
                break
            continue
        handed += 1
    return handed


def _all_full(rule: LeadDistributionRule) -> bool:
    if rule.daily_cap is None:
        return False
    ids = [p.partner.pk for p in _participants(rule)]
    day = timezone.localdate()
    full = PartnerLeadDay.objects.filter(partner_id__in=ids, day=day, handed__gte=rule.daily_cap).count()
    return full == len(ids)


@transaction.atomic
def save_rule(*, rule: LeadDistributionRule, actor) -> LeadDistributionRule:
    """Store the admin's rule (one row; the audit log keeps each change)."""
    rule.pk = 1
    rule.full_clean()
    rule.save()
    return rule


@transaction.atomic
def record_outcome(*, handover: LeadHandover, outcome: str, actor) -> LeadHandover:
    """The partner reports what came of a lead handed to it: contacted, then converted or invalid
    (both final). The lead's status follows (``LEAD_STATUS``) and counts as followed up; a
    conversion is told to the channel manager, who turns the lead into a customer.

    Raises ``Invalid("outcome")`` for a move ``OUTCOME_MOVES`` does not allow, and
    ``Conflict("outcome_changed")`` when someone of the partner recorded another outcome meanwhile."""
    seen = handover.outcome
    if outcome not in OUTCOME_MOVES.get(seen, ()):
        raise Invalid(
            gettext_noop("This outcome cannot be recorded for the lead now."),
            code="outcome",
            fields={"outcome": gettext_noop("This outcome cannot be recorded for the lead now.")},
        )
    locked = LeadHandover.objects.select_for_update().select_related("lead", "partner__owner").get(pk=handover.pk)
    if locked.outcome != seen:
        raise Conflict("outcome_changed", gettext_noop("Another outcome was recorded meanwhile; reload the page."))
    now = timezone.now()
    locked.outcome, locked.outcome_at, locked.outcome_by = outcome, now, actor
    locked.save(update_fields=["outcome", "outcome_at", "outcome_by"])
    lead = locked.lead
    lead.status = LEAD_STATUS[outcome]
    lead.last_followup_at = now
    lead.save(update_fields=["status", "last_followup_at", "updated_at"])
    if outcome == LeadHandover.Outcome.CONVERTED:
        notify(
            recipient=locked.partner.owner,
            title=_("Partner %(partner)s converted lead %(lead)s")
            % {"partner": locked.partner.name, "lead": lead.name},
            url=lead.get_absolute_url(),
            kind="partner_lead_converted",
        )
    return locked
