"""公海: the public pool of leads and customers, protection, caps, cool-downs and recycling.

Membership: a pool belongs to the department whose ``PoolRule`` governs it; the unowned records of
that department and of every department below it that shares the rule sit in one pool, and every
rep under that department sees and may claim them (``pool_q``).

Protection: an owned record returns to the pool after N days without a follow-up or M days without
a deal. A deal is an order, a won opportunity or a signed contract (``customers.deals``); "no deal"
counts from the latest one (or from when the owner got the record, if later). A customer who
bought within the last M days is never recycled for lack of follow-ups, and customers who ever
bought stay with their owner altogether unless the rule's ``recycle_paying_customers`` is on.
Records with an open opportunity at or past the exempt stage stay.

Warnings: the owner is warned K days before the return date, once per record and return date
(``PoolWarning``, unique per record, owner and date); a record is recycled only when its owner was
warned at least K days before (unless K = 0), so a record found overdue is warned first and
returns K days later.

Caps and cool-down: a rep holds at most ``cap`` private prospects (open leads plus customers who
have not bought yet) and cannot re-claim, for X days, a record they let go of in any way: recycled,
released, or re-assigned away.
"""

import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django.utils.translation import gettext as _

from crm import permissions
from crm.models import DataScope, Department, User
from crm.notifications import notify
from customers import deals
from customers.models import Customer, LifecycleStage, OwnershipChange

from ..models import Lead, Opportunity, PoolMove, PoolRule, PoolWarning

RECYCLE_REASONS = (PoolMove.Reason.RECYCLED_NO_FOLLOWUP, PoolMove.Reason.RECYCLED_NO_DEAL)
#: every way a rep lets go of a record (the cool-down applies to each)
LET_GO_REASONS = RECYCLE_REASONS + (PoolMove.Reason.RELEASED, PoolMove.Reason.REASSIGNED)


class PoolError(ValidationError):
    """A claim the rules refuse; ``code`` is one of taken, cap, cooldown."""


def rules_by_department():
    """department id → the PoolRule that applies (its own, or the nearest one above)."""
    rules = {
        rule.department_id: rule for rule in PoolRule.objects.filter(is_active=True).select_related("exempt_stage")
    }
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


def let_go_recently(user, *, lead=None, customer=None, since):
    """Whether ``user`` let go of the record (recycled, released, re-assigned away) since ``since``."""
    if lead is not None:
        return PoolMove.objects.filter(lead=lead, from_owner=user, at__gte=since).exclude(to_owner=user).exists()
    return (
        PoolMove.objects.filter(customer=customer, from_owner=user, at__gte=since).exclude(to_owner=user).exists()
        or OwnershipChange.objects.filter(customer=customer, from_owner=user, changed_at__gte=since)
        .exclude(to_owner=user)
        .exists()
    )


def _check_claim(user, *, rule, lead=None, customer=None, now):
    if rule is None:
        return
    if private_count(user) >= rule.cap:
        raise PoolError(
            _("You already hold %(cap)d private records, the most allowed.") % {"cap": rule.cap}, code="cap"
        )
    since = now - datetime.timedelta(days=rule.reclaim_cooldown_days)
    if rule.reclaim_cooldown_days and let_go_recently(user, lead=lead, customer=customer, since=since):
        raise PoolError(
            _("You let go of this record recently; you may claim it again after %(days)d days.")
            % {"days": rule.reclaim_cooldown_days},
            code="cooldown",
        )


