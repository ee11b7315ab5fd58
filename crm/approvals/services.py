"""Writes of the approval engine: ask, decide, withdraw. See ``crm.approvals`` for the rules."""

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import ApprovalAssignee, ApprovalRelation, ApprovalRequest, ApprovalRule, ApprovalStep, User
from crm.notifications import notify

from . import kinds, routing


def _audit(obj, actor, changes):
    """An audit-log entry for a change written by a conditional UPDATE (no save signal)."""
    from auditlog.models import LogEntry

    LogEntry.objects.log_create(
        obj,
        force_log=True,
        action=LogEntry.Action.UPDATE,
        actor=actor,
        changes={name: [str(before), str(after)] for name, (before, after) in changes.items()},
    )


class NotYourDecision(PermissionDenied):
    """The user is not asked at the waiting step (or is the requester)."""


def chain_for(kind_code: str) -> list[ApprovalRule]:
    """The configured steps of a kind; the kind's defaults are stored the first time."""
    rules = list(ApprovalRule.objects.filter(kind=kind_code).order_by("position", "id"))
    if rules:
        return rules
    kind = kinds.get(kind_code)
    for position, (relation, role, min_amount) in enumerate(kind.default_steps, start=1):
        rules.append(
            ApprovalRule(kind=kind_code, position=position, relation=relation, role=role or "", min_amount=min_amount)
        )
    return ApprovalRule.objects.bulk_create(rules)


def _url(request):
    return reverse("approvals:detail", args=[request.pk])


def _subject(request):
    model = kinds.get(request.kind).model_class
    return model._default_manager.filter(pk=request.object_id).first()


@transaction.atomic
def request_approval(*, kind: str, obj, requester: User, key: str = "") -> ApprovalRequest:
    """Ask for approval of ``obj``: the steps of the kind's chain that apply (by amount), each
    routed (``routing.resolve``), the first waiting step's approvers notified. Raises
    ``ValidationError`` (code ``approval_waiting``) when one is already waiting for the same
    object and key."""
    spec = kinds.get(kind)
    amount = spec.amount(obj)
    department = spec.department(obj)
    request = ApprovalRequest(
        kind=kind,
        content_type=ContentType.objects.get_for_model(obj),
        object_id=obj.pk,
        key=key,
        title=str(spec.describe(obj, key))[:300],
        amount=amount,
        department=department,
        requested_by=requester,
    )
    try:
        with transaction.atomic():
            request.save()
    except IntegrityError:
        raise ValidationError(_("An approval is already waiting."), code="approval_waiting") from None
    position = 0
    for rule in chain_for(kind):
        if rule.min_amount is not None and (amount is None or amount <= rule.min_amount):
            continue
        record_role = spec.record_role(obj, key) if rule.relation == ApprovalRelation.RECORD_ROLE else ""
        approvers = routing.resolve(
            rule.relation, rule.role, requester=requester, department=department, record_role=record_role
        )
        if approvers is None:
            continue
        if not approvers:
            raise ValidationError(
                _("Nobody can approve this request: ask an administrator to set up the approval chain."),
                code="no_approver",
            )
        position += 1
        step = ApprovalStep.objects.create(
            request=request,
            position=position,
            relation=rule.relation,
            role=record_role or rule.role,
            requester=requester,
        )
        ApprovalAssignee.objects.bulk_create(
            [ApprovalAssignee(step=step, approver=user, requester=requester) for user in approvers]
        )
    if position == 0:
        raise ValidationError(
            _("Nobody can approve this request: ask an administrator to set up the approval chain."), code="no_approver"
        )
    _advance(request, spec, obj, actor=None)
    return request


def _advance(request, spec, obj, *, actor, comment=""):
    """Open the next step (a step whose approvers include someone who approved an earlier step
    passes with that approval), or finish the request. Runs under the request's lock."""
    steps = list(request.steps.prefetch_related("assignees").order_by("position"))
    approved_by = [step.decided_by_id for step in steps if step.status == ApprovalStep.Status.APPROVED]
    now = timezone.now()
    for step in steps:
        if step.status != ApprovalStep.Status.WAITING:
            continue
        asked = [a.approver_id for a in step.assignees.all()]
        earlier = next((pk for pk in approved_by if pk in asked), None)
        if earlier is not None:
            step.status, step.decided_by_id, step.decided_at = ApprovalStep.Status.APPROVED, earlier, now
            step.comment = _("Approved at an earlier step.")
            step.save()
            continue
        step.status = ApprovalStep.Status.PENDING
        step.save(update_fields=["status"])
        ApprovalAssignee.objects.filter(step=step).update(is_open=True)
        request.position = step.position
        request.save(update_fields=["position"])
        for assignee in step.assignees.select_related("approver", "approver__department"):
            notify(
                recipient=assignee.approver,
                kind="approval",
                url=_url(request),
                title=_("Approval needed: %(what)s") % {"what": request.title},
                body=_("Asked by %(who)s.") % {"who": request.requested_by},
            )
        return step
    last = steps[-1] if steps else None
    request.status, request.position = ApprovalRequest.Status.APPROVED, 0
    request.decided_by_id = last.decided_by_id if last else None
    request.decided_at, request.comment = now, comment
    request.save()
    if obj is not None:
        spec.on_approved(request, obj, actor or request.decided_by)
    notify(
        recipient=request.requested_by,
        kind="approval",
        url=_url(request),
        title=_("Approved: %(what)s") % {"what": request.title},
        body=request.comment,
    )
    return None


