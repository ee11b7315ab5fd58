"""Leads: capture (UI, import, API), scoring and grading, assignment, conversion."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from crm import permissions
from crm.db import advisory_lock
from crm.models import User
from crm.phone import normalize_mobile
from customers import regions, registry
from customers.models import Customer, CustomerTag, Tag
from customers.services import add_tags, create_customer, tags_by_name
from customers.services.sources import check_source

from ..models import AssignmentRule, Grade, Lead, PoolMove, RoundRobinCursor, SalesSettings, ScoringRule
from .automation import on_lead_assigned
from .followups import mark_inbound
from .opportunities import open_opportunity


def score_of(lead, rules=None, *, tag_names=None):
    """The sum of the points of every active scoring rule the lead meets. ``tag_names``: the
    lead's tag names when it is not saved yet (an import's preview); else they are read."""
    rules = list(rules if rules is not None else ScoringRule.objects.filter(is_active=True))
    score = 0
    extra, now = registry.lead_criteria(), timezone.now()
    for rule in rules:
        c, v = rule.criterion, rule.value.strip()
        if c == ScoringRule.Criterion.SOURCE:
            hit = lead.source == v
        elif c == ScoringRule.Criterion.HAS_MOBILE:
            hit = bool(lead.mobile)
        elif c == ScoringRule.Criterion.HAS_EMAIL:
            hit = bool(lead.email)
        elif c == ScoringRule.Criterion.HAS_REGION:
            hit = bool(lead.region)
        elif c == ScoringRule.Criterion.HAS_NEED:
            hit = bool(lead.need.strip())
        elif c == ScoringRule.Criterion.VISITS_AT_LEAST:
            hit = lead.visits >= _at_least(v)
        elif c == ScoringRule.Criterion.EVENTS_AT_LEAST:
            hit = lead.events_attended >= _at_least(v)
        elif c == ScoringRule.Criterion.HAS_TAG:
            if tag_names is None:
                tag_names = set(lead.tags.values_list("name", flat=True)) if lead.pk else set()
            hit = v in tag_names
        elif c in extra:
            hit = extra[c]["test"](lead, v, now)
        else:
            hit = False
        if hit:
            score += rule.points
    return score


def _at_least(value):
    """The number of a "visits/events at least" rule (1 when empty or not a number)."""
    value = (value or "").strip()
    return int(value) if value.isdigit() else 1


def grade_of(score, settings=None):
    settings = settings or SalesSettings.current()
    if score >= settings.grade_a:
        return Grade.A
    if score >= settings.grade_b:
        return Grade.B
    if score >= settings.grade_c:
        return Grade.C
    return Grade.D


def rescore(lead, *, save=True):
    """Recompute score and grade (called whenever the lead changes)."""
    lead.score = score_of(lead)
    lead.grade = grade_of(lead.score)
    if save:
        Lead.objects.filter(pk=lead.pk).update(score=lead.score, grade=lead.grade)
    return lead


def find_duplicate(mobile, *, exclude_pk=None):
    """An open lead or a customer with the same normalized mobile: (lead, customer)."""
    if not mobile:
        return None, None
    lead = (
        Lead.objects.filter(mobile=mobile, status__in=Lead.OPEN_STATUSES)
        .exclude(pk=exclude_pk)
        .order_by("created_at")
        .first()
    )
    customer = Customer.objects.filter(mobile=mobile).order_by("id").first()
    return lead, customer


def _round_robin(team):
    """The next active member of ``team`` after the last one served (row lock on the cursor)."""
    members = list(
        User.objects.filter(department=team, is_active=True, is_service=False, role="rep")
        .order_by("id")
        .values_list("id", flat=True)
    )
    if not members:
        return None
    cursor, _created = RoundRobinCursor.objects.select_for_update().get_or_create(team=team)
    following = [m for m in members if cursor.last_user_id is None or m > cursor.last_user_id]
    chosen = following[0] if following else members[0]
    cursor.last_user_id = chosen
    cursor.save(update_fields=["last_user"])
    return User.objects.get(pk=chosen)


def choose_owner(lead):
    """The first active assignment rule that matches decides: a user, or round-robin in a team. A rule
    with a region takes leads whose region code lies in it (customers.regions.in_region)."""
    for rule in AssignmentRule.objects.filter(is_active=True).select_related("team", "user"):
        if rule.grade and rule.grade != lead.grade:
            continue
        if rule.source and rule.source != lead.source:
            continue
        if rule.region and not regions.in_region(lead.region_code, rule.region):
            continue
        if rule.user_id:
            return rule.user
        if rule.team_id:
            return _round_robin(rule.team)
    return None


def _assign(lead, owner, *, by=None, reason=PoolMove.Reason.ASSIGNED):
    previous = lead.owner_id
    lead.owner = owner
    lead.department_id = owner.department_id if owner else lead.department_id
    lead.assigned_at = timezone.now()
    if lead.status == Lead.Status.NEW:
        lead.status = Lead.Status.ASSIGNED
    lead.save()
    PoolMove.objects.create(lead=lead, from_owner_id=previous, to_owner=owner, reason=reason, by=by)

    on_lead_assigned(lead)


@transaction.atomic
def capture_lead(
    *,
    name,
    mobile="",
    source=Customer.Source.OTHER,
    note="",
    need="",
    region="",
    email="",
    tags=(),
    external_id="",
    client=None,
    actor=None,
    owner=None,
    department=None,
    assign=True,
):
    """One inbox for every channel. Normalizes the mobile, records a duplicate (linked, never
    assigned a second time), scores and grades the lead, then assigns it by rule."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Enter a name.")})
    mobile = normalize_mobile(mobile) if mobile else ""

    source = check_source(source)
    if mobile:
        advisory_lock("lead-mobile", mobile)  # two captures of one new mobile: the second sees the first
    duplicate_lead, existing_customer = find_duplicate(mobile)
    lead = Lead(
        name=name[:100],
        mobile=mobile,
        source=source,
        note=note,
        need=need,
        region=region[:100],
        email=email,
        external_id=external_id or "",
        client=client,
        duplicate_of=duplicate_lead,
        existing_customer=existing_customer,
        department=department or (client.department if client else None) or (actor.department if actor else None),
    )
    lead.full_clean(exclude=["client", "owner", "department", "duplicate_of", "existing_customer", "customer"])
    if duplicate_lead is not None:
        lead.status = Lead.Status.DUPLICATE
    lead.save()
    if tags:
        lead.tags.set(tags_by_name(tags, create=True))
    rescore(lead)
    if duplicate_lead is not None:
        # the earlier lead gets the engagement; its owner is told, nobody new is assigned
        Lead.objects.filter(pk=duplicate_lead.pk).update(visits=duplicate_lead.visits + 1)
        rescore(Lead.objects.get(pk=duplicate_lead.pk))
        return lead
    if existing_customer is not None:
        mark_inbound(customer=existing_customer)  # an inbound lead lifts "resting"
        if existing_customer.owner_id:
            _assign(lead, existing_customer.owner, by=actor)
            return lead
    if owner is not None:
        _assign(lead, owner, by=actor)
    elif assign:
        chosen = choose_owner(lead)
        if chosen is not None:
            _assign(lead, chosen, by=actor)
        else:
            registry.lead_captured(lead)  # e.g. handed to a partner by the distribution rule
    return lead