@transaction.atomic
def claim_from_pool(*, user, model, pk, now=None):
    """A rep takes a lead or a customer (``model``) from the pool. Two reps, one record: exactly
    one wins (conditional UPDATE on ``owner IS NULL``); the rep's own row is locked so that parallel
    claims by one rep cannot pass the cap. Raises ``PoolError`` (``taken``, ``cap``, ``cooldown``).
    A customer's ownership history records the claim."""
    now = now or timezone.now()
    is_lead = model is Lead
    taken = _("Someone else claimed this lead first.") if is_lead else _("Someone else claimed this customer first.")
    User.objects.select_for_update().filter(pk=user.pk).first()
    record = model.objects.filter(pk=pk).first()
    if record is None or record.owner_id is not None or (is_lead and not record.is_open):
        raise PoolError(taken, code="taken")
    subject = "lead" if is_lead else "customer"
    _check_claim(user, rule=rule_for(record.department_id), **{subject: record}, now=now)
    changes = {"assigned_at": now, "status": Lead.Status.ASSIGNED} if is_lead else {"owned_since": now}
    if not model.objects.filter(pk=pk, owner__isnull=True).update(
        owner=user, department=user.department_id or record.department_id, **changes
    ):
        raise PoolError(taken, code="taken")
    PoolMove.objects.create(**{f"{subject}_id": pk}, to_owner=user, reason=PoolMove.Reason.CLAIMED, by=user, at=now)
    if not is_lead:
        OwnershipChange.objects.create(
            customer_id=pk, to_owner=user, changed_by=user, reason=OwnershipChange.Reason.CLAIMED, changed_at=now
        )
    return model.objects.get(pk=pk)


def claim_lead(*, user, lead_id, now=None):
    return claim_from_pool(user=user, model=Lead, pk=lead_id, now=now)


def claim_customer(*, user, customer_id, now=None):
    return claim_from_pool(user=user, model=Customer, pk=customer_id, now=now)


@transaction.atomic
def release_to_pool(*, user, record, now=None):
    """The owner gives a lead or a customer back to the public pool of its department (the
    cool-down then keeps them from re-claiming it). Only the owner may, checked by the conditional
    UPDATE itself (``owner = user``), so a record claimed away meanwhile is not released; raises
    ``PoolError`` ``not_owner``. A customer's ownership history records the move."""
    now = now or timezone.now()
    is_lead = isinstance(record, Lead)
    if record.owner_id != user.pk or not type(record).objects.filter(pk=record.pk, owner=user).update(owner=None):
        raise PoolError(
            _("Only the owner can release this lead.") if is_lead else _("Only the owner can release this customer."),
            code="not_owner",
        )
    PoolMove.objects.create(
        **{"lead" if is_lead else "customer": record}, from_owner=user, reason=PoolMove.Reason.RELEASED, by=user, at=now
    )
    if not is_lead:
        OwnershipChange.objects.create(
            customer=record, from_owner=user, changed_by=user, reason=OwnershipChange.Reason.POOL, changed_at=now
        )


def release_lead(*, user, lead, now=None):
    return release_to_pool(user=user, record=lead, now=now)


def release_customer(*, user, customer, now=None):
    return release_to_pool(user=user, record=customer, now=now)


# --- recycling ------------------------------------------------------------------------------


def _exempt_customer_ids(rule):
    return Opportunity.objects.filter(closed_at__isnull=True, stage__position__gte=rule.exempt_stage.position).values(
        "customer_id"
    )


def _days(n):
    return datetime.timedelta(days=n)


def _lead_candidates(department_ids, rule, horizon):
    """Owned open leads whose return date falls before ``horizon``: (pk, owner, name, due, reason)."""
    base = Lead.objects.filter(department_id__in=department_ids, owner__isnull=False, status__in=Lead.OPEN_STATUSES)
    if rule.exempt_stage is not None:
        base = base.exclude(
            pk__in=Opportunity.objects.filter(
                closed_at__isnull=True,
                stage__position__gte=rule.exempt_stage.position,
                lead__isnull=False,
            ).values("lead_id")
        )
    since = Coalesce("assigned_at", "created_at")
    base = base.annotate(touched=Greatest(Coalesce("last_followup_at", since), since), since=since)
    rows = base.filter(
        Q(touched__lt=horizon - _days(rule.days_without_followup))
        | Q(since__lt=horizon - _days(rule.days_without_deal))
    )
    result = []
    for pk, owner_id, name, touched, since_at in rows.values_list("pk", "owner_id", "name", "touched", "since"):
        result.append(_due("lead", pk, owner_id, name, rule, touched=touched, dealt=since_at, latest_deal=None))
    return result


