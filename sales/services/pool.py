"""公海: the public pool of leads and customers, protection, caps, cool-downs and recycling.

A record with no owner sits in the pool of its department. Each department's ``PoolRule`` (or the
nearest one above it) says when an owned record returns to the pool: N days without a follow-up,
or M days without a deal; records with an open opportunity at or past the exempt stage stay. The
owner is warned K days before. A rep holds at most ``cap`` private prospects (open leads plus
customers who have not bought yet) and cannot re-claim a record the pool took from them for X days.
"""
import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import Department, User
from crm.notifications import notify
from customers.models import Customer, LifecycleStage, OwnershipChange

from ..models import Lead, Opportunity, PoolMove, PoolRule, PoolWarning

RECYCLE_REASONS = (PoolMove.Reason.RECYCLED_NO_FOLLOWUP, PoolMove.Reason.RECYCLED_NO_DEAL)


class PoolError(ValidationError):
    """A claim the rules refuse; ``code`` is one of taken, cap, cooldown."""


def rules_by_department():
    """department id → the PoolRule that applies (its own, or the nearest one above)."""
    rules = {rule.department_id: rule for rule in PoolRule.objects.filter(is_active=True).select_related("exempt_stage")}
    result = {}
    for department in Department.objects.only("id", "path"):
        ids = [int(part) for part in department.path.strip("/").split("/") if part]
        for ancestor in reversed(ids):
            if ancestor in rules:
                result[department.id] = rules[ancestor]
                break
    return result


def rule_for(department_id):
    return rules_by_department().get(department_id)


def private_count(user):
    """Open leads plus not-yet-buying customers the user owns (what the cap limits)."""
    leads = Lead.objects.filter(owner=user, status__in=Lead.OPEN_STATUSES).count()
    customers = Customer.objects.filter(owner=user, lifecycle_stage=LifecycleStage.POTENTIAL).count()
    return leads + customers


def _check_claim(user, *, rule, lead=None, customer=None, now):
    if rule is None:
        return
    if private_count(user) >= rule.cap:
        raise PoolError(_("You already hold %(cap)d private records, the most allowed.") % {"cap": rule.cap},
                        code="cap")
    since = now - datetime.timedelta(days=rule.reclaim_cooldown_days)
    recent = PoolMove.objects.filter(from_owner=user, reason__in=RECYCLE_REASONS, at__gte=since)
    recent = recent.filter(lead=lead) if lead is not None else recent.filter(customer=customer)
    if rule.reclaim_cooldown_days and recent.exists():
        raise PoolError(_("The pool took this record from you recently; you may claim it again after "
                          "%(days)d days.") % {"days": rule.reclaim_cooldown_days}, code="cooldown")


@transaction.atomic
def claim_lead(*, user, lead_id, now=None):
    """A rep takes a lead from the pool. Two reps, one lead: exactly one wins (conditional UPDATE);
    the rep's own row is locked so that parallel claims by one rep cannot pass the cap."""
    now = now or timezone.now()
    User.objects.select_for_update().filter(pk=user.pk).first()
    lead = Lead.objects.filter(pk=lead_id).first()
    if lead is None or lead.owner_id is not None or not lead.is_open:
        raise PoolError(_("Someone else claimed this lead first."), code="taken")
    _check_claim(user, rule=rule_for(lead.department_id), lead=lead, now=now)
    won = Lead.objects.filter(pk=lead_id, owner__isnull=True).update(
        owner=user, department=user.department_id or lead.department_id, assigned_at=now,
        status=Lead.Status.ASSIGNED)
    if not won:
        raise PoolError(_("Someone else claimed this lead first."), code="taken")
    PoolMove.objects.create(lead_id=lead_id, to_owner=user, reason=PoolMove.Reason.CLAIMED, by=user, at=now)
    return Lead.objects.get(pk=lead_id)


@transaction.atomic
def claim_customer(*, user, customer_id, now=None):
    now = now or timezone.now()
    User.objects.select_for_update().filter(pk=user.pk).first()
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None or customer.owner_id is not None:
        raise PoolError(_("Someone else claimed this customer first."), code="taken")
    _check_claim(user, rule=rule_for(customer.department_id), customer=customer, now=now)
    won = Customer.objects.filter(pk=customer_id, owner__isnull=True).update(
        owner=user, department=user.department_id or customer.department_id, owned_since=now)
    if not won:
        raise PoolError(_("Someone else claimed this customer first."), code="taken")
    PoolMove.objects.create(customer_id=customer_id, to_owner=user, reason=PoolMove.Reason.CLAIMED, by=user, at=now)
    OwnershipChange.objects.create(customer_id=customer_id, to_owner=user, changed_by=user,
                                   reason=OwnershipChange.Reason.CLAIMED, changed_at=now)
    return Customer.objects.get(pk=customer_id)


@transaction.atomic
def release_lead(*, user, lead):
    """The owner gives a lead back to the pool."""
    if lead.owner_id != user.pk:
        raise PoolError(_("Only the owner can release this lead."), code="not_owner")
    Lead.objects.filter(pk=lead.pk).update(owner=None)
    PoolMove.objects.create(lead=lead, from_owner=user, reason=PoolMove.Reason.RELEASED, by=user)


def _exempt_customer_ids(rule):
    if rule.exempt_stage is None:
        return Opportunity.objects.none().values("customer_id")
    return (Opportunity.objects.filter(closed_at__isnull=True, stage__position__gte=rule.exempt_stage.position)
            .values("customer_id"))


def _deadlines(rule, now):
    return (now - datetime.timedelta(days=rule.days_without_followup),
            now - datetime.timedelta(days=rule.days_without_deal))