@transaction.atomic
def update_lead(*, lead, actor, **fields):
    for name, value in fields.items():
        setattr(lead, name, value)
    if "mobile" in fields and lead.mobile:
        lead.mobile = normalize_mobile(lead.mobile)
    lead.full_clean(exclude=["client", "duplicate_of", "existing_customer", "customer"])
    lead.save()
    return rescore(lead)


@transaction.atomic
def assign_leads(*, actor, leads, owner):
    """A manager assigns or re-assigns leads by hand (within their scope)."""
    if owner.pk not in set(permissions.assignable_users(actor).values_list("pk", flat=True)):
        raise ValidationError(_("You cannot assign records to %(user)s.") % {"user": owner})
    count = 0
    for lead in leads.select_for_update(of=("self",)):
        if lead.owner_id != owner.pk:
            _assign(
                lead, owner, by=actor, reason=PoolMove.Reason.REASSIGNED if lead.owner_id else PoolMove.Reason.ASSIGNED
            )
            count += 1
    return count


@transaction.atomic
def convert_lead(*, lead, actor, opportunity_name="", opportunity_amount=None):
    """Turn a lead into a customer (or link it to the existing one) and optionally open an
    opportunity; every follow-up and tag of the lead moves over, and the lead keeps the link."""
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    if lead.status == Lead.Status.CONVERTED:
        raise ValidationError(_("This lead was converted already."))
    customer = lead.existing_customer or (Customer.objects.filter(mobile=lead.mobile).first() if lead.mobile else None)
    if customer is None:
        customer = create_customer(
            actor=actor,
            allow_duplicate=True,
            name=lead.name,
            mobile=lead.mobile,
            email=lead.email,
            region=lead.region_code or lead.region,
            source=lead.source,
            owner=lead.owner or actor,
            notes="\n".join(filter(None, [lead.need, lead.note])),
        )
    lead.followups.update(customer=customer)
    # open reminders and tasks follow the lead into the customer's 360 view
    lead.reminders.filter(customer__isnull=True).update(customer=customer)
    lead.tasks.filter(customer__isnull=True).update(customer=customer)
    tag_ids = list(lead.tags.values_list("pk", flat=True))
    if tag_ids:
        add_tags(
            customer_ids=[customer.pk],
            tags=Tag.objects.filter(pk__in=tag_ids).select_related("group"),
            source=CustomerTag.Source.IMPORT,
        )
    if lead.last_followup_at and (
        customer.last_followup_at is None or customer.last_followup_at < lead.last_followup_at
    ):
        Customer.objects.filter(pk=customer.pk).update(last_followup_at=lead.last_followup_at)
    lead.customer = customer
    lead.status = Lead.Status.CONVERTED
    lead.converted_at = timezone.now()
    lead.save()
    opportunity = None
    if opportunity_name:
        opportunity = open_opportunity(
            actor=actor,
            customer=customer,
            name=opportunity_name,
            amount=opportunity_amount or 0,
            owner=lead.owner or actor,
            lead=lead,
        )
    return customer, opportunity


def open_leads_q():
    return Q(status__in=Lead.OPEN_STATUSES)