def _customer_candidates(department_ids, rule, horizon):
    """Owned customers whose return date falls before ``horizon``: (kind, pk, owner, name, due, reason)."""
    base = Customer.objects.filter(department_id__in=department_ids, owner__isnull=False)
    if rule.exempt_stage is not None:
        base = base.exclude(pk__in=_exempt_customer_ids(rule))
    since = Coalesce("owned_since", "created_at")
    base = base.annotate(
        touched=Greatest(Coalesce("last_followup_at", since), since), since=since, latest_deal=deals.latest_deal_at()
    )
    if not rule.recycle_paying_customers:
        base = base.filter(latest_deal__isnull=True)
    no_deal_since = horizon - _days(rule.days_without_deal)
    rows = base.filter(
        Q(touched__lt=horizon - _days(rule.days_without_followup))
        & (Q(latest_deal__isnull=True) | Q(latest_deal__lt=no_deal_since))
        | Q(since__lt=no_deal_since) & (Q(latest_deal__isnull=True) | Q(latest_deal__lt=no_deal_since))
    )
    result = []
    for pk, owner_id, name, touched, since_at, latest in rows.values_list(
        "pk", "owner_id", "name", "touched", "since", "latest_deal"
    ):
        dealt = max(since_at, latest) if latest else since_at
        result.append(_due("customer", pk, owner_id, name, rule, touched=touched, dealt=dealt, latest_deal=latest))
    return result


def _due(kind, pk, owner_id, name, rule, *, touched, dealt, latest_deal):
    """When the record returns and why: N days after the last touch (but not while a deal is
    fresher than M days), or M days after the last deal (or the owner's start)."""
    followup_due = touched + _days(rule.days_without_followup)
    if latest_deal is not None:
        followup_due = max(followup_due, latest_deal + _days(rule.days_without_deal))
    deal_due = dealt + _days(rule.days_without_deal)
    if followup_due < deal_due:
        return kind, pk, owner_id, name, followup_due, PoolMove.Reason.RECYCLED_NO_FOLLOWUP
    return kind, pk, owner_id, name, deal_due, PoolMove.Reason.RECYCLED_NO_DEAL


def _group_departments():
    groups = {}
    for department_id, rule in rules_by_department().items():
        groups.setdefault(rule.pk, (rule, []))[1].append(department_id)
    return groups.values()


def due_records(rule, department_ids, *, horizon):
    """Every owned record governed by ``rule`` whose return date is before ``horizon``."""
    return _lead_candidates(department_ids, rule, horizon) + _customer_candidates(department_ids, rule, horizon)


def recycle(*, now=None, batch_size=2000):
    """The beat job: warn owners K days before a record's return date (once per record and date),
    and return to the pool every record whose date has come and whose owner was warned at least K
    days ago, with a PoolMove saying why. Safe to run twice and at any hour."""
    now = now or timezone.now()
    moved = {"leads": 0, "customers": 0, "warned": 0}
    for rule, department_ids in _group_departments():
        candidates = due_records(rule, department_ids, horizon=now + _days(rule.warn_days))
        warned = _warnings_of(candidates)
        to_warn, to_recycle = [], []
        for record in candidates:
            kind, pk, owner_id, _name, due, _reason = record
            if rule.warn_days == 0:
                if due <= now:
                    to_recycle.append(record)
                continue
            sent = [at for at in warned.get((kind, pk, owner_id), ()) if at >= due - _days(rule.warn_days)]
            if not sent:
                to_warn.append(record)
            elif due <= now and min(sent) <= now - _days(rule.warn_days):
                to_recycle.append(record)
        moved["warned"] += _warn(rule, to_warn, now)
        for start in range(0, len(to_recycle), batch_size):
            leads, customers = _return_to_pool(to_recycle[start : start + batch_size], now)
            moved["leads"] += leads
            moved["customers"] += customers
    return moved


def _warnings_of(candidates):
    """(kind, pk, owner) → the times warnings were sent for it."""
    result = {}
    for kind in ("lead", "customer"):
        ids = [pk for k, pk, *_rest in candidates if k == kind]
        for start in range(0, len(ids), 5000):
            for pk, owner_id, sent_at in PoolWarning.objects.filter(
                **{f"{kind}_id__in": ids[start : start + 5000]}
            ).values_list(f"{kind}_id", "owner_id", "sent_at"):
                result.setdefault((kind, pk, owner_id), []).append(sent_at)
    return result