def _lead_candidates(department_ids, rule, now):
    no_followup, no_deal = _deadlines(rule, now)
    base = Lead.objects.filter(department_id__in=department_ids, owner__isnull=False, status__in=Lead.OPEN_STATUSES)
    if rule.exempt_stage is not None:
        base = base.exclude(pk__in=Opportunity.objects.filter(
            closed_at__isnull=True, stage__position__gte=rule.exempt_stage.position, lead__isnull=False,
        ).values("lead_id"))
    touched = Greatest(Coalesce("last_followup_at", "assigned_at", "created_at"),
                       Coalesce("assigned_at", "created_at"))
    base = base.annotate(touched=touched, since=Coalesce("assigned_at", "created_at"))
    return (base.filter(touched__lt=no_followup), base.filter(since__lt=no_deal).exclude(touched__lt=no_followup))


def _customer_candidates(department_ids, rule, now):
    no_followup, no_deal = _deadlines(rule, now)
    base = Customer.objects.filter(department_id__in=department_ids, owner__isnull=False).exclude(
        pk__in=_exempt_customer_ids(rule))
    touched = Greatest(Coalesce("last_followup_at", "owned_since", "created_at"),
                       Coalesce("owned_since", "created_at"))
    dealt = Greatest(Coalesce("last_order_at", "owned_since", "created_at"), Coalesce("owned_since", "created_at"))
    base = base.annotate(touched=touched, dealt=dealt)
    return base.filter(touched__lt=no_followup), base.filter(dealt__lt=no_deal).exclude(touched__lt=no_followup)


def _group_departments():
    groups = {}
    for department_id, rule in rules_by_department().items():
        groups.setdefault(rule.pk, (rule, []))[1].append(department_id)
    return groups.values()


def recycle(*, now=None, batch_size=2000):
    """The beat job: return every record whose protection ran out to its department's pool, with
    a PoolMove saying why; warn owners K days ahead (once per record and deadline)."""
    now = now or timezone.now()
    moved = {"leads": 0, "customers": 0, "warned": 0}
    for rule, department_ids in _group_departments():
        for reason, queryset in zip(RECYCLE_REASONS, _lead_candidates(department_ids, rule, now)):
            ids = list(queryset.values_list("pk", "owner_id"))
            for start in range(0, len(ids), batch_size):
                chunk = ids[start:start + batch_size]
                with transaction.atomic():
                    Lead.objects.filter(pk__in=[pk for pk, _ in chunk], owner__isnull=False).update(owner=None)
                    PoolMove.objects.bulk_create([PoolMove(lead_id=pk, from_owner_id=owner, reason=reason, at=now)
                                                  for pk, owner in chunk])
                moved["leads"] += len(chunk)
        for reason, queryset in zip(RECYCLE_REASONS, _customer_candidates(department_ids, rule, now)):
            ids = list(queryset.values_list("pk", "owner_id"))
            for start in range(0, len(ids), batch_size):
                chunk = ids[start:start + batch_size]
                with transaction.atomic():
                    Customer.objects.filter(pk__in=[pk for pk, _ in chunk], owner__isnull=False).update(owner=None)
                    PoolMove.objects.bulk_create([PoolMove(customer_id=pk, from_owner_id=owner, reason=reason, at=now)
                                                  for pk, owner in chunk])
                    OwnershipChange.objects.bulk_create([
                        OwnershipChange(customer_id=pk, from_owner_id=owner, reason=OwnershipChange.Reason.POOL,
                                        changed_at=now) for pk, owner in chunk])
                moved["customers"] += len(chunk)
        if rule.warn_days:
            moved["warned"] += _warn(rule, department_ids, now)
    return moved


def _warn(rule, department_ids, now):
    """Tell owners about records that will return to the pool within K days (once each)."""
    ahead = now + datetime.timedelta(days=rule.warn_days)
    sent = 0
    per_owner = {}
    for kind, candidates in (("lead", _lead_candidates(department_ids, rule, ahead)),
                             ("customer", _customer_candidates(department_ids, rule, ahead))):
        for queryset in candidates:
            for pk, owner_id, name in queryset.values_list("pk", "owner_id", "name")[:5000]:
                per_owner.setdefault(owner_id, []).append((kind, pk, name))
    deadline = ahead.date()
    for owner_id, records in per_owner.items():
        fresh = []
        for kind, pk, name in records:
            with transaction.atomic():
                _warning, created = PoolWarning.objects.get_or_create(
                    owner_id=owner_id, deadline=deadline, **{kind + "_id": pk})
            if created:
                fresh.append(name)
        if fresh:
            with transaction.atomic():
                notify(recipient=User.objects.get(pk=owner_id), kind="pool_warning", url="/sales/leads/?mine=1",
                       title=_("%(count)d of your records return to the public pool within %(days)d days")
                       % {"count": len(fresh), "days": rule.warn_days},
                       body="、".join(fresh[:20]) + ("…" if len(fresh) > 20 else ""))
            sent += len(fresh)
    return sent


def last_moves(lead=None, customer=None):
    qs = PoolMove.objects.select_related("from_owner", "to_owner", "by")
    return qs.filter(lead=lead) if lead is not None else qs.filter(customer=customer)


def pool_q(user):
    """The pool a user sees: unowned records of their department and the ones below it (or of
    every department in a wider data scope)."""
    from crm import permissions
    from crm.models import DataScope

    scope = permissions.effective_scope(user)
    if scope == DataScope.ALL:
        return Q(owner__isnull=True)
    if scope == DataScope.SELF:
        ids = set(Department.objects.filter(path__startswith=user.department.path).values_list("id", flat=True)) \
            if user.department_id else set()
    else:
        ids = permissions.scope_department_ids(user)
    return Q(owner__isnull=True, department_id__in=sorted(ids))