@transaction.atomic
def decide(*, step: ApprovalStep, actor: User, approve: bool, comment: str = "") -> ApprovalRequest:
    """Approve or reject the waiting step. Only a person asked at that step decides, never the
    requester (``NotYourDecision``); a rejection needs a comment (``ValidationError`` on
    ``comment``); a step decided meanwhile (another approver was faster) raises ``ValidationError``
    with code ``decided``. A rejection ends the request; the last approval runs the kind's
    ``on_approved``."""
    comment = (comment or "").strip()
    request = ApprovalRequest.objects.select_for_update().get(pk=step.request_id)
    if actor.pk == request.requested_by_id:
        raise NotYourDecision(_("Nobody decides their own request."))
    if request.status != ApprovalRequest.Status.PENDING or request.position != step.position:
        raise ValidationError(_("This request was decided already."), code="decided")
    if not ApprovalAssignee.objects.filter(step=step, approver=actor).exists():
        raise NotYourDecision(_("This decision is not yours."))
    if not approve and not comment:
        raise ValidationError({"comment": _("Say why you reject it.")}, code="comment_required")
    now = timezone.now()
    status = ApprovalStep.Status.APPROVED if approve else ApprovalStep.Status.REJECTED
    taken = ApprovalStep.objects.filter(pk=step.pk, status=ApprovalStep.Status.PENDING).update(
        status=status, decided_by=actor, decided_at=now, comment=comment
    )
    if not taken:
        raise ValidationError(_("This request was decided already."), code="decided")
    ApprovalAssignee.objects.filter(step_id=step.pk).update(is_open=False)
    _audit(
        step,
        actor,
        {"status": (ApprovalStep.Status.PENDING, status), "decided_by": ("", actor), "comment": ("", comment)},
    )
    spec = kinds.get(request.kind)
    obj = _subject(request)
    if approve:
        following = _advance(request, spec, obj, actor=actor, comment=comment)
        if following is not None:
            names = "、".join(str(a.approver) for a in following.assignees.select_related("approver"))
            notify(
                recipient=request.requested_by,
                kind="approval",
                url=_url(request),
                title=_("%(who)s approved a step of %(what)s; next: %(next)s")
                % {"who": actor, "what": request.title, "next": names},
                body=comment,
            )
        return request
    request.status, request.position = ApprovalRequest.Status.REJECTED, 0
    request.decided_by, request.decided_at, request.comment = actor, now, comment
    request.save()
    ApprovalStep.objects.filter(request=request, status=ApprovalStep.Status.WAITING).update(
        status=ApprovalStep.Status.SKIPPED
    )
    if obj is not None:
        spec.on_rejected(request, obj, actor, comment)
    notify(
        recipient=request.requested_by,
        kind="approval",
        url=_url(request),
        title=_("Rejected: %(what)s") % {"what": request.title},
        body=comment,
    )
    return request


def decide_current(*, request: ApprovalRequest, actor: User, approve: bool, comment: str = "") -> ApprovalRequest:
    """``decide`` on the request's waiting step (read afresh: an earlier step may have passed)."""
    request = ApprovalRequest.objects.get(pk=request.pk)
    step = request.steps.filter(position=request.position).first()
    if step is None or request.status != ApprovalRequest.Status.PENDING:
        raise ValidationError(_("This request was decided already."), code="decided")
    return decide(step=step, actor=actor, approve=approve, comment=comment)


@transaction.atomic
def withdraw(*, kind: str, obj, key: str | None = None) -> int:
    """Close the waiting requests of ``obj`` (the record was cancelled or changed): nobody is asked
    any more. Returns how many."""
    requests = ApprovalRequest.objects.select_for_update().filter(
        kind=kind,
        content_type=ContentType.objects.get_for_model(obj),
        object_id=obj.pk,
        status=ApprovalRequest.Status.PENDING,
    )
    if key is not None:
        requests = requests.filter(key=key)
    ids = list(requests.values_list("pk", flat=True))
    if ids:
        ApprovalAssignee.objects.filter(step__request_id__in=ids).update(is_open=False)
        ApprovalStep.objects.filter(
            request_id__in=ids, status__in=[ApprovalStep.Status.WAITING, ApprovalStep.Status.PENDING]
        ).update(status=ApprovalStep.Status.SKIPPED)
        ApprovalRequest.objects.filter(pk__in=ids).update(
            status=ApprovalRequest.Status.WITHDRAWN, position=0, decided_at=timezone.now()
        )
        for request in ApprovalRequest.objects.filter(pk__in=ids):
            _audit(request, None, {"status": (ApprovalRequest.Status.PENDING, ApprovalRequest.Status.WITHDRAWN)})
    return len(ids)


def adopt_waiting(kind: str | None = None) -> int:
    """Open a request for every record a kind says is waiting for approval without one (records
    submitted before the engine, demo data). Returns how many."""
    opened = 0
    for spec in kinds.all_kinds():
        if (kind and spec.code != kind) or spec.waiting is None:
            continue
        model = spec.model_class
        asked = ApprovalRequest.objects.filter(
            kind=spec.code, status=ApprovalRequest.Status.PENDING, content_type=ContentType.objects.get_for_model(model)
        )
        for obj in spec.waiting().exclude(pk__in=asked.values("object_id")):
            requester = spec.requester(obj)
            if requester is None:
                continue
            try:
                with transaction.atomic():
                    request_approval(kind=spec.code, obj=obj, requester=requester)
            except ValidationError:  # nobody to ask: left for an admin to resubmit
                continue
            opened += 1
    return opened