def _return_to_pool(records, now):
    """Recycle ``records`` (still owned by the owner they were chosen for) in one transaction."""
    counts = []
    with transaction.atomic():
        for kind, model in (("lead", Lead), ("customer", Customer)):
            planned = {pk: (owner_id, reason) for k, pk, owner_id, _n, _d, reason in records if k == kind}
            if not planned:
                counts.append(0)
                continue
            locked = model.objects.select_for_update().filter(pk__in=list(planned)).values_list("pk", "owner_id")
            chosen = [(pk, owner_id) for pk, owner_id in locked if owner_id is not None and planned[pk][0] == owner_id]
            model.objects.filter(pk__in=[pk for pk, _o in chosen]).update(owner=None)
            PoolMove.objects.bulk_create(
                [
                    PoolMove(**{f"{kind}_id": pk}, from_owner_id=owner_id, at=now, reason=planned[pk][1])
                    for pk, owner_id in chosen
                ]
            )
            if kind == "customer":
                OwnershipChange.objects.bulk_create(
                    [
                        OwnershipChange(
                            customer_id=pk, from_owner_id=owner_id, reason=OwnershipChange.Reason.POOL, changed_at=now
                        )
                        for pk, owner_id in chosen
                    ]
                )
            counts.append(len(chosen))
    return counts


def _warn(rule, records, now):
    """Tell owners which records return to the pool and when (one warning per record, owner and
    return date; the date is the record's return date, or K days from now if that is later)."""
    per_owner = {}
    for kind, pk, owner_id, name, due, _reason in records:
        deadline = timezone.localdate(max(due, now + _days(rule.warn_days)))
        try:
            with transaction.atomic():
                _warning, created = PoolWarning.objects.get_or_create(
                    owner_id=owner_id, deadline=deadline, **{kind + "_id": pk}, defaults={"sent_at": now}
                )
                if not created:  # the same date again after the record was reset: warn afresh
                    PoolWarning.objects.filter(pk=_warning.pk).update(sent_at=now)
        except IntegrityError:  # a parallel run wrote it first
            continue
        per_owner.setdefault(owner_id, []).append((name, deadline))
    sent = 0
    for owner_id, items in per_owner.items():
        names = [name for name, _d in items]
        first = min(deadline for _n, deadline in items)
        with transaction.atomic():
            notify(
                recipient=User.objects.get(pk=owner_id),
                kind="pool_warning",
                url="/sales/leads/?mine=1",
                title=_("%(count)d of your records return to the public pool within %(days)d days")
                % {"count": len(items), "days": rule.warn_days},
                body=_("From %(date)s: ") % {"date": first.strftime("%Y-%m-%d")}
                + "、".join(names[:20])
                + ("…" if len(names) > 20 else ""),
            )
        sent += len(items)
    return sent


def last_moves(lead=None, customer=None):
    qs = PoolMove.objects.select_related("from_owner", "to_owner", "by")
    return qs.filter(lead=lead) if lead is not None else qs.filter(customer=customer)


def pool_department_ids(user):
    """The departments whose unowned records form the pool ``user`` sees: every department that
    shares the pool rule governing the user's department (the pool of the department that owns
    the rule, from the team up to it and down to every department below that shares it); with no
    rule, the user's department and those below it without a rule of their own; plus, for the
    department scopes, the departments in the user's data scope."""
    ids = set()
    if user.department_id:
        rules = rules_by_department()
        rule = rules.get(user.department_id)
        if rule is not None:
            ids = {department_id for department_id, other in rules.items() if other.pk == rule.pk}
        else:
            below = Department.objects.filter(path__startswith=user.department.path).values_list("id", flat=True)
            ids = {department_id for department_id in below if department_id not in rules}
    if permissions.effective_scope(user) in (DataScope.DEPARTMENT, DataScope.DEPARTMENT_TREE):
        ids |= permissions.scope_department_ids(user)
    return ids


def pool_q(user):
    """The pool a user sees: the unowned records of ``pool_department_ids`` (every unowned record
    in the "everything" scope)."""
    if permissions.effective_scope(user) == DataScope.ALL:
        return Q(owner__isnull=True)
    return Q(owner__isnull=True, department_id__in=sorted(pool_department_ids(user)))
